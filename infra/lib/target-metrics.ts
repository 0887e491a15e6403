/**
 * How the stack alarms on and draws each target's metrics. Which metrics a target type emits,
 * and which of them are alarmed on, is not decided here: src/core/metric-sets.ts holds
 * that one table (the Lambda's metrics output and `ipdrift cost` read it too). This file adds
 * the alarm thresholds and the graphs, typed against the engine's metric names.
 */
import type { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type { TargetConfig } from '../../src/core/config.ts';
import { alarmedMetrics, emittedMetrics } from '../../src/core/metric-sets.ts';
import type { MetricSet } from '../../src/core/metric-sets.ts';
import type { MetricName } from '../../src/core/report.ts';
import { METRIC_NAMESPACE, TARGET_DIMENSION } from '../../src/contract.ts';

/** CloudWatch namespace and dimension of every ipdrift metric (src/contract.ts). */
export { METRIC_NAMESPACE, TARGET_DIMENSION };

/** Target types of the config contract. */
export type TargetType = TargetConfig['type'];

/** One graph of a target's dashboard row. */
export interface TargetGraph {
  readonly title: string;
  readonly metrics: readonly MetricName[];
}

/**
 * Graphs per target type, drawing every metric of the `standard` set (infra/test checks that);
 * under `minimal` each graph keeps only what is published ({@link graphsFor}).
 */
export const TARGET_GRAPHS = {
  elb: [
    { title: 'addresses', metrics: ['Addresses', 'AddressesRetired', 'RetiredAnswering', 'RetiredDead'] },
    { title: 'failures', metrics: ['ProbeFailures', 'ResolutionFailed'] },
  ],
  aurora: [
    { title: 'addresses', metrics: ['Addresses', 'AddressesRetired', 'RetiredAnswering', 'RetiredDead'] },
    { title: 'failures', metrics: ['ProbeFailures', 'ResolutionFailed'] },
    { title: 'DNS lag behind the writer (s)', metrics: ['DnsLagSeconds'] },
  ],
  'web-tier': [
    { title: 'stale upstream address', metrics: ['StaleSuspected', 'StaleConfirmed', 'ProbeFailures'] },
    { title: 'latency (ms)', metrics: ['WebLatencyMs'] },
  ],
} as const satisfies Record<TargetType, readonly TargetGraph[]>;

/**
 * An alarm on one metric of one target (threshold: metric >= threshold). Target alarms carry no
 * actions: they are the dashboard's and the console's view; the pages are ipdrift's own notices.
 */
export interface TargetAlarmSpec {
  readonly metric: MetricName;
  /** The threshold for a given target (Aurora's DNS lag takes the target's own setting). */
  readonly threshold: (target: TargetConfig) => number;
  /** M of N periods; a period is the check interval, so one datapoint is one check. */
  readonly datapointsToAlarm: number;
  readonly evaluationPeriods: number;
  /** What it means, for the alarm description on-call reads. */
  readonly meaning: string;
}

/**
 * How each alarmed metric alarms. Missing data is `notBreaching` for all of them: a target
 * leaves no datapoint when the check's deadline cut it short or the monitor did not run at
 * all, and the latter is the monitor's own not-running alarm's job, not a finding about it.
 */
export const TARGET_ALARM_SPECS: Readonly<Record<string, TargetAlarmSpec>> = {
  StaleConfirmed: {
    metric: 'StaleConfirmed',
    threshold: () => 1,
    datapointsToAlarm: 1,
    evaluationPeriods: 1,
    meaning: 'the echo shows the web tier reached a retired upstream address (stale-address-confirmed, critical)',
  },
  StaleSuspected: {
    metric: 'StaleSuspected',
    threshold: () => 1,
    datapointsToAlarm: 1,
    evaluationPeriods: 1,
    meaning: 'the web tier fails or slows while its upstream is healthy, soon after upstream addresses were retired (stale-address-suspected, critical)',
  },
  // One failed lookup is usually a blip; three checks in a row is an outage of the name.
  ResolutionFailed: {
    metric: 'ResolutionFailed',
    threshold: () => 1,
    datapointsToAlarm: 3,
    evaluationPeriods: 3,
    meaning: 'the name failed to resolve (timeout, SERVFAIL, NXDOMAIN) on 3 checks in a row (resolution-failed)',
  },
  DnsLagSeconds: {
    metric: 'DnsLagSeconds',
    threshold: (t) => (t.type === 'aurora' ? t.dnsLagWarnSeconds : Number.NaN),
    datapointsToAlarm: 1,
    evaluationPeriods: 1,
    meaning: 'the cluster endpoint still names the old writer after a failover (dns-lag)',
  },
};

/** A metric the core table alarms on that has no spec here. */
export class MissingAlarmSpecError extends Error {
  override readonly name = 'MissingAlarmSpecError';
}

/** The alarms of a target of `type`: the core table's alarmed metrics, each with its spec. */
export function alarmSpecsFor(type: TargetType): TargetAlarmSpec[] {
  return alarmedMetrics(type).map((metric) => {
    const spec = TARGET_ALARM_SPECS[metric];
    if (!spec)
      throw new MissingAlarmSpecError(
        `src/core/metric-sets.ts alarms on ${metric} for ${type} targets; infra/lib/target-metrics.ts has no TARGET_ALARM_SPECS entry for it`,
      );
    return spec;
  });
}

/** The graphs of a target of `type` under `set`: only published metrics; a graph left empty is dropped. */
export function graphsFor(type: TargetType, set: MetricSet): TargetGraph[] {
  const published = new Set<MetricName>(emittedMetrics(type, set));
  return TARGET_GRAPHS[type].map((g) => ({ title: g.title, metrics: g.metrics.filter((m) => published.has(m)) })).filter((g) => g.metrics.length > 0);
}

/** A per-target ipdrift metric with one period per check. */
export function targetMetric(target: TargetConfig, metricName: string, statistic: string, period: Duration): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: METRIC_NAMESPACE,
    metricName,
    dimensionsMap: { [TARGET_DIMENSION]: target.name },
    statistic,
    period,
  });
}

/** Every target's series of one metric, by a SEARCH expression: one graph however many targets. */
export function searchMetric(metricName: string, period: Duration): cloudwatch.MathExpression {
  return new cloudwatch.MathExpression({
    expression: `SEARCH('{${METRIC_NAMESPACE},${TARGET_DIMENSION}} MetricName="${metricName}"', '${cloudwatch.Stats.MAXIMUM}', ${period.toSeconds()})`,
    label: metricName,
    period,
  });
}
