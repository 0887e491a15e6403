/**
 * Which ipdrift metrics each target type emits, which of them page someone, and how they are
 * drawn. One table so the alarms, the dashboard and the engine agree: metric names are typed
 * against the engine's own list (`functions/core/report.ts`), so a rename there breaks here.
 */
import type { TargetConfig } from '../../functions/core/config.ts';
import type { MetricName } from '../../functions/core/report.ts';

/** CloudWatch namespace and dimension of every ipdrift metric (design.md, "Outputs"). */
export const METRIC_NAMESPACE = 'ipdrift' as const;
/** The only dimension: one series per target, never per address (each series costs money). */
export const TARGET_DIMENSION = 'Target' as const;

/** Target types of the config contract. */
export type TargetType = TargetConfig['type'];

/** One graph of a target's dashboard row. */
export interface TargetGraph {
  readonly title: string;
  readonly metrics: readonly MetricName[];
}

/**
 * Graphs per target type. The metric sets follow `functions/core/assess.ts`: ELB and Aurora
 * endpoints are names with addresses (Aurora adds its DNS lag), a web tier is one URL.
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

/** An alarm on one metric of one target (threshold: metric >= threshold). */
export interface TargetAlarmSpec {
  readonly metric: MetricName;
  /** Only targets of these types emit the metric; an alarm elsewhere would be a paid no-op. */
  readonly appliesTo: readonly TargetType[];
  /** The threshold for a given target (Aurora's DNS lag takes the target's own setting). */
  readonly threshold: (target: TargetConfig) => number;
  /** M of N periods; a period is the check interval, so one datapoint is one check. */
  readonly datapointsToAlarm: number;
  readonly evaluationPeriods: number;
  /** What it means, for the alarm description on-call reads. */
  readonly meaning: string;
}

/**
 * Findings alarms. Missing data is `notBreaching` for all of them: a target leaves no
 * datapoint when the check's deadline cut it short or the monitor did not run at all, and
 * the latter is the monitor's own Invocations alarm's job, not a finding about the target.
 */
export const TARGET_ALARMS: readonly TargetAlarmSpec[] = [
  {
    metric: 'StaleConfirmed',
    appliesTo: ['web-tier'],
    threshold: () => 1,
    datapointsToAlarm: 1,
    evaluationPeriods: 1,
    meaning: 'the echo shows the web tier reached a retired upstream address (stale-address-confirmed, critical)',
  },
  {
    metric: 'StaleSuspected',
    appliesTo: ['web-tier'],
    threshold: () => 1,
    datapointsToAlarm: 1,
    evaluationPeriods: 1,
    meaning: 'the web tier fails or slows while its upstream is healthy, soon after upstream addresses were retired (stale-address-suspected, critical)',
  },
  {
    metric: 'RetiredDead',
    appliesTo: ['elb', 'aurora'],
    threshold: () => 1,
    datapointsToAlarm: 1,
    evaluationPeriods: 1,
    meaning: 'a retired address stopped answering or answers as another service: any client still caching it fails (retired-address-dead / -reassigned)',
  },
  {
    // One failed lookup is usually a blip; three checks in a row is an outage of the name.
    metric: 'ResolutionFailed',
    appliesTo: ['elb', 'aurora'],
    threshold: () => 1,
    datapointsToAlarm: 3,
    evaluationPeriods: 3,
    meaning: 'the name failed to resolve (timeout, SERVFAIL, NXDOMAIN) on 3 checks in a row (resolution-failed)',
  },
  {
    metric: 'DnsLagSeconds',
    appliesTo: ['aurora'],
    threshold: (t) => (t.type === 'aurora' ? t.dnsLagWarnSeconds : Number.NaN),
    datapointsToAlarm: 1,
    evaluationPeriods: 1,
    meaning: 'the cluster endpoint still names the old writer after a failover (dns-lag)',
  },
];
