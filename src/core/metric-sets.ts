/**
 * Which CloudWatch metrics each target type publishes, per metric set: the one table that the
 * Lambda's metrics output, the stack's alarms and dashboard, and `ipdrift cost` all read.
 *
 * `standard` is every figure `assess` computes for the type (test/unit/metric-sets.test.ts runs
 * assess and holds it to this table); `minimal` is only what the stack's alarms watch (alarms
 * without actions: dashboard and console state; ipdrift's own notices are the pages). Each
 * series costs money every month (README, "Cost and scale"), so a metric missing here is never sent.
 */
import type { CheckReport, MetricName, TargetReport } from './report.ts';
import type { MetricsSink } from './ports.ts';
import type { TargetTypeName } from './target-types.ts';

/** The config's `metrics` values. */
export const METRIC_SETS = ['standard', 'minimal'] as const;
/** `standard`: every figure; `minimal`: only the metrics the alarms need. */
export type MetricSet = (typeof METRIC_SETS)[number];
/** The config's default. */
export const DEFAULT_METRIC_SET: MetricSet = 'standard';

/** Target types of the config contract. */
export type TargetType = TargetTypeName;

/** What one target type emits, and which of those an alarm watches. */
export interface TargetMetricSpec {
  /** Every metric `assess` computes for the type, in publishing order. */
  readonly emits: readonly MetricName[];
  /** The ones alarmed on (infra/lib/target-metrics.ts says how); a subset of `emits`. */
  readonly alarms: readonly MetricName[];
}

const ADDRESS_METRICS = [
  'Addresses',
  'AddressesRetired',
  'RetiredAnswering',
  'RetiredDead',
  'ProbeFailures',
  'ResolutionFailed',
] as const satisfies readonly MetricName[];

/**
 * Per target type. ELB and Aurora endpoints are names with addresses (Aurora adds its DNS lag
 * behind the real writer); a web tier is one URL judged against its upstream.
 */
export const TARGET_METRICS = {
  // Address lifecycle (RetiredDead, RetiredAnswering) is information: graphed, never alarmed.
  elb: { emits: ADDRESS_METRICS, alarms: ['ResolutionFailed'] },
  'web-tier': { emits: ['StaleSuspected', 'StaleConfirmed', 'ProbeFailures', 'WebLatencyMs'], alarms: ['StaleConfirmed', 'StaleSuspected'] },
  aurora: { emits: [...ADDRESS_METRICS, 'DnsLagSeconds'], alarms: ['ResolutionFailed', 'DnsLagSeconds'] },
} as const satisfies Record<TargetType, TargetMetricSpec>;

/** The metrics a target of `type` publishes under `set`. */
export function emittedMetrics(type: TargetType, set: MetricSet): readonly MetricName[] {
  const spec: TargetMetricSpec = TARGET_METRICS[type];
  return set === 'minimal' ? spec.alarms : spec.emits;
}

/** The metrics alarmed on for a target of `type` (the same under every set). */
export function alarmedMetrics(type: TargetType): readonly MetricName[] {
  return TARGET_METRICS[type].alarms;
}

/** The figures of one target report that are published under `set` (report order kept). */
export function publishedMetrics(target: Pick<TargetReport, 'type' | 'metrics'>, set: MetricSet): TargetReport['metrics'] {
  const allowed = new Set<MetricName>(emittedMetrics(target.type, set));
  return Object.fromEntries(Object.entries(target.metrics).filter(([name]) => allowed.has(name as MetricName))) as TargetReport['metrics'];
}

/**
 * A MetricsSink that passes on only the metrics of `set`: the Lambda wraps its CloudWatch sink
 * in it with the config's `metrics`, so what is sent (and billed) is exactly this table's.
 */
export function withMetricSet(sink: MetricsSink, set: MetricSet): MetricsSink {
  return {
    publishMetrics: (report: CheckReport) =>
      sink.publishMetrics({ ...report, targets: report.targets.map((t) => ({ ...t, metrics: publishedMetrics(t, set) })) }),
  };
}
