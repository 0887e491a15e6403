/**
 * CloudWatch metrics sink: every metric of one check in as few PutMetricData requests as the
 * per-request limit allows. Namespace `ipdrift`, dimension `Target` only: a per-address
 * dimension would create a paid metric series per address.
 */
import { PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import type { CloudWatchClient, MetricDatum, PutMetricDataCommandInput } from '@aws-sdk/client-cloudwatch';
import { batches } from '../../core/batches.ts';
import type { MetricsSink } from '../../core/ports.ts';
import { METRICS } from '../../core/report.ts';
import type { CheckReport, MetricName } from '../../core/report.ts';
import { METRIC_NAMESPACE, TARGET_DIMENSION } from '../../contract.ts';
import { IpdriftError } from '../../core/errors.ts';

/** PutMetricData accepts at most this many data points per request. */
export const MAX_METRICS_PER_REQUEST = 1000 as const;

/** Some PutMetricData requests failed; `causes` holds each SDK error. */
export class MetricsPublishError extends IpdriftError {
  override readonly name = 'MetricsPublishError';
  readonly code = 'metrics-publish';
  constructor(
    readonly failed: number,
    readonly requests: number,
    readonly causes: unknown[],
  ) {
    const first = causes[0] instanceof Error ? `${causes[0].name}: ${causes[0].message}` : String(causes[0]);
    super(`CloudWatch PutMetricData failed for ${failed} of ${requests} request(s) (${first})`, { cause: causes[0] });
  }
}

/** The PutMetricData inputs for one report, chunked at MAX_METRICS_PER_REQUEST. */
export function metricRequests(report: CheckReport): PutMetricDataCommandInput[] {
  const timestamp = new Date(report.startedAt);
  const data: MetricDatum[] = [];
  for (const t of report.targets) {
    for (const [name, value] of Object.entries(t.metrics) as [MetricName, number | undefined][]) {
      // CloudWatch rejects NaN and Infinity; a missing figure is simply not sent.
      if (value === undefined || !Number.isFinite(value)) continue;
      data.push({ MetricName: name, Dimensions: [{ Name: TARGET_DIMENSION, Value: t.target }], Timestamp: timestamp, Unit: METRICS[name], Value: value });
    }
  }
  return batches(data, MAX_METRICS_PER_REQUEST).map((MetricData): PutMetricDataCommandInput => ({ Namespace: METRIC_NAMESPACE, MetricData }));
}

/** MetricsSink publishing to CloudWatch. */
export class CloudWatchSink implements MetricsSink {
  constructor(private readonly client: CloudWatchClient) {}

  async publishMetrics(report: CheckReport): Promise<void> {
    const requests = metricRequests(report);
    // All chunks at once: a check has one deadline, and each chunk is independent.
    const results = await Promise.allSettled(requests.map((input) => this.client.send(new PutMetricDataCommand(input))));
    const causes = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    if (causes.length > 0) throw new MetricsPublishError(causes.length, requests.length, causes);
  }
}
