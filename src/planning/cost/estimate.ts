/**
 * Monthly cost of running ipdrift on AWS, line by line, from a config and the stack's settings.
 * Pure: prices come in (prices.ts), DynamoDB item sizes come in (the caller measures them with
 * the store's own layout), and the metric and alarm counts come from core/metric-sets.ts, the
 * table the Lambda's metrics output and the stack's alarms follow.
 */
import { LIMITS } from '../../core/constants.ts';
import { alarmedMetrics, emittedMetrics } from '../../core/metric-sets.ts';
import type { MetricSet, TargetType } from '../../core/metric-sets.ts';
import type { MetricName } from '../../core/report.ts';
import { QUIET_WRITE_EVERY_MS } from '../../core/save.ts';
import { planShards } from '../../core/shard.ts';
import type { ShardableTarget } from '../../core/shard.ts';
import { metricsMonthlyUsd } from './prices.ts';
import type { PriceTable } from './prices.ts';
import { MINUTES_PER_HOUR, MS_PER_MINUTE, MS_PER_SECOND, SECONDS_PER_HOUR, SECONDS_PER_MINUTE } from '../../core/time-units.ts';
import { IpdriftError } from '../../core/errors.ts';

/** What the stack deploys besides the targets' own resources (infra/test holds the stack to it). */
export const STACK_SHAPE = {
  /** Alarms on the monitor itself, single function: Errors, Throttles, Duration, not running. */
  monitorAlarms: 4,
  /** Fanned out: the workers' Errors, Throttles, Duration; not running and failed executions of the state machine. */
  fanOutAlarms: 5,
  dashboards: 1,
  /** The on-call topic's customer managed key. */
  kmsKeys: 1,
  /** The fan-out scheduler function: it only reads the config and splits it. */
  schedulerMemoryMb: 128,
  /**
   * Standard-workflow transitions of one fanned-out check: the scheduler task, the Map state and
   * its end, plus one per shard (the worker task). Retries would add one each; we retry only throttles.
   */
  stateTransitions: { perExecution: 3, perShard: 1 },
} as const;

/** Figures the estimate assumes; each is a named guess or a measurement with its source. */
export const COST_ASSUMPTIONS = {
  /** AWS prices a month as 730 hours. */
  hoursPerMonth: 730,
  /** The goal, at 1-minute checks, all-in. */
  goalUsdPerTargetMonth: 1,
  defaultMemoryMb: 256,
  /** Lambda gives one full vCPU at 1,769 MB and a proportional share below. */
  lambdaMbPerVcpu: 1769,
  /**
   * Billed time of one checking invocation: a fixed part (DynamoDB and CloudWatch round trips,
   * the warm handler) plus CPU per target on a full vCPU, stretched by Lambda's CPU share.
   * Measured: `npm run bench -- --only A,lambda`, the bundle's handler with its DynamoDB, SNS and
   * CloudWatch adapters on loopback, warm: 147-159 ms CPU for 100 ELB-like targets x 5 addresses
   * (2 cores, Node 20; state read by BatchGetItem). Pass --duration-ms with the REPORT line's
   * "Billed Duration" of your own function.
   */
  check: { baseMs: 150, cpuMsPerTarget: 1.6, source: 'bench/ deployed check on workload A' },
  /** The scheduler parses the config and splits it (1,000 targets: tens of ms). */
  schedulerMs: 200,
  /** One JSON line per invocation plus Lambda's START/END/REPORT lines. */
  logBytesPerInvocation: 1200,
  /** Notices (engine) and alarm state changes a target causes in a month: a guess, generous. */
  snsPublishesPerTargetMonth: 10,
  /** One email subscriber on the topic. */
  emailSubscribers: 1,
  /** `change#` history items a target writes a month (30-day TTL), and their size. */
  historyItemsPerTargetMonth: 10,
  historyItemBytes: 300,
  /** Interface endpoints are billed per AZ; the function's subnets span two. */
  vpcEndpointAzs: 2,
  /** API bytes through the endpoints per target and check (metrics, SNS). */
  endpointBytesPerTargetCheck: 2048,
  /** Bytes per GB as AWS bills them. */
  bytesPerGb: 1024 ** 3,
  /**
   * Flow evidence from CloudWatch Logs: a query runs only while some retired address is in its
   * window (the retention after a node replacement, 24 h by default); assume four replacements a
   * month. Logs Insights scans every byte of the log group in the query's range whatever the
   * filter: the range is the config's `windowSeconds` plus one aggregation interval, so a query
   * scans that share of an hour of the group's log. Assume 1 GB of flow log an hour (pass yours
   * with `--flow-gb-per-hour`: the group's IncomingBytes, or `bytesScanned` in the check's log line).
   */
  flow: { activeHoursPerMonth: 96, gbPerHour: 1 },
  /**
   * Resolver query logs from CloudWatch Logs: proof reads on the flow reads' terms, each scanning
   * the minutes since the last one plus the delivery delay; the cache census every
   * `censusEveryMinutes`, per ELB, scanning `lookbackMinutes` of the resolver log and one flow
   * window. Assume 1 GB of query log an hour (`--resolver-gb-per-hour`).
   */
  resolver: { gbPerHour: 1 },
} as const;

/** DynamoDB's rounding: writes per 1 KB, strongly consistent reads per 4 KB; a transaction writes twice. */
const DYNAMO_UNITS = { writeBytes: 1024, readBytes: 4096, transactionFactor: 2 } as const;
const round3 = (n: number) => Math.round(n * 1000) / 1000;

/**
 * State writes of one target in a month of `checks`: one per refresh interval while quiet, plus
 * one per check that changed something material (one per history item, assumed), never more
 * than one per check.
 */
function stateWritesPerMonth(checks: number): number {
  const refreshes = (COST_ASSUMPTIONS.hoursPerMonth * MINUTES_PER_HOUR * MS_PER_MINUTE) / QUIET_WRITE_EVERY_MS;
  return Math.min(checks, refreshes + COST_ASSUMPTIONS.historyItemsPerTargetMonth);
}
const MB_PER_GB = 1024;
/** PutMetricData takes at most this many data points per request. */
const METRICS_PER_REQUEST = 1000;

/** One target as the estimate sees it. */
export interface CostTarget extends ShardableTarget {
  readonly type: TargetType;
  /** Size of its DynamoDB state item as the store writes it (bytes). */
  readonly stateItemBytes: number;
}

/** What to estimate. */
export interface CostInput {
  readonly targets: readonly CostTarget[];
  readonly metricSet: MetricSet;
  /** Whole minutes between checks. */
  readonly intervalMinutes: number;
  readonly memoryMb: number;
  /** Billed ms of one checking invocation (the monitor, or each worker); default: the model above. */
  readonly durationMs?: number;
  /** Targets one invocation checks; more fan out (core/shard.ts). */
  readonly shardSize: number;
  /** Interface endpoints the function's VPC needs (0: none, or a NAT gateway you already pay for). */
  readonly vpcEndpoints: number;
  /**
   * Flow evidence from CloudWatch Logs: one query at most every `everyMinutes` over
   * `windowSeconds` (the config's `flowLogs`), in a log group of `gbPerHour` (default: the assumption).
   */
  readonly flowQuery?: { readonly everyMinutes: number; readonly windowSeconds: number; readonly gbPerHour?: number };
  /**
   * Resolver evidence from CloudWatch Logs (the config's `resolverLogs`); the census only with
   * `flowQuery` too, per ELB target.
   */
  readonly resolverQuery?: {
    readonly everyMinutes: number;
    readonly lookbackMinutes: number;
    readonly censusEveryMinutes: number;
    readonly gbPerHour?: number;
  };
  readonly prices: PriceTable;
}

/** One line of the estimate. */
export interface CostLine {
  /** Stable id (`--json`). */
  readonly id: string;
  readonly label: string;
  readonly quantity: number;
  /** Singular (`request`, `GB-s`); the text pluralises it. */
  readonly unit: string;
  readonly usd: number;
  /** `targets`: grows with the targets; `fixed`: the stack's own, shared by all targets. */
  readonly scales: 'targets' | 'fixed';
  readonly note?: string;
  /** Per-metric split of the custom metrics line. */
  readonly breakdown?: readonly CostLine[];
}

/** A monthly estimate. */
export interface CostEstimate {
  readonly metricSet: MetricSet;
  readonly intervalMinutes: number;
  readonly checksPerMonth: number;
  readonly targets: number;
  readonly targetsByType: Readonly<Partial<Record<TargetType, number>>>;
  readonly memoryMb: number;
  /** Billed ms of one checking invocation (the largest shard's when fanned out). */
  readonly invocationMs: number;
  readonly durationSource: 'flag' | 'model';
  readonly shards: { readonly count: number; readonly size: number; readonly largest: number; readonly fanOut: boolean };
  readonly lines: readonly CostLine[];
  readonly totalUsd: number;
  readonly fixedUsd: number;
  readonly perTargetUsd: number;
  /** The lines that grow with the targets, per target. */
  readonly perTargetOwnUsd: number;
  /** A target's own cost by type: its metrics, alarms and state, and its share of compute and notices. */
  readonly perTypeOwnUsd: Readonly<Partial<Record<TargetType, number>>>;
  readonly canary: { readonly runs: number; readonly usd: number; readonly perTargetUsd: number };
  readonly goal: { readonly usdPerTargetMonth: number; readonly met: boolean; readonly applies: boolean };
}

/** An input the estimate cannot use. */
export class CostInputError extends IpdriftError {
  override readonly name = 'CostInputError';
  readonly code = 'cost-input';
}

/** How much longer CPU work takes at `memoryMb` than on one full vCPU (Lambda's share is memory / 1,769 MB). */
export function cpuStretch(memoryMb: number): number {
  return Math.max(1, COST_ASSUMPTIONS.lambdaMbPerVcpu / memoryMb);
}

/**
 * A measured check's duration at `memoryMb`, as a range. Low: its CPU stretched by Lambda's
 * share, never less than its wall (waits overlap the CPU work). High: its wall plus the
 * stretch of its CPU (waits and CPU one after the other). The bench prints this per size.
 */
export function predictedCheckMs(measured: { cpuMs: number; wallMs: number }, memoryMb: number): { low: number; high: number } {
  const stretch = cpuStretch(memoryMb);
  return {
    low: Math.round(Math.max(measured.wallMs, measured.cpuMs * stretch)),
    high: Math.round(measured.wallMs + measured.cpuMs * (stretch - 1)),
  };
}

/** Billed ms of one invocation checking `targets` targets, by the model. */
export function modelledInvocationMs(targets: number, memoryMb: number): number {
  const { baseMs, cpuMsPerTarget } = COST_ASSUMPTIONS.check;
  return Math.round(baseMs + targets * cpuMsPerTarget * cpuStretch(memoryMb));
}

/** Estimates a month of ipdrift; see {@link CostInput}. */
export function estimateCost(input: CostInput): CostEstimate {
  const { targets, metricSet, intervalMinutes, memoryMb, prices } = input;
  if (targets.length === 0) throw new CostInputError('no targets to estimate');
  if (!Number.isInteger(intervalMinutes) || intervalMinutes < 1 || intervalMinutes > MINUTES_PER_HOUR)
    throw new CostInputError(`interval: expected whole minutes from 1 to 60, got ${intervalMinutes}`);
  if (!Number.isInteger(input.vpcEndpoints) || input.vpcEndpoints < 0)
    throw new CostInputError(`VPC endpoints: expected a whole number, got ${input.vpcEndpoints}`);
  const p = prices.prices;
  const A = COST_ASSUMPTIONS;
  const checks = (A.hoursPerMonth * MINUTES_PER_HOUR) / intervalMinutes;
  const n = targets.length;

  const plan = planShards(targets, input.shardSize);
  const byName = new Map(targets.map((t) => [t.name, t]));
  const shardTargets = plan.shards.map((s) => s.targets.map((name) => byName.get(name)!));
  const fanOut = shardTargets.length > 1;
  const shardMs = shardTargets.map((s) => input.durationMs ?? modelledInvocationMs(s.length, memoryMb));
  const invocationsPerCheck = shardTargets.length + (fanOut ? 1 : 0);

  const lines: CostLine[] = [];
  const line = (l: CostLine) => void lines.push(l);

  // Lambda.
  const gb = memoryMb / MB_PER_GB;
  const gbSecondsPerCheck =
    shardMs.reduce((sum, ms) => sum + (ms / MS_PER_SECOND) * gb, 0) +
    (fanOut ? (A.schedulerMs / MS_PER_SECOND) * (STACK_SHAPE.schedulerMemoryMb / MB_PER_GB) : 0);
  line({
    id: 'lambda-requests',
    label: 'Lambda requests',
    quantity: checks * invocationsPerCheck,
    unit: 'request',
    usd: checks * invocationsPerCheck * p.lambdaRequest.usd,
    scales: 'fixed',
    ...(fanOut ? { note: `${shardTargets.length} workers + the scheduler per check` } : {}),
  });
  line({
    id: 'lambda-compute',
    label: `Lambda compute (${memoryMb} MB arm64, ${Math.max(...shardMs)} ms per check${fanOut ? ' per worker' : ''})`,
    quantity: checks * gbSecondsPerCheck,
    unit: 'GB-s',
    usd: checks * gbSecondsPerCheck * p.lambdaArmGbSecond.usd,
    scales: 'targets',
  });
  if (fanOut) {
    const transitions = checks * (STACK_SHAPE.stateTransitions.perExecution + STACK_SHAPE.stateTransitions.perShard * shardTargets.length);
    line({
      id: 'step-functions',
      label: `Step Functions (one Standard execution per check, ${shardTargets.length} shards)`,
      quantity: transitions,
      unit: 'transition',
      usd: transitions * p.stepFunctionsTransition.usd,
      scales: 'fixed',
    });
  }

  // CloudWatch metrics: exactly the series the metrics output sends per target type.
  const seriesByMetric = new Map<MetricName, number>();
  for (const t of targets) for (const m of emittedMetrics(t.type, metricSet)) seriesByMetric.set(m, (seriesByMetric.get(m) ?? 0) + 1);
  const series = [...seriesByMetric.values()].reduce((a, b) => a + b, 0);
  const metricsUsd = metricsMonthlyUsd(series, prices.metricTiers);
  const perSeries = series === 0 ? 0 : metricsUsd / series;
  line({
    id: 'metrics',
    label: `CloudWatch custom metrics (metrics: "${metricSet}")`,
    quantity: series,
    unit: 'metric',
    usd: metricsUsd,
    scales: 'targets',
    breakdown: [...seriesByMetric.entries()].map(([m, count]) => ({
      id: `metric-${m}`,
      label: m,
      quantity: count,
      unit: 'metric',
      usd: count * perSeries,
      scales: 'targets',
      note: typesEmitting(m, targets, metricSet),
    })),
  });
  const putsPerCheck = shardTargets.reduce(
    (sum, s) => sum + Math.ceil(s.reduce((k, t) => k + emittedMetrics(t.type, metricSet).length, 0) / METRICS_PER_REQUEST),
    0,
  );
  line({
    id: 'put-metric-data',
    label: 'CloudWatch PutMetricData',
    quantity: checks * putsPerCheck,
    unit: 'request',
    usd: checks * putsPerCheck * p.cloudWatchApiRequest.usd,
    scales: 'fixed',
    note: `${putsPerCheck} per check, up to ${METRICS_PER_REQUEST} data points each`,
  });

  // Alarms and dashboard.
  const targetAlarms = targets.reduce((sum, t) => sum + alarmedMetrics(t.type).length, 0);
  const monitorAlarms = fanOut ? STACK_SHAPE.fanOutAlarms : STACK_SHAPE.monitorAlarms;
  line({
    id: 'alarms-targets',
    label: 'CloudWatch alarms on the targets',
    quantity: targetAlarms,
    unit: 'alarm',
    usd: targetAlarms * p.cloudWatchAlarm.usd,
    scales: 'targets',
  });
  line({
    id: 'alarms-monitor',
    label: 'CloudWatch alarms on the monitor itself',
    quantity: monitorAlarms,
    unit: 'alarm',
    usd: monitorAlarms * p.cloudWatchAlarm.usd,
    scales: 'fixed',
  });
  line({
    id: 'dashboard',
    label: 'CloudWatch dashboard',
    quantity: STACK_SHAPE.dashboards,
    unit: 'dashboard',
    usd: STACK_SHAPE.dashboards * p.cloudWatchDashboard.usd,
    scales: 'fixed',
  });
  if (input.flowQuery !== undefined) {
    const { everyMinutes, windowSeconds, gbPerHour = A.flow.gbPerHour } = input.flowQuery;
    const queries = (A.flow.activeHoursPerMonth * MINUTES_PER_HOUR) / Math.max(everyMinutes, intervalMinutes);
    const gbPerQuery = (gbPerHour * (windowSeconds + LIMITS.flowAggregationSlackSeconds)) / SECONDS_PER_HOUR;
    const scanned = queries * gbPerQuery;
    line({
      id: 'flow-queries',
      label: `Logs Insights flow log queries (every ${everyMinutes} min while a retired address is in its window)`,
      quantity: scanned,
      unit: 'GB',
      usd: scanned * p.logsInsightsGbScanned.usd,
      scales: 'fixed',
      note: `${Math.round(queries)} queries x ${round3(gbPerQuery)} GB (${windowSeconds + LIMITS.flowAggregationSlackSeconds} s of a ${gbPerHour} GB/h log group), assumed: ${A.flow.activeHoursPerMonth} h a month with a retired address in its window`,
    });
  }
  if (input.resolverQuery !== undefined) {
    const { everyMinutes, lookbackMinutes, censusEveryMinutes, gbPerHour = A.resolver.gbPerHour } = input.resolverQuery;
    const every = Math.max(everyMinutes, intervalMinutes);
    const reads = (A.flow.activeHoursPerMonth * MINUTES_PER_HOUR) / every;
    const gbPerRead = (gbPerHour * (every * SECONDS_PER_MINUTE + LIMITS.resolverDeliverySlackSeconds)) / SECONDS_PER_HOUR;
    line({
      id: 'resolver-queries',
      label: `Logs Insights resolver log queries (every ${everyMinutes} min while a retired address is in its window)`,
      quantity: reads * gbPerRead,
      unit: 'GB',
      usd: reads * gbPerRead * p.logsInsightsGbScanned.usd,
      scales: 'fixed',
      note: `${Math.round(reads)} queries x ${round3(gbPerRead)} GB (the minutes since the last read and the delivery delay, of a ${gbPerHour} GB/h log group)`,
    });
    const elbs = input.targets.filter((t) => t.type === 'elb').length;
    if (input.flowQuery !== undefined && elbs > 0) {
      const runs = (A.hoursPerMonth * MINUTES_PER_HOUR) / Math.max(censusEveryMinutes, intervalMinutes);
      const flowGb =
        ((input.flowQuery.gbPerHour ?? A.flow.gbPerHour) * (input.flowQuery.windowSeconds + LIMITS.flowAggregationSlackSeconds)) / SECONDS_PER_HOUR;
      const gbPerRun = (gbPerHour * lookbackMinutes) / MINUTES_PER_HOUR + flowGb;
      line({
        id: 'census-queries',
        label: `The cache census (flow and resolver queries every ${censusEveryMinutes} min, per ELB)`,
        quantity: runs * elbs * gbPerRun,
        unit: 'GB',
        usd: runs * elbs * gbPerRun * p.logsInsightsGbScanned.usd,
        scales: 'targets',
        note: `${Math.round(runs)} censuses x ${elbs} ELB(s) x ${round3(gbPerRun)} GB (${lookbackMinutes} min of resolver log, one flow window)`,
      });
    }
  }
  const logGb = (checks * invocationsPerCheck * A.logBytesPerInvocation) / A.bytesPerGb;
  line({
    id: 'logs',
    label: 'CloudWatch Logs (one line per invocation, kept a month)',
    quantity: logGb,
    unit: 'GB',
    usd: logGb * (p.logsIngestedGb.usd + p.logsStoredGbMonth.usd),
    scales: 'fixed',
  });

  // DynamoDB: per target and check, one strongly consistent read of its state item
  // (src/adapters/aws/dynamo-store.ts). Its transactional write comes only when something
  // material changed (each history item) or the last write is QUIET_WRITE_EVERY_MS old
  // (core/save.ts isQuiet); a fanned-out check also claims its tick.
  const writesPerCheck = targets.reduce((sum, t) => sum + DYNAMO_UNITS.transactionFactor * Math.ceil(t.stateItemBytes / DYNAMO_UNITS.writeBytes), 0);
  const stateWrites = stateWritesPerMonth(checks);
  const historyWrites = n * A.historyItemsPerTargetMonth * Math.ceil(A.historyItemBytes / DYNAMO_UNITS.writeBytes) * DYNAMO_UNITS.transactionFactor;
  const wru = stateWrites * writesPerCheck + historyWrites;
  line({
    id: 'dynamodb-writes',
    label: `DynamoDB writes (state item on change, else every ${QUIET_WRITE_EVERY_MS / MS_PER_MINUTE} min)`,
    quantity: wru,
    unit: 'WRU',
    usd: wru * p.dynamoWriteUnit.usd,
    scales: 'targets',
  });
  if (fanOut)
    line({
      id: 'dynamodb-tick',
      label: 'DynamoDB tick claims (one conditional write per fanned-out check)',
      quantity: checks,
      unit: 'WRU',
      usd: checks * p.dynamoWriteUnit.usd,
      scales: 'fixed',
    });
  const rru = checks * targets.reduce((sum, t) => sum + Math.ceil(t.stateItemBytes / DYNAMO_UNITS.readBytes), 0);
  line({
    id: 'dynamodb-reads',
    label: 'DynamoDB reads (state item per target and check, consistent)',
    quantity: rru,
    unit: 'RRU',
    usd: rru * p.dynamoReadUnit.usd,
    scales: 'targets',
  });
  const storedGb = (targets.reduce((sum, t) => sum + t.stateItemBytes, 0) + n * A.historyItemsPerTargetMonth * A.historyItemBytes) / A.bytesPerGb;
  line({
    id: 'dynamodb-storage',
    label: 'DynamoDB storage + point-in-time recovery',
    quantity: storedGb,
    unit: 'GB',
    usd: storedGb * (p.dynamoStorageGbMonth.usd + p.dynamoPitrGbMonth.usd),
    scales: 'targets',
  });

  // SNS and its key.
  const publishes = n * A.snsPublishesPerTargetMonth;
  line({
    id: 'sns',
    label: `SNS publishes (estimate: ${A.snsPublishesPerTargetMonth} per target) + email deliveries`,
    quantity: publishes,
    unit: 'publish',
    usd: publishes * (p.snsPublish.usd + A.emailSubscribers * p.snsEmailDelivery.usd),
    scales: 'targets',
  });
  line({
    id: 'kms',
    label: 'KMS key of the topics (+ a request per publish)',
    quantity: STACK_SHAPE.kmsKeys,
    unit: 'key',
    usd: STACK_SHAPE.kmsKeys * p.kmsKey.usd + publishes * p.kmsRequest.usd,
    scales: 'fixed',
  });

  if (input.vpcEndpoints > 0) {
    const hours = input.vpcEndpoints * A.vpcEndpointAzs * A.hoursPerMonth;
    const dataGb = (checks * n * A.endpointBytesPerTargetCheck) / A.bytesPerGb;
    line({
      id: 'vpc-endpoints',
      label: `VPC interface endpoints (${input.vpcEndpoints} x ${A.vpcEndpointAzs} AZs)`,
      quantity: hours,
      unit: 'endpoint-AZ-hour',
      usd: hours * p.vpcEndpointAzHour.usd + dataGb * p.vpcEndpointGb.usd,
      scales: 'fixed',
    });
  }

  const total = sum(lines);
  const fixed = sum(lines.filter((l) => l.scales === 'fixed'));
  // Each target's own cost: what its type publishes, alarms and stores, plus an equal share of
  // the compute, history and notices every target causes alike.
  const shared =
    (['lambda-compute', 'sns'] as const).reduce((s, id) => s + (lines.find((l) => l.id === id)?.usd ?? 0), 0) / n +
    A.historyItemsPerTargetMonth * (A.historyItemBytes / A.bytesPerGb) * (p.dynamoStorageGbMonth.usd + p.dynamoPitrGbMonth.usd) +
    (historyWrites / n) * p.dynamoWriteUnit.usd;
  const ownOf = (t: CostTarget) =>
    emittedMetrics(t.type, metricSet).length * perSeries +
    alarmedMetrics(t.type).length * p.cloudWatchAlarm.usd +
    stateWrites * DYNAMO_UNITS.transactionFactor * Math.ceil(t.stateItemBytes / DYNAMO_UNITS.writeBytes) * p.dynamoWriteUnit.usd +
    checks * Math.ceil(t.stateItemBytes / DYNAMO_UNITS.readBytes) * p.dynamoReadUnit.usd +
    (t.stateItemBytes / A.bytesPerGb) * (p.dynamoStorageGbMonth.usd + p.dynamoPitrGbMonth.usd) +
    shared;
  const ownByType: Partial<Record<TargetType, { usd: number; count: number }>> = {};
  for (const t of targets) {
    const slot = (ownByType[t.type] ??= { usd: 0, count: 0 });
    slot.usd += ownOf(t);
    slot.count++;
  }
  const perTypeOwnUsd = Object.fromEntries(Object.entries(ownByType).map(([type, v]) => [type, v.usd / v.count])) as Partial<Record<TargetType, number>>;
  const runs = n * checks;
  const counts: Partial<Record<TargetType, number>> = {};
  for (const t of targets) counts[t.type] = (counts[t.type] ?? 0) + 1;
  return {
    metricSet,
    intervalMinutes,
    checksPerMonth: checks,
    targets: n,
    targetsByType: counts,
    memoryMb,
    invocationMs: Math.max(...shardMs),
    durationSource: input.durationMs === undefined ? 'model' : 'flag',
    shards: { count: shardTargets.length, size: input.shardSize, largest: Math.max(...shardTargets.map((s) => s.length)), fanOut },
    lines,
    totalUsd: total,
    fixedUsd: fixed,
    perTargetUsd: total / n,
    perTargetOwnUsd: (total - fixed) / n,
    perTypeOwnUsd,
    canary: { runs, usd: runs * p.syntheticsCanaryRun.usd, perTargetUsd: checks * p.syntheticsCanaryRun.usd },
    goal: { usdPerTargetMonth: A.goalUsdPerTargetMonth, met: total / n <= A.goalUsdPerTargetMonth, applies: intervalMinutes === 1 },
  };
}

const sum = (lines: readonly CostLine[]) => lines.reduce((s, l) => s + l.usd, 0);

/** "elb, aurora": the types among `targets` that emit `metric` under `set`. */
function typesEmitting(metric: MetricName, targets: readonly CostTarget[], set: MetricSet): string {
  return [...new Set(targets.filter((t) => emittedMetrics(t.type, set).includes(metric)).map((t) => t.type))].join(', ');
}

/**
 * Memory sizes the recommendation compares (MB): Lambda's common steps and one full vCPU, from
 * the default up (the model knows CPU, not memory use: below 256 MB a large config may not fit).
 */
export const MEMORY_CANDIDATES_MB = [256, 512, 768, 1024, 1536, 1769, 2048, 3008] as const;
/** "Well inside the schedule": a check predicted to take at most this share of its interval. */
export const CHECK_BUDGET_FRACTION = 0.5;

/** One memory size, as the model predicts it. */
export interface MemoryOption {
  readonly memoryMb: number;
  /** Predicted billed ms of the largest invocation of a check. */
  readonly invocationMs: number;
  readonly totalUsd: number;
  /** Within CHECK_BUDGET_FRACTION of the interval. */
  readonly fits: boolean;
}

/**
 * The cheapest memory size whose predicted check stays well inside the schedule, by the CPU
 * model (Lambda's CPU share grows with memory up to one vCPU at 1,769 MB: less memory is cheaper
 * per ms but slower). Undefined `recommended` when none fits.
 */
export function recommendMemory(input: Omit<CostInput, 'memoryMb' | 'durationMs'>): { budgetMs: number; options: MemoryOption[]; recommended?: MemoryOption } {
  const budgetMs = input.intervalMinutes * MINUTES_PER_HOUR * MS_PER_SECOND * CHECK_BUDGET_FRACTION;
  const options = MEMORY_CANDIDATES_MB.map((memoryMb) => {
    const e = estimateCost({ ...input, memoryMb });
    return { memoryMb, invocationMs: e.invocationMs, totalUsd: e.totalUsd, fits: e.invocationMs <= budgetMs };
  });
  const fitting = options.filter((o) => o.fits);
  const recommended = fitting.length === 0 ? undefined : fitting.reduce((a, b) => (b.totalUsd < a.totalUsd ? b : a));
  return { budgetMs, options, ...(recommended ? { recommended } : {}) };
}
