/**
 * One CloudWatch Logs Insights query, run to completion under a deadline: StartQuery on one log
 * group and time range, then GetQueryResults polled until Complete (the flow and the resolver
 * evidence sources share it). Logs Insights bills the bytes it scans in the range.
 */
import { setTimeout as wait } from 'node:timers/promises';
import { GetQueryResultsCommand, StartQueryCommand, StopQueryCommand } from '@aws-sdk/client-cloudwatch-logs';
import type { CloudWatchLogsClient, ResultField } from '@aws-sdk/client-cloudwatch-logs';
import { logGroupRef } from '../../core/arn.ts';
import { IpdriftError } from '../../core/errors.ts';

/** Polling and size settings. */
export const INSIGHTS_QUERY = {
  /** Rows returned at most (Logs Insights' own maximum is 10,000). */
  limit: 10_000,
  pollEveryMs: 500,
  /** The StopQuery of a query cut short: it must not hold the check up. */
  stopTimeoutMs: 2_000,
} as const;

/** The query did not complete. */
export class InsightsQueryError extends IpdriftError {
  override readonly name = 'InsightsQueryError';
  readonly code = 'insights-query';
}

/** How to wait between polls (tests pass one that does not). */
export type Sleep = (ms: number, signal: AbortSignal) => Promise<void>;
export const realSleep: Sleep = (ms, signal) => wait(ms, undefined, { signal });

/**
 * What StartQuery's `logGroupIdentifiers` takes for a configured log group: its name, or its ARN
 * without the `:*` of DescribeLogGroups' form (the API refuses it; a monitoring account must use the ARN).
 */
export function queryIdentifier(logGroup: string): string {
  const ref = logGroupRef(logGroup);
  return ref?.arn ?? ref?.name ?? logGroup;
}

/** The rows of one query; `truncated` when it returned the limit (rows past it are missing). */
export async function runInsightsQuery(
  client: CloudWatchLogsClient,
  q: { logGroup: string; queryString: string; startTime: number; endTime: number; signal: AbortSignal; sleep: Sleep },
): Promise<{ rows: ResultField[][]; scannedBytes?: number; truncated?: boolean }> {
  const { queryId } = await client.send(
    new StartQueryCommand({
      logGroupIdentifiers: [queryIdentifier(q.logGroup)],
      startTime: q.startTime,
      endTime: q.endTime,
      queryString: q.queryString,
      limit: INSIGHTS_QUERY.limit,
    }),
    { abortSignal: q.signal },
  );
  if (!queryId) throw new InsightsQueryError(`StartQuery on ${q.logGroup} returned no query id`);
  try {
    return await poll(client, queryId, q);
  } catch (err) {
    // Cut (the check's deadline) or failed: stop it, so it neither holds one of the account's
    // concurrent query slots nor scans on (billed). Best effort, bounded.
    try {
      await client.send(new StopQueryCommand({ queryId }), { abortSignal: AbortSignal.timeout(INSIGHTS_QUERY.stopTimeoutMs) });
    } catch {
      // Already ended, or unreachable: nothing more to do.
    }
    throw err;
  }
}

/** GetQueryResults until the query completes; throws when it ended otherwise or the signal aborts. */
async function poll(
  client: CloudWatchLogsClient,
  queryId: string,
  q: { logGroup: string; signal: AbortSignal; sleep: Sleep },
): Promise<{ rows: ResultField[][]; scannedBytes?: number; truncated?: boolean }> {
  for (;;) {
    const r = await client.send(new GetQueryResultsCommand({ queryId }), { abortSignal: q.signal });
    if (r.status === 'Complete') {
      const rows = r.results ?? [];
      return {
        rows,
        ...(r.statistics?.bytesScanned !== undefined ? { scannedBytes: r.statistics.bytesScanned } : {}),
        ...(rows.length >= INSIGHTS_QUERY.limit ? { truncated: true } : {}),
      };
    }
    if (r.status !== 'Scheduled' && r.status !== 'Running')
      throw new InsightsQueryError(`Logs Insights query ${queryId} on ${q.logGroup} ended ${r.status ?? 'with no status'}`);
    await q.sleep(INSIGHTS_QUERY.pollEveryMs, q.signal);
  }
}

/** A result row's field, `-` and empty as absent. */
export function rowValue(row: readonly ResultField[], name: string): string | undefined {
  const v = row.find((f) => f.field === name)?.value;
  return v === undefined || v === '' || v === '-' ? undefined : v;
}
