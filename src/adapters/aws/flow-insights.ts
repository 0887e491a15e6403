/**
 * Flow log records from CloudWatch Logs, with one Logs Insights query per read: the log group,
 * the time range the engine asks for (from the earliest retirement plus its TTL, less one
 * aggregation interval, to now) and a filter on the retired addresses, so only the few matching
 * lines come back; GetQueryResults is polled under the check's deadline. Logs Insights bills the
 * bytes it scans in that range; the engine asks only when some retired address is in its window.
 */
import { setTimeout as wait } from 'node:timers/promises';
import { CloudWatchLogsClient, GetQueryResultsCommand, StartQueryCommand } from '@aws-sdk/client-cloudwatch-logs';
import type { FlowSource } from '../../core/ports.ts';
import { AWS_CLIENT_SETTINGS } from './runtime.ts';

/** Created once (Powertools' practice: clients at module scope). */
export const logsClient = new CloudWatchLogsClient(AWS_CLIENT_SETTINGS);

/** Query settings. */
export const FLOW_QUERY = {
  /** Records are aggregated over up to 10 minutes (1 on Nitro); a record started that much before. */
  aggregationSlackSeconds: 600,
  /** Lines returned at most (Logs Insights' own maximum is 10,000). */
  limit: 10_000,
  pollEveryMs: 500,
} as const;

/** The query did not complete. */
export class FlowQueryError extends Error {
  override readonly name = 'FlowQueryError';
}

/** The Logs Insights query for these addresses (quoted: an IPv6 address has colons). */
export function flowQueryString(addresses: readonly string[]): string {
  const filter = addresses.map((a) => `@message like "${a.replace(/["\\]/g, '')}"`).join(' or ');
  return `fields @message | filter ${filter} | limit ${FLOW_QUERY.limit}`;
}

/** FlowSource on CloudWatch Logs Insights. */
export class LogsInsightsFlowSource implements FlowSource {
  constructor(
    readonly logGroup: string,
    private readonly client: CloudWatchLogsClient = logsClient,
    private readonly sleep: (ms: number, signal: AbortSignal) => Promise<void> = (ms, signal) => wait(ms, undefined, { signal }),
  ) {}

  async read(query: {
    addresses: readonly string[];
    from: number;
    to: number;
    signal: AbortSignal;
  }): Promise<{ lines: string[]; scannedBytes?: number; truncated?: boolean }> {
    const { queryId } = await this.client.send(
      new StartQueryCommand({
        logGroupName: this.logGroup,
        startTime: Math.floor(query.from / 1000) - FLOW_QUERY.aggregationSlackSeconds,
        endTime: Math.ceil(query.to / 1000),
        queryString: flowQueryString(query.addresses),
        limit: FLOW_QUERY.limit,
      }),
      { abortSignal: query.signal },
    );
    if (!queryId) throw new FlowQueryError(`StartQuery on ${this.logGroup} returned no query id`);
    for (;;) {
      const r = await this.client.send(new GetQueryResultsCommand({ queryId }), { abortSignal: query.signal });
      if (r.status === 'Complete') {
        const lines = (r.results ?? []).flatMap((row) => row.filter((f) => f.field === '@message').map((f) => f.value ?? ''));
        return {
          lines,
          ...(r.statistics?.bytesScanned !== undefined ? { scannedBytes: r.statistics.bytesScanned } : {}),
          ...(lines.length >= FLOW_QUERY.limit ? { truncated: true } : {}),
        };
      }
      if (r.status !== 'Scheduled' && r.status !== 'Running')
        throw new FlowQueryError(`Logs Insights query ${queryId} on ${this.logGroup} ended ${r.status ?? 'with no status'}`);
      await this.sleep(FLOW_QUERY.pollEveryMs, query.signal);
    }
  }
}
