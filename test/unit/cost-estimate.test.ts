/**
 * The monthly estimate (planning/cost/estimate.ts): metric and alarm counts from the one metric
 * table, DynamoDB units from the store's item layout, fan-out past the shard size, the goal.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { COST_ASSUMPTIONS, CostInputError, STACK_SHAPE, estimateCost, modelledInvocationMs, recommendMemory } from '../../src/planning/cost/estimate.ts';
import type { CostEstimate, CostInput, CostTarget } from '../../src/planning/cost/estimate.ts';
import { PRICE_TABLE } from '../../src/planning/cost/prices.ts';
import { parseConfig } from '../../src/core/config.ts';
import type { ConfigInput } from '../../src/core/config.ts';
import { alarmedMetrics, emittedMetrics } from '../../src/core/metric-sets.ts';
import { planShards } from '../../src/core/shard.ts';
import { costTargets, representativeStateItem } from '../../src/cli/commands/cost.ts';
import { dynamoItemSize } from '../../src/adapters/aws/item-size.ts';

const EXAMPLE = JSON.parse(readFileSync(new URL('../../infra/example.config.json', import.meta.url), 'utf8')) as ConfigInput;
const CHECKS_PER_MONTH_AT_1_MIN = 43_800;
/** A quiet target's state saves a month: one per 5-minute refresh (8,760 in 730 h) plus one per change (10 assumed). */
const STATE_WRITES_PER_MONTH = 8_770;

/** `n` ELB targets as a deployer would write them (HTTPS health checks). */
function elbConfig(n: number): ConfigInput {
  return {
    targets: Array.from({ length: n }, (_, i) => ({
      name: `alb-${String(i).padStart(4, '0')}`,
      type: 'elb' as const,
      host: `internal-alb-${i}-123456789.ap-northeast-2.elb.amazonaws.com`,
      port: 443,
      probe: { protocol: 'https' as const, path: '/health' },
    })),
  };
}

function input(config: ConfigInput, over: Partial<CostInput> = {}): CostInput {
  return {
    targets: costTargets(parseConfig(config)),
    metricSet: 'standard',
    intervalMinutes: 1,
    memoryMb: 256,
    shardSize: 100,
    vpcEndpoints: 0,
    prices: PRICE_TABLE,
    ...over,
  };
}

const lineOf = (e: CostEstimate, id: string) => e.lines.find((l) => l.id === id);
const usdOf = (e: CostEstimate, id: string) => lineOf(e, id)?.usd ?? 0;

describe('estimateCost', () => {
  it('counts exactly the metric series and alarms the metric table gives each target type', () => {
    // Prepare
    const config = parseConfig(EXAMPLE);
    // Act
    const standard = estimateCost(input(EXAMPLE));
    const minimal = estimateCost(input(EXAMPLE, { metricSet: 'minimal' }));
    // Assess: elb 6 + web-tier 4 + aurora 7 = 17; minimal 1 + 2 + 2 = 5; alarms 5 either way.
    const sum = (f: (t: (typeof config.targets)[number]) => number) => config.targets.reduce((s, t) => s + f(t), 0);
    expect(lineOf(standard, 'metrics')!.quantity).toBe(sum((t) => emittedMetrics(t.type, 'standard').length));
    expect(lineOf(standard, 'metrics')!.quantity).toBe(17);
    expect(lineOf(minimal, 'metrics')!.quantity).toBe(5);
    expect(lineOf(standard, 'alarms-targets')!.quantity).toBe(sum((t) => alarmedMetrics(t.type).length));
    expect(lineOf(minimal, 'alarms-targets')!.quantity).toBe(5);
    expect(lineOf(standard, 'metrics')!.breakdown!.map((b) => [b.label, b.quantity])).toEqual([
      ['Addresses', 2],
      ['AddressesRetired', 2],
      ['RetiredAnswering', 2],
      ['RetiredDead', 2],
      ['ProbeFailures', 3],
      ['ResolutionFailed', 2],
      ['StaleSuspected', 1],
      ['StaleConfirmed', 1],
      ['WebLatencyMs', 1],
      ['DnsLagSeconds', 1],
    ]);
  });

  it('prices 50 ELB targets at 1-minute checks: standard misses $1 a target (6 metrics = $1.80), minimal meets it (1 metric = $0.30)', () => {
    // Act
    const standard = estimateCost(input(elbConfig(50)));
    const minimal = estimateCost(input(elbConfig(50), { metricSet: 'minimal' }));
    // Assess
    expect(usdOf(standard, 'metrics') / 50).toBeCloseTo(1.8, 6);
    expect(standard.goal).toEqual({ usdPerTargetMonth: 1, met: false, applies: true });
    expect(usdOf(minimal, 'metrics') / 50).toBeCloseTo(0.3, 6);
    expect(minimal.goal.met).toBe(true);
    expect(minimal.perTargetUsd).toBeGreaterThan(0.5);
    expect(minimal.perTargetUsd).toBeLessThan(1);
    expect(minimal.perTypeOwnUsd.elb).toBeCloseTo(minimal.perTargetOwnUsd, 9);
  });

  it("adds up: lines to the total, fixed and per-target parts, each target's own cost to the scaling lines", () => {
    // Act
    const e = estimateCost(input(EXAMPLE));
    // Assess
    const total = e.lines.reduce((s, l) => s + l.usd, 0);
    expect(e.totalUsd).toBeCloseTo(total, 9);
    expect(e.perTargetUsd * e.targets).toBeCloseTo(e.totalUsd, 9);
    expect(e.fixedUsd + e.perTargetOwnUsd * e.targets).toBeCloseTo(e.totalUsd, 9);
    const own = Object.entries(e.perTypeOwnUsd).reduce((s, [type, usd]) => s + usd! * e.targetsByType[type as 'elb']!, 0);
    expect(own).toBeCloseTo(e.totalUsd - e.fixedUsd, 9);
    for (const l of e.lines) for (const b of l.breakdown ?? []) expect(b.usd).toBeGreaterThan(0);
    expect(lineOf(e, 'metrics')!.breakdown!.reduce((s, b) => s + b.usd, 0)).toBeCloseTo(usdOf(e, 'metrics'), 9);
  });

  it("takes DynamoDB units from the store's item layout: an HTTPS ELB state item fits 1 KB (2 WRU a transactional save, 1 RRU a load)", () => {
    // Prepare
    const [elb] = parseConfig(elbConfig(1)).targets;
    // Act
    const bytes = dynamoItemSize(representativeStateItem(elb!));
    const e = estimateCost(input(elbConfig(1)));
    // Assess
    expect(bytes).toBeGreaterThan(300);
    expect(bytes).toBeLessThanOrEqual(1024);
    const history = COST_ASSUMPTIONS.historyItemsPerTargetMonth * 2;
    // A quiet target is written every 5 minutes (730 h: 8,760), plus once per change (10): 8,770 saves, not 43,800.
    expect(lineOf(e, 'dynamodb-writes')!.quantity).toBe(STATE_WRITES_PER_MONTH * 2 + history);
    expect(lineOf(e, 'dynamodb-reads')!.quantity).toBe(CHECKS_PER_MONTH_AT_1_MIN);
  });

  it('rounds a bigger state item up per KB (writes) and per 4 KB (reads)', () => {
    // Prepare
    const targets: CostTarget[] = [{ name: 'big', type: 'elb', stateItemBytes: 4097 }];
    // Act
    const e = estimateCost({ ...input(elbConfig(1)), targets });
    // Assess
    expect(lineOf(e, 'dynamodb-writes')!.quantity).toBe(STATE_WRITES_PER_MONTH * 2 * 5 + COST_ASSUMPTIONS.historyItemsPerTargetMonth * 2);
    expect(lineOf(e, 'dynamodb-reads')!.quantity).toBe(CHECKS_PER_MONTH_AT_1_MIN * 2);
  });

  it('keeps one invocation up to the shard size: no Step Functions, 4 monitor alarms, one PutMetricData a check', () => {
    // Act
    const e = estimateCost(input(elbConfig(100)));
    // Assess
    expect(e.shards).toEqual({ count: 1, size: 100, largest: 100, fanOut: false });
    expect(lineOf(e, 'step-functions')).toBeUndefined();
    expect(lineOf(e, 'dynamodb-tick')).toBeUndefined();
    expect(lineOf(e, 'alarms-monitor')!.quantity).toBe(STACK_SHAPE.monitorAlarms);
    expect(lineOf(e, 'lambda-requests')!.quantity).toBe(CHECKS_PER_MONTH_AT_1_MIN);
    expect(lineOf(e, 'put-metric-data')!.quantity).toBe(CHECKS_PER_MONTH_AT_1_MIN);
    expect(e.invocationMs).toBe(modelledInvocationMs(100, 256));
  });

  it('fans out past it: a scheduler and a worker per shard, one Standard execution per check, a tick claim', () => {
    // Prepare
    const config = elbConfig(1000);
    const shards = planShards(parseConfig(config).targets, 100).shards.length;
    // Act
    const e = estimateCost(input(config, { metricSet: 'minimal' }));
    // Assess
    expect(shards).toBeGreaterThan(10);
    expect(e.shards).toMatchObject({ count: shards, fanOut: true });
    expect(lineOf(e, 'lambda-requests')!.quantity).toBe(CHECKS_PER_MONTH_AT_1_MIN * (shards + 1));
    expect(lineOf(e, 'step-functions')!.quantity).toBe(CHECKS_PER_MONTH_AT_1_MIN * (STACK_SHAPE.stateTransitions.perExecution + shards));
    expect(lineOf(e, 'dynamodb-tick')!.quantity).toBe(CHECKS_PER_MONTH_AT_1_MIN);
    expect(lineOf(e, 'alarms-monitor')!.quantity).toBe(STACK_SHAPE.fanOutAlarms);
    // Each worker sends its own shard's metrics: one request each.
    expect(lineOf(e, 'put-metric-data')!.quantity).toBe(CHECKS_PER_MONTH_AT_1_MIN * shards);
    expect(e.goal.met).toBe(true);
  });

  it('uses the measured duration when given, for every checking invocation', () => {
    // Act
    const e = estimateCost(input(EXAMPLE, { durationMs: 1000, memoryMb: 512 }));
    // Assess: 43,800 checks x 1 s x 0.5 GB.
    expect(e.durationSource).toBe('flag');
    expect(lineOf(e, 'lambda-compute')!.quantity).toBeCloseTo(21_900, 6);
    expect(usdOf(e, 'lambda-compute')).toBeCloseTo(21_900 * PRICE_TABLE.prices.lambdaArmGbSecond.usd, 9);
  });

  it('prices VPC interface endpoints per AZ-hour when asked, and none otherwise', () => {
    // Act
    const none = estimateCost(input(EXAMPLE));
    const two = estimateCost(input(EXAMPLE, { vpcEndpoints: 2 }));
    // Assess: 2 endpoints x 2 AZs x 730 h x $0.01 = $29.20, plus a few cents of data.
    expect(lineOf(none, 'vpc-endpoints')).toBeUndefined();
    expect(lineOf(two, 'vpc-endpoints')!.quantity).toBe(2920);
    expect(usdOf(two, 'vpc-endpoints')).toBeGreaterThanOrEqual(29.2);
    expect(usdOf(two, 'vpc-endpoints')).toBeLessThan(29.3);
  });

  it('compares with one Synthetics canary per target at the same interval ($52.56 a month each at 1 minute)', () => {
    // Act
    const e = estimateCost(input(EXAMPLE));
    // Assess
    expect(e.canary.runs).toBe(3 * CHECKS_PER_MONTH_AT_1_MIN);
    expect(e.canary.perTargetUsd).toBeCloseTo(52.56, 6);
    expect(e.canary.usd).toBeCloseTo(3 * 52.56, 6);
  });

  it('scales the checks with the interval and judges the goal only at 1 minute', () => {
    // Act
    const e = estimateCost(input(elbConfig(50), { intervalMinutes: 5 }));
    // Assess
    expect(e.checksPerMonth).toBe(CHECKS_PER_MONTH_AT_1_MIN / 5);
    expect(e.goal.applies).toBe(false);
    // Metrics and alarms are monthly: an interval does not change them.
    expect(usdOf(e, 'metrics')).toBeCloseTo(50 * 6 * 0.3, 6);
  });

  it.each([
    ['no targets', { targets: [] }, /no targets/],
    ['a 90-minute interval', { intervalMinutes: 90 }, /whole minutes from 1 to 60/],
    ['a fractional interval', { intervalMinutes: 1.5 }, /whole minutes/],
    ['negative endpoints', { vpcEndpoints: -1 }, /VPC endpoints/],
  ] as const)('refuses %s', (_label, over, message) => {
    // Act / Assess
    expect(() => estimateCost({ ...input(EXAMPLE), ...over })).toThrow(CostInputError);
    expect(() => estimateCost({ ...input(EXAMPLE), ...over })).toThrow(message);
  });
});

describe('estimateCost: flow evidence from CloudWatch Logs', () => {
  it('prices the Logs Insights scans: queries only while a retired address is in its window, every N minutes, each the window plus one aggregation interval of the log', () => {
    // Act
    const none = estimateCost(input(EXAMPLE));
    const every5 = estimateCost(input(EXAMPLE, { flowQuery: { everyMinutes: 5, windowSeconds: 900 } }));
    const busy = estimateCost(input(EXAMPLE, { flowQuery: { everyMinutes: 5, windowSeconds: 900, gbPerHour: 12 } }));
    // Assess
    expect(none.lines.find((l) => l.id === 'flow-queries')).toBeUndefined();
    const line = every5.lines.find((l) => l.id === 'flow-queries')!;
    const queries = (COST_ASSUMPTIONS.flow.activeHoursPerMonth * 60) / 5;
    // 900 s + 600 s of aggregation slack = 1500 s of a 1 GB/h group per query.
    expect(line.quantity).toBeCloseTo((queries * COST_ASSUMPTIONS.flow.gbPerHour * 1500) / 3600, 6);
    expect(line.note).toContain('1500 s of a 1 GB/h log group');
    expect(busy.lines.find((l) => l.id === 'flow-queries')!.quantity).toBeCloseTo(line.quantity * 12, 6);
    expect(line.usd).toBeCloseTo(line.quantity * PRICE_TABLE.prices.logsInsightsGbScanned.usd, 9);
    expect(every5.totalUsd - none.totalUsd).toBeCloseTo(line.usd, 9);
  });
});

describe('estimateCost: resolver evidence and the cache census', () => {
  it('prices proof reads as the minutes since the last read plus the delivery delay, and the census per ELB as the lookback plus one flow window', () => {
    // Act
    const flowOnly = estimateCost(input(EXAMPLE, { flowQuery: { everyMinutes: 5, windowSeconds: 900 } }));
    const both = estimateCost(
      input(EXAMPLE, { flowQuery: { everyMinutes: 5, windowSeconds: 900 }, resolverQuery: { everyMinutes: 5, lookbackMinutes: 60, censusEveryMinutes: 60 } }),
    );
    // Assess
    const reads = both.lines.find((l) => l.id === 'resolver-queries')!;
    // 96 h x 12 reads an hour, each 5 min + 600 s = 900 s of a 1 GB/h group.
    expect(reads.quantity).toBeCloseTo(((96 * 60) / 5) * (900 / 3600), 6);
    const census = both.lines.find((l) => l.id === 'census-queries')!;
    const elbs = EXAMPLE.targets.filter((t) => t.type === 'elb').length;
    // 730 h x 1 census an hour x each ELB: 60 min of resolver log (1 GB) + 1500 s of flow log.
    expect(census.quantity).toBeCloseTo(730 * elbs * (1 + 1500 / 3600), 6);
    expect(both.totalUsd - flowOnly.totalUsd).toBeCloseTo(reads.usd + census.usd, 9);
  });
});

describe('recommendMemory', () => {
  it('picks the cheapest size whose predicted check stays under half the interval; none when nothing fits', () => {
    // Prepare
    const { memoryMb: _m, durationMs: _d, ...base } = input(elbConfig(50));
    // 20,000 targets in one invocation: over 30 s even at 3,008 MB by the model (1.6 ms CPU each).
    const { memoryMb: _m2, durationMs: _d2, ...huge } = input(elbConfig(20_000), { shardSize: 30_000 });
    // Act
    const small = recommendMemory(base);
    const tight = recommendMemory(huge);
    // Assess
    expect(small.budgetMs).toBe(30_000);
    expect(small.options.map((o) => o.memoryMb)).toEqual([256, 512, 768, 1024, 1536, 1769, 2048, 3008]);
    const fitting = small.options.filter((o) => o.fits);
    expect(small.recommended).toEqual(fitting.reduce((a, b) => (b.totalUsd < a.totalUsd ? b : a)));
    // Less memory is slower per the model (CPU share grows with memory up to one vCPU).
    expect(small.options[0]!.invocationMs).toBeGreaterThan(small.options[5]!.invocationMs);
    expect(tight.options.every((o) => !o.fits)).toBe(true);
    expect(tight.recommended).toBeUndefined();
  });
});
