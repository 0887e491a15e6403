/**
 * Route 53 Resolver query logs from CloudWatch Logs, with one Logs Insights query per read
 * (docs/architecture.md, "Resolver evidence"): the queries for the ELB's names (any case, with
 * or without the trailing dot) or answered with one of its addresses (an alias ipdrift does not
 * know), one row per asking host with its first and last query (`stats ... by srcaddr,
 * srcids.instance`). Logs Insights flattens the JSON entry into those fields itself.
 */
import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import type { ResultField } from '@aws-sdk/client-cloudwatch-logs';
import { dnsName } from '../../core/resolver-log.ts';
import type { Asker } from '../../core/resolver-log.ts';
import type { ResolverLogRead, ResolverLogSource } from '../../core/ports.ts';
import { logsClient } from './flow-insights.ts';
import { realSleep, rowValue, runInsightsQuery } from './insights-query.ts';
import type { Sleep } from './insights-query.ts';

/** A regular expression's literal text (names and addresses the config and DNS gave: escaped anyway). */
const re = (s: string) => s.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');

/** The Logs Insights query for the askers of these names or addresses. */
export function resolverQueryString(names: readonly string[], addresses: readonly string[]): string {
  const byName = `query_name like /(?i)^(${names.map((n) => re(dnsName(n))).join('|')})\\.?$/`;
  const byAnswer = addresses.length > 0 ? ` or @message like /"Rdata"\\s*:\\s*"(${addresses.map(re).join('|')})"/` : '';
  return [
    `filter ${byName}${byAnswer}`,
    // By address only: an entry without srcids.instance (a Lambda, an inbound endpoint) must not drop out of a group.
    'stats count(*) as queries, earliest(query_timestamp) as firstAsked, latest(query_timestamp) as lastAsked, latest(srcids.instance) as instance by srcaddr',
    'sort lastAsked desc',
    'limit 10000',
  ].join(' | ');
}

/** One result row as the asker it counts. */
export function askerOfRow(row: readonly ResultField[]): Asker | undefined {
  const first = Date.parse(rowValue(row, 'firstAsked') ?? '');
  const last = Date.parse(rowValue(row, 'lastAsked') ?? '');
  if (Number.isNaN(first) || Number.isNaN(last)) return undefined;
  const srcaddr = rowValue(row, 'srcaddr');
  const instance = rowValue(row, 'instance');
  return {
    ...(srcaddr ? { srcaddr } : {}),
    ...(instance ? { instance } : {}),
    queries: Number(rowValue(row, 'queries') ?? 0),
    firstAsked: first,
    lastAsked: last,
  };
}

/** ResolverLogSource on CloudWatch Logs Insights. */
export class LogsInsightsResolverSource implements ResolverLogSource {
  constructor(
    readonly logGroup: string,
    private readonly client: CloudWatchLogsClient = logsClient,
    private readonly sleep: Sleep = realSleep,
  ) {}

  async read(query: { names: readonly string[]; addresses: readonly string[]; from: number; to: number; signal: AbortSignal }): Promise<ResolverLogRead> {
    const r = await runInsightsQuery(this.client, {
      logGroup: this.logGroup,
      startTime: Math.floor(query.from / 1000),
      endTime: Math.ceil(query.to / 1000),
      queryString: resolverQueryString(query.names, query.addresses),
      signal: query.signal,
      sleep: this.sleep,
    });
    return {
      askers: r.rows.flatMap((row) => askerOfRow(row) ?? []),
      rows: r.rows.length,
      ...(r.scannedBytes !== undefined ? { scannedBytes: r.scannedBytes } : {}),
      ...(r.truncated ? { truncated: true } : {}),
    };
  }
}
