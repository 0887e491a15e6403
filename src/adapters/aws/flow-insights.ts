/**
 * Flow log records from CloudWatch Logs, with one Logs Insights query per read
 * (docs/architecture.md, "Flow evidence"): the log group, the time range the engine asks for
 * (from the earliest retirement plus its TTL, less one aggregation interval, to now), the
 * record's fields parsed in the flow log's own format, an exact filter on the watched addresses
 * and ports, and one row per client, interface, address and direction (`stats ... by`), so
 * the answer is small whatever the traffic and a cut is known, never silent. GetQueryResults is
 * polled under the check's deadline. Logs Insights bills the bytes it scans in the range
 * whatever the filter; the engine asks only when some retired address is in its window, at
 * most every `everyMinutes`.
 */
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import type { ResultField } from '@aws-sdk/client-cloudwatch-logs';
import type { FlowField, FlowRecord } from '../../core/flow-log.ts';
import type { FlowRead, FlowSource } from '../../core/ports.ts';
import { LIMITS } from '../../core/constants.ts';
import { INSIGHTS_QUERY, realSleep, rowValue, runInsightsQuery } from './insights-query.ts';
import type { Sleep } from './insights-query.ts';
import { AWS_CLIENT_SETTINGS } from './runtime.ts';

/** Created once (Powertools' practice: clients at module scope). */
export const logsClient = new CloudWatchLogsClient(AWS_CLIENT_SETTINGS);

/** Query settings. */
export const FLOW_QUERY = {
  aggregationSlackSeconds: LIMITS.flowAggregationSlackSeconds,
  /** Rows returned at most; one row per client and interface. */
  limit: INSIGHTS_QUERY.limit,
} as const;

/** A flow field's name in the query: `f_` + the name with `_` for `-` (no clash with the query language's words). */
const q = (f: FlowField) => `f_${f.replaceAll('-', '_')}`;
/** The fields a row is grouped by, when the format has them. */
const GROUP_BY: readonly FlowField[] = [
  'interface-id',
  'instance-id',
  'srcaddr',
  'pkt-srcaddr',
  'dstaddr',
  'pkt-dstaddr',
  'dstport',
  'flow-direction',
  'action',
  // One row per flags value: a row with SYN is connections opened (no bitwise operator in the query language).
  'tcp-flags',
];
/** A string literal (the values are addresses and ports the config validated; quotes are dropped anyway). */
const lit = (v: string | number) => `"${String(v).replace(/["\\]/g, '')}"`;
const list = (vs: readonly (string | number)[]) => `[${vs.map(lit).join(', ')}]`;

/**
 * The Logs Insights query for these addresses and ports, in a flow log of these fields: `parse`
 * in the format's own field order (a record is its values separated by single spaces), an exact
 * filter on the destination (the packet's own, when the format has it) and the port, then one row
 * per client and end with its record count, packets and first and last start.
 */
export function flowQueryString(fields: readonly FlowField[], addresses: readonly string[], ports: readonly number[]): string {
  const has = (f: FlowField) => fields.includes(f);
  const dst = [
    ...(has('dstaddr') ? [`${q('dstaddr')} in ${list(addresses)}`] : []),
    ...(has('pkt-dstaddr') ? [`${q('pkt-dstaddr')} in ${list(addresses)}`] : []),
  ];
  return [
    `parse @message "${fields.map(() => '*').join(' ')}" as ${fields.map(q).join(', ')}`,
    `filter (${dst.join(' or ')}) and ${q('dstport')} in ${list(ports)}`,
    `stats count(*) as records, ${has('packets') ? `sum(${q('packets')}) as packets, ` : ''}min(${q('start')}) as first, max(${q('start')}) as last by ${GROUP_BY.filter(has).map(q).join(', ')}`,
    'sort last desc',
    `limit ${FLOW_QUERY.limit}`,
  ].join(' | ');
}

const RECORD_KEY: Partial<Record<FlowField, keyof FlowRecord>> = {
  'interface-id': 'interfaceId',
  'instance-id': 'instanceId',
  srcaddr: 'srcaddr',
  'pkt-srcaddr': 'pktSrcaddr',
  dstaddr: 'dstaddr',
  'pkt-dstaddr': 'pktDstaddr',
  'flow-direction': 'flowDirection',
  action: 'action',
};

/** One result row as the record it aggregates; `-` (absent in the flow log) is absent. */
export function recordOfRow(row: readonly ResultField[]): FlowRecord {
  const get = (name: string) => rowValue(row, name);
  const num = (name: string) => {
    const v = Number(get(name));
    return Number.isFinite(v) ? v : undefined;
  };
  const r: FlowRecord = {};
  for (const [field, key] of Object.entries(RECORD_KEY) as [FlowField, keyof FlowRecord][]) {
    const v = get(q(field));
    if (v !== undefined) (r as Record<string, unknown>)[key] = v;
  }
  const set = (k: 'dstport' | 'tcpFlags' | 'packets' | 'records' | 'start' | 'lastStart', v: number | undefined) => {
    if (v !== undefined) r[k] = v;
  };
  set('dstport', num(q('dstport')));
  set('tcpFlags', num(q('tcp-flags')));
  set('packets', num('packets'));
  set('records', num('records'));
  set('start', num('first'));
  set('lastStart', num('last'));
  return r;
}

/** FlowSource on CloudWatch Logs Insights. */
export class LogsInsightsFlowSource implements FlowSource {
  constructor(
    readonly logGroup: string,
    private readonly client: CloudWatchLogsClient = logsClient,
    private readonly sleep: Sleep = realSleep,
  ) {}

  async read(query: {
    addresses: readonly string[];
    ports: readonly number[];
    fields: readonly FlowField[];
    from: number;
    to: number;
    signal: AbortSignal;
  }): Promise<FlowRead> {
    const r = await runInsightsQuery(this.client, {
      logGroup: this.logGroup,
      startTime: Math.floor(query.from / 1000) - FLOW_QUERY.aggregationSlackSeconds,
      endTime: Math.ceil(query.to / 1000),
      queryString: flowQueryString(query.fields, query.addresses, query.ports),
      signal: query.signal,
      sleep: this.sleep,
    });
    // A cut result lacks the rows of the clients seen least recently (sorted by last record).
    return {
      records: r.rows.map(recordOfRow),
      rows: r.rows.length,
      ...(r.scannedBytes !== undefined ? { scannedBytes: r.scannedBytes } : {}),
      ...(r.truncated ? { truncated: true } : {}),
    };
  }
}
