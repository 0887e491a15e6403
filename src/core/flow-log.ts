/**
 * VPC Flow Logs as evidence of stale clients (docs/architecture.md, "Flow evidence"): who still
 * sends to an address the ELB gave back, past its TTL? Parses the documented record formats
 * (the version 2 default and custom formats with the version 3-5 fields), `-` for an absent
 * value, NODATA and SKIPDATA records; groups the records that hit a retired address on the
 * target's port by client. Pure: lines in, clients out.
 */
import { BlockList, isIP } from 'node:net';
import { IpdriftError } from './errors.ts';

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
export class FlowFormatError extends IpdriftError {
  override readonly name = 'FlowFormatError';
  readonly code = 'flow-format';
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
  /** `tcp-flags` (v3+): the TCP flags seen in the interval, OR-ed (SYN = 2: the connection opened in it). */
  tcpFlags?: number;
  /** How many raw records this one stands for (a source that aggregates, e.g. Logs Insights' `stats`); 1 when absent. */
  records?: number;
  /** Epoch seconds of the latest aggregated record's start; `start` is the earliest. */
  lastStart?: number;
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
  set('tcpFlags', num(get('tcp-flags')));
  return { record: r };
}

/** A retired address to look for: on `port`, from `since` (its retirement plus its TTL). */
export interface FlowWatch {
  address: string;
  port: number;
  /** Epoch ms. */
  since: number;
}

/**
 * Where a record was captured, seen from the connection to the watched address: at the client's
 * own interface (its egress), at the watched address's interface (the ELB node's ingress), or
 * unknown (a format without `flow-direction`, at an interface nothing else tells about).
 */
export type CaptureSide = 'client' | 'destination' | 'unknown';

/** One interface that recorded a client's flows. */
export interface CaptureEnd {
  interfaceId: string;
  side: CaptureSide;
  packets: number;
  records: number;
}

/** A client still sending to a retired address. */
export interface StaleClient {
  /** Who: the instance id, else its own interface's id, else the source address. */
  client: string;
  clientKind: 'instance' | 'interface' | 'address';
  /** The source address the records name (the packet's own, when the format has it): the key of a client. */
  sourceAddress?: string;
  address: string;
  port: number;
  /** Packets of the busiest end (both ends of one connection record the same packets). */
  packets: number;
  /** Records matched, at every end. */
  records: number;
  /** Epoch ms of the first and last matching record's start. */
  first: number;
  last: number;
  /** ACCEPT, REJECT: both count (a REJECT is a client trying). */
  actions: string[];
  /** The interfaces that recorded it: its own (egress) and the watched address's (ingress). */
  ends?: CaptureEnd[];
  /**
   * Records with SYN among its `tcp-flags`: connections it opened in the window, not pooled ones it
   * keeps riding; absent when the format has no `tcp-flags` (unknown).
   */
  opened?: number;
  /** Epoch ms of the last record in which it opened a connection (SYN). */
  lastOpened?: number;
}

/** The SYN bit of `tcp-flags` (Flow log records, "TCP flag sequence"). */
const TCP_SYN = 2;

/** What attribution knows beyond the records. */
export interface AttributionHints {
  /** Sources never a client: the monitor's own addresses or subnets (`ignoreSources`). */
  ignore?: readonly string[];
  /** Interfaces that hold a watched address (the ELB's, from the interface ledger): never a client's. */
  destinationInterfaces?: ReadonlySet<string>;
}

/**
 * The side of a matched record's interface (docs/architecture.md, "Flow evidence"). With
 * `flow-direction` (version 5) the record says it: egress is captured at the sender (the client),
 * ingress at the receiver (the ELB node). Without it, a known ELB interface is the destination's,
 * and one with an instance id is the client's (an ELB node's interface has no instance); else unknown.
 */
function sideOf(r: FlowRecord, destinations: ReadonlySet<string>): CaptureSide {
  if (r.flowDirection === 'egress') return 'client';
  if (r.flowDirection === 'ingress') return 'destination';
  if (r.interfaceId !== undefined && destinations.has(r.interfaceId)) return 'destination';
  return r.instanceId !== undefined ? 'client' : 'unknown';
}

/**
 * Interfaces that received a watched address's traffic from two or more sources in these records
 * and carry no instance: the address's own interface (a client's interface sends from its own address).
 */
function sharedInterfaces(matched: readonly { r: FlowRecord; source: string | undefined }[]): Set<string> {
  const sources = new Map<string, Set<string>>();
  for (const { r, source } of matched) {
    if (r.interfaceId === undefined || r.instanceId !== undefined || r.flowDirection !== undefined || source === undefined) continue;
    const set = sources.get(r.interfaceId) ?? new Set<string>();
    set.add(source);
    sources.set(r.interfaceId, set);
  }
  return new Set([...sources].filter(([, s]) => s.size > 1).map(([id]) => id));
}

/**
 * The clients in `records` that sent to a watched address on its port after its `since`,
 * ACCEPT or REJECT alike, one entry per client and address. A client is its source address:
 * one connection recorded at both ends (the client's interface and the ELB node's) is one
 * client, named by what its own end says (instance, else interface); a record captured at the
 * ELB node's interface never names that interface as a client. A client in a peered VPC or on
 * premises is seen only at the ELB's end: it is named by its address.
 */
export function staleClients(records: Iterable<FlowRecord>, watch: readonly FlowWatch[], hints: AttributionHints = {}): StaleClient[] {
  const byAddress = new Map(watch.map((w) => [`${w.address}|${w.port}`, w]));
  const ignored = blockListOf(hints.ignore ?? []);
  const matched: { r: FlowRecord; w: FlowWatch; source: string | undefined }[] = [];
  for (const r of records) {
    const dst = r.pktDstaddr ?? r.dstaddr;
    if (dst === undefined || r.dstport === undefined || r.start === undefined) continue;
    const w = byAddress.get(`${dst}|${r.dstport}`);
    if (!w || (r.lastStart ?? r.start) * 1000 < w.since) continue;
    const source = r.pktSrcaddr ?? r.srcaddr;
    if (source !== undefined && ignored.check(source, isIP(source) === 6 ? 'ipv6' : 'ipv4')) continue;
    matched.push({ r, w, source });
  }
  const destinations = new Set([...(hints.destinationInterfaces ?? []), ...sharedInterfaces(matched)]);
  const out = new Map<string, StaleClient>();
  for (const { r, w, source } of matched) {
    const side = sideOf(r, destinations);
    const own = side === 'client' ? (r.instanceId ?? r.interfaceId) : undefined;
    // Without a source address only the client's own end can say who it is.
    const key = source ?? own;
    if (key === undefined) continue;
    const at = Math.max(r.start!, w.since / 1000) * 1000;
    const lastAt = (r.lastStart ?? r.start!) * 1000;
    const count = r.records ?? 1;
    const id = `${key}|${w.address}`;
    let c = out.get(id);
    if (!c) {
      c = {
        client: source ?? own!,
        clientKind: 'address',
        ...(source ? { sourceAddress: source } : {}),
        address: w.address,
        port: w.port,
        packets: 0,
        records: 0,
        first: at,
        last: lastAt,
        actions: [],
        ends: [],
      };
      out.set(id, c);
    }
    c.records += count;
    c.first = Math.min(c.first, at);
    c.last = Math.max(c.last, lastAt);
    if (r.action && !c.actions.includes(r.action)) c.actions.push(r.action);
    if (r.tcpFlags !== undefined) {
      const syn = (r.tcpFlags & TCP_SYN) !== 0;
      c.opened = (c.opened ?? 0) + (syn ? count : 0);
      if (syn) c.lastOpened = Math.max(c.lastOpened ?? 0, lastAt);
    }
    // The name: an instance beats an interface beats the address.
    if (side === 'client' && r.instanceId && c.clientKind !== 'instance') Object.assign(c, { client: r.instanceId, clientKind: 'instance' });
    else if (side === 'client' && r.interfaceId && c.clientKind === 'address') Object.assign(c, { client: r.interfaceId, clientKind: 'interface' });
    const endId = r.interfaceId ?? '-';
    const end = c.ends!.find((e) => e.interfaceId === endId) ?? c.ends![c.ends!.push({ interfaceId: endId, side, packets: 0, records: 0 }) - 1]!;
    end.packets += r.packets ?? 0;
    end.records += count;
    c.packets = Math.max(...c.ends!.map((e) => e.packets));
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
    ...(c.opened !== undefined ? { newConnections: c.opened } : {}),
    ...(c.ends && c.ends.length > 0
      ? {
          recordedAt: c.ends.map(
            (e) => `${e.interfaceId} (${e.side === 'client' ? "the client's" : e.side === 'destination' ? "the ELB node's" : 'side unknown'})`,
          ),
        }
      : {}),
  };
}

/** How a finding names a client: `i-0abc (10.0.3.7)`, or the address alone. */
export function clientName(c: StaleClient): string {
  return c.clientKind === 'address' ? c.client : `${c.client}${c.sourceAddress ? ` (${c.sourceAddress})` : ''}`;
}

/** What a finding adds when the read that found its clients was cut at the source's limit. */
export const INCOMPLETE_TEXT = ' (flow evidence may be incomplete: the read hit its row limit)';
