/**
 * A failover timeline's figures on CloudWatch: `DnsLagSeconds` (the same series as the
 * monitor's) and `FailoverSeconds` (the client outage), dimension Target, at the event time.
 */
import { PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import type { CloudWatchClient, MetricDatum, PutMetricDataCommandInput } from '@aws-sdk/client-cloudwatch';
import { METRIC_NAMESPACE, TARGET_DIMENSION } from '../../contract.ts';
import type { TimelineMetrics } from '../../core/aurora/failover-notice.ts';
import type { FailoverTimeline } from '../../core/aurora/timeline.ts';
import { METRICS } from '../../core/report.ts';
import { MS_PER_SECOND } from '../../core/time-units.ts';

/** The PutMetricData input for one timeline: DnsLagSeconds and FailoverSeconds (client outage), at the event time. */
export function timelineMetricInput(target: string, t: FailoverTimeline): PutMetricDataCommandInput | undefined {
  const dimensions = [{ Name: TARGET_DIMENSION, Value: target }];
  const timestamp = new Date(Math.round(t.eventAt));
  const data: MetricDatum[] = [];
  // DNS moving before the API (negative lag) is no lag for a client.
  if (t.dnsLagMs !== undefined)
    data.push({
      MetricName: 'DnsLagSeconds',
      Dimensions: dimensions,
      Timestamp: timestamp,
      Unit: METRICS.DnsLagSeconds,
      Value: Math.max(0, t.dnsLagMs) / MS_PER_SECOND,
    });
  if (t.outage?.ms !== undefined)
    data.push({
      MetricName: 'FailoverSeconds',
      Dimensions: dimensions,
      Timestamp: timestamp,
      Unit: METRICS.FailoverSeconds,
      Value: t.outage.ms / MS_PER_SECOND,
    });
  return data.length ? { Namespace: METRIC_NAMESPACE, MetricData: data } : undefined;
}

/** TimelineMetrics on CloudWatch. */
export class CloudWatchTimelineMetrics implements TimelineMetrics {
  constructor(private readonly client: CloudWatchClient) {}
  /** One PutMetricData with the timeline's figures (nothing when it has none). */
  async publishTimeline(target: string, t: FailoverTimeline): Promise<void> {
    const input = timelineMetricInput(target, t);
    if (input) await this.client.send(new PutMetricDataCommand(input));
  }
}
