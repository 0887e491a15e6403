/**
 * VPC Flow Logs as evidence of stale clients (docs/architecture.md, "Flow evidence"): who still
 * sends to an address the ELB gave back, past its TTL? Parses the documented record formats
 * (the version 2 default and custom formats with the version 3-5 fields), `-` for an absent
 * value, NODATA and SKIPDATA records; groups the records that hit a retired address on the
 * target's port by client. Pure: lines in, clients out.
 */
import { BlockList, isIP } from 'node:net';

/** Addresses and CIDR blocks as a BlockList (the config validated them). */
function blockListOf(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const e of entries) {
    const [ip, bits] = e.split('/') as [string, string | undefined];
    const type = isIP(ip) === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) list.addAddress(ip, type);
    else list.addSubnet(ip, Number(bits), type);
  }
  return list;
}

/** The default format (version 2), as AWS documents it. */
export const DEFAULT_FLOW_FORMAT =
  // biome-ignore lint/suspicious/noTemplateCurlyInString: AWS's flow log format syntax (${field}), not a template
  '${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status}';

/** Every field a flow log record can carry (versions 2 to 5). */
export const FLOW_FIELDS = [
  'version',
  'account-id',
  'interface-id',
  'srcaddr',
  'dstaddr',
  'srcport',
  'dstport',
  'protocol',
  'packets',
  'bytes',
  'start',
  'end',
  'action',
  'log-status',
  'vpc-id',
  'subnet-id',
  'instance-id',
  'tcp-flags',
  'type',
  'pkt-srcaddr',
  'pkt-dstaddr',
  'region',
  'az-id',
  'sublocation-type',
  'sublocation-id',
  'pkt-src-aws-service',
  'pkt-dst-aws-service',
  'flow-direction',
  'traffic-path',
  'ecs-cluster-arn',
  'ecs-cluster-name',
  'ecs-container-instance-arn',
  'ecs-container-instance-id',
  'ecs-container-id',
  'ecs-second-container-id',
  'ecs-service-name',
  'ecs-task-definition-arn',
  'ecs-task-arn',
  'ecs-task-id',
  'reject-reason',
] as const;
export type FlowField = (typeof FLOW_FIELDS)[number];

/** The format names a field it cannot have, or lacks what matching needs. */
export class FlowFormatError extends Error {
  override readonly name = 'FlowFormatError';
}

/**
 * The fields of a format string, in order: `${version} ${srcaddr} ...` as the flow log's
 * LogFormat has it, or the bare names the documentation prints. Any known fields.
 */
export function flowFields(format: string): FlowField[] {
  const names = format
    .trim()
    .split(/\s+/)
    .map((t) => t.replace(/^\$\{(.*)\}$/, '$1'));
  const known = new Set<string>(FLOW_FIELDS);
  const unknown = names.filter((n) => !known.has(n));
  if (unknown.length > 0) throw new FlowFormatError(`unknown field(s) ${unknown.map((n) => `"${n}"`).join(', ')}; known: ${FLOW_FIELDS.join(', ')}`);
  return names as FlowField[];
}

/** The fields of a format ipdrift can match stale clients with (flowFields, plus what matching needs). */
export function parseFlowFormat(format: string): FlowField[] {
  const names = flowFields(format);
  const has = (f: FlowField) => names.includes(f);
  const missing = [
    ...(has('dstaddr') || has('pkt-dstaddr') ? [] : ['dstaddr or pkt-dstaddr']),
    ...(has('dstport') ? [] : ['dstport']),
    ...(has('start') ? [] : ['start']),
    ...(has('srcaddr') || has('pkt-srcaddr') || has('interface-id') || has('instance-id')
      ? []
      : ['a client field (srcaddr, pkt-srcaddr, interface-id or instance-id)']),
  ];
  if (missing.length > 0) throw new FlowFormatError(`the format lacks ${missing.join(', ')}: ipdrift cannot match records without them`);
  return names as FlowField[];
}

/** One record, with what matching reads; absent (`-`) values are undefined. */
export interface FlowRecord {
  srcaddr?: string;
  dstaddr?: string;
  pktSrcaddr?: string;
  pktDstaddr?: string;
  dstport?: number;
  packets?: number;
  /** Epoch seconds. */
  start?: number;
  end?: number;
  action?: string;
  instanceId?: string;
  interfaceId?: string;
  flowDirection?: string;
}

/** What a line turned out to be. */
export type FlowLine = { record: FlowRecord } | { skipped: 'nodata' | 'skipdata' | 'blank' } | { malformed: string };

const num = (v: string | undefined) => (v === undefined || !/^\d+$/.test(v) ? undefined : Number(v));

/** Parses one record line in `fields` order. A trailing ` #...` (the documentation's comments) is ignored. */
export function parseFlowLine(line: string, fields: readonly FlowField[]): FlowLine {
  const text = line.replace(/\s+#.*$/, '').trim();
  if (text === '') return { skipped: 'blank' };
  const values = text.split(/\s+/);
  if (values.length !== fields.length) return { malformed: `${values.length} values for ${fields.length} fields` };
  const get = (f: FlowField) => {
    const i = fields.indexOf(f);
    const v = i === -1 ? undefined : values[i];
    return v === '-' ? undefined : v;
  };
  const status = get('log-status');
  if (status === 'NODATA') return { skipped: 'nodata' };
  if (status === 'SKIPDATA') return { skipped: 'skipdata' };
  const r: FlowRecord = {};
  const set = <K extends keyof FlowRecord>(k: K, v: FlowRecord[K] | undefined) => {
    if (v !== undefined) r[k] = v;
  };
  const addr = (f: FlowField) => {
    const v = get(f);
    return v !== undefined && isIP(v) !== 0 ? v : undefined;
  };
  set('srcaddr', addr('srcaddr'));
  set('dstaddr', addr('dstaddr'));
  set('pktSrcaddr', addr('pkt-srcaddr'));
  set('pktDstaddr', addr('pkt-dstaddr'));
  set('dstport', num(get('dstport')));
  set('packets', num(get('packets')));
  set('start', num(get('start')));
  set('end', num(get('end')));
  set('action', get('action'));
  set('instanceId', get('instance-id'));
  set('interfaceId', get('interface-id'));
  set('flowDirection', get('flow-direction'));
  return { record: r };
}

/** A retired address to look for: on `port`, from `since` (its retirement plus its TTL). */
export interface FlowWatch {
  address: string;
  port: number;
  /** Epoch ms. */
  since: number;
}

/** A client still sending to a retired address. */
export interface StaleClient {
  /** Who: an instance id, else the interface id, else the source address. */
  client: string;
  clientKind: 'instance' | 'interface' | 'address';
  /** The source address the records name (the packet's own, when the format has it). */
  sourceAddress?: string;
  address: string;
  port: number;
  packets: number;
  records: number;
  /** Epoch ms of the first and last matching record's start. */
  first: number;
  last: number;
  /** ACCEPT, REJECT: both count (a REJECT is a client trying). */
  actions: string[];
}

/**
 * The clients in `records` that sent to a watched address on its port after its `since`,
 * ACCEPT or REJECT alike, one entry per client and address.
 */
export function staleClients(records: Iterable<FlowRecord>, watch: readonly FlowWatch[], ignore: readonly string[] = []): StaleClient[] {
  const byAddress = new Map(watch.map((w) => [`${w.address}|${w.port}`, w]));
  const ignored = blockListOf(ignore);
  const out = new Map<string, StaleClient>();
  for (const r of records) {
    const dst = r.pktDstaddr ?? r.dstaddr;
    if (dst === undefined || r.dstport === undefined || r.start === undefined) continue;
    const w = byAddress.get(`${dst}|${r.dstport}`);
    if (!w || r.start * 1000 < w.since) continue;
    const source = r.pktSrcaddr ?? r.srcaddr;
    if (source !== undefined && ignored.check(source, isIP(source) === 6 ? 'ipv6' : 'ipv4')) continue;
    const [client, clientKind] = r.instanceId
      ? ([r.instanceId, 'instance'] as const)
      : r.interfaceId
        ? ([r.interfaceId, 'interface'] as const)
        : ([source ?? 'unknown', 'address'] as const);
    const key = `${client}|${w.address}`;
    const at = r.start * 1000;
    const c = out.get(key);
    if (!c) {
      out.set(key, {
        client,
        clientKind,
        ...(source ? { sourceAddress: source } : {}),
        address: w.address,
        port: w.port,
        packets: r.packets ?? 0,
        records: 1,
        first: at,
        last: at,
        actions: r.action ? [r.action] : [],
      });
      continue;
    }
    c.packets += r.packets ?? 0;
    c.records++;
    c.first = Math.min(c.first, at);
    c.last = Math.max(c.last, at);
    if (r.action && !c.actions.includes(r.action)) c.actions.push(r.action);
  }
  return [...out.values()].sort((a, b) => a.first - b.first || a.client.localeCompare(b.client));
}

/** One client's evidence, with ISO times. */
export function clientEvidence(c: StaleClient) {
  return {
    client: c.client,
    clientKind: c.clientKind,
    ...(c.sourceAddress ? { sourceAddress: c.sourceAddress } : {}),
    address: c.address,
    port: c.port,
    packets: c.packets,
    records: c.records,
    firstRecord: new Date(c.first).toISOString(),
    lastRecord: new Date(c.last).toISOString(),
    actions: c.actions,
  };
}
