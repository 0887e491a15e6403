/**
 * The failover-watch Lambda handler against the lab pair: an RDS "failover started" event ->
 * the real sampler (lab DNS, MySQL greeting probes, the lab's API) -> metrics, one notice,
 * history. AWS adapters are replaced by local ones; the CloudWatch request shape is checked
 * with aws-sdk-client-mock. Labs on 127.0.7x.x.
 */
import { noticeBody } from '../../src/core/notice.ts';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import { allCustomMatcher } from 'aws-sdk-client-mock-vitest';
import type {} from 'aws-sdk-client-mock-vitest/extend';
import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { CloudWatchTimelineMetrics, timelineMetricInput } from '../../src/adapters/aws/timeline-metrics.ts';
import { failoverTransition } from '../../src/core/aurora/failover-notice.ts';
import type { TimelineMetrics } from '../../src/core/aurora/failover-notice.ts';
import { createFailoverWatchHandler, FailoverWatchDeliveryError, UnexpectedEventError } from '../../src/lambda/failover-watch.ts';
import type { FailoverWatchDeps, RdsClusterEvent } from '../../src/lambda/failover-watch.ts';
import { ENV } from '../../src/contract.ts';
import { runCheck } from '../../src/core/check.ts';
import { parseConfig } from '../../src/core/config.ts';
import type { AuroraTarget } from '../../src/core/config.ts';
import { buildTimeline } from '../../src/core/aurora/timeline.ts';
import type { FailoverTimeline } from '../../src/core/aurora/timeline.ts';
import type { AlertTransition } from '../../src/core/types.ts';
import { ConsoleNotifier } from '../../src/adapters/local/console.ts';
import { MemoryStore } from '../../src/adapters/local/memory-store.ts';
import { AuroraLab } from '../../lab/aurora.ts';

expect.extend(allCustomMatcher);

const A = 'orders-instance-1';
const B = 'orders-instance-2';
const LAG_MS = 500;
const context = { getRemainingTimeInMillis: () => 180_000, awsRequestId: 'req-1' };
const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

const event = (eventId: string, cluster = 'orders'): RdsClusterEvent => ({
  version: '0',
  id: 'e-1',
  'detail-type': 'RDS DB Cluster Event',
  source: 'aws.rds',
  account: '123456789012',
  time: new Date().toISOString(),
  region: 'ap-northeast-2',
  resources: [`arn:aws:rds:ap-northeast-2:123456789012:cluster:${cluster}`],
  detail: {
    EventID: eventId,
    SourceIdentifier: cluster,
    SourceType: 'CLUSTER',
    EventCategories: ['failover'],
    Message: `Started cross AZ failover to DB instance: ${B}`,
    Date: new Date().toISOString(),
  },
});

const labs: AuroraLab[] = [];
afterAll(() => Promise.all(labs.map((l) => l.stop())));

/** A lab, a store the monitor has checked once, and deps that record what was published. */
async function setup(block: number, over: Partial<FailoverWatchDeps> = {}) {
  const lab = await AuroraLab.start({ block, script: { swapAfterMs: 200, dnsLagMs: LAG_MS, restartMs: 600 } });
  labs.push(lab);
  const config = parseConfig(lab.config(), 'lab');
  const store = new MemoryStore();
  await runCheck(config, { store, notifier: new ConsoleNotifier(() => undefined), clock: { now: () => new Date() }, writerLookup: lab });
  const notices: AlertTransition[] = [];
  const published: [string, FailoverTimeline][] = [];
  const metrics: TimelineMetrics = { publishTimeline: async (target, t) => void published.push([target, t]) };
  const deps: FailoverWatchDeps = {
    loadConfig: async () => config,
    writers: lab,
    store,
    notifier: new ConsoleNotifier((t) => notices.push(t)),
    metrics,
    logger: quiet,
    retryDelayMs: 1,
    ...over,
  };
  return { lab, store, notices, published, deps };
}

describe('failover-watch handler', () => {
  it('samples a failover from its start event: metrics, one notice, history and writer state', async () => {
    // Prepare
    const { lab, store, notices, published, deps } = await setup(71);
    const handler = createFailoverWatchHandler(deps);
    // Act
    await lab.failover('orders');
    const result = await handler(event('RDS-EVENT-0073'), context);
    // Assess
    expect(result).toMatchObject({ action: 'sampled', eventId: 'RDS-EVENT-0073', cluster: 'orders', errors: [], deadlineMs: 120_000 });
    expect(result.targets).toHaveLength(1);
    const [outcome] = result.targets;
    expect(outcome).toMatchObject({ target: 'orders-db', settled: true, notified: true, historySaved: true });
    expect(Math.abs(outcome!.dnsLagMs! - LAG_MS)).toBeLessThanOrEqual(250);
    expect(published.map(([t, tl]) => [t, tl.newWriter])).toEqual([['orders-db', B]]);
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatchObject({ type: 'event', kind: 'writer-changed', severity: 'info', target: 'orders-db' });
    expect(notices[0]!.summary).toMatch(new RegExp(`^orders-db: failover orders: ${A} -> ${B}; DNS lag 0\\.\\d\\d s; client outage \\d\\.\\d\\d s; settled$`));
    expect(notices[0]!.finding?.evidence).toMatchObject({ event: { id: 'RDS-EVENT-0073' }, previousWriter: A, newWriter: B, settled: true });
    const state = store.states.get('orders-db')!;
    expect(state.aurora).toMatchObject({ apiWriter: B, dnsWriter: B });
    expect(state.aurora).not.toHaveProperty('mismatchSince');
    expect((await store.history('orders-db', 1))[0]).toMatchObject({ kind: 'writer-changed', summary: notices[0]!.summary });
    // The history keeps the whole timeline (ipdrift report draws it); the notice draws it as bars.
    expect((await store.history('orders-db', 1))[0]!.timeline).toMatchObject({ cluster: expect.any(String), newWriter: B, settled: true });
    const body = noticeBody(notices[0]!);
    expect(body).toMatch(/\nTimeline:\n {2}API {6}\|=*> +\+\d+ ms\n {2}DNS {6}\|=*> +\+\d+ ms {2}\(DNS lag \d+ ms\)\n {2}connect {2}\|=*> +\+\d+ ms\n/);
  });

  it('ignores completed and failed events, and clusters no target watches', async () => {
    // Prepare
    let loads = 0;
    const { deps } = await setup(72, {});
    const handler = createFailoverWatchHandler({
      ...deps,
      loadConfig: async () => {
        loads++;
        return deps.loadConfig();
      },
    });
    // Act
    const completed = await handler(event('RDS-EVENT-0071'), context);
    const failed = await handler(event('RDS-EVENT-0069'), context);
    const other = await handler(event('RDS-EVENT-0072', 'billing'), context);
    // Assess
    expect(completed).toMatchObject({ action: 'ignored', reason: expect.stringContaining('not a failover start') });
    expect(failed.action).toBe('ignored');
    expect(other).toMatchObject({ action: 'ignored', reason: 'no aurora target watches cluster "billing"' });
    expect(loads).toBe(1);
  });

  it('logs a config that cannot be loaded, naming it, before the invocation fails', async () => {
    // Prepare
    const lines: { level: string; extra: Record<string, unknown> | undefined }[] = [];
    const logger = {
      info: () => undefined,
      warn: () => undefined,
      error: (_m: string, extra?: Record<string, unknown>) => void lines.push({ level: 'error', extra }),
    };
    const handler = createFailoverWatchHandler({
      logger,
      loadConfig: async () => Promise.reject(new Error('ipdrift.config.json: invalid configuration')),
    } as unknown as FailoverWatchDeps);
    // Act
    const run = handler(event('RDS-EVENT-0073'), context);
    // Assess
    await expect(run).rejects.toThrow('invalid configuration');
    expect(lines).toEqual([{ level: 'error', extra: expect.objectContaining({ errors: ['config: Error: ipdrift.config.json: invalid configuration'] }) }]);
  });

  it('rejects an event that is not an RDS cluster event', async () => {
    // Prepare
    const handler = createFailoverWatchHandler({} as FailoverWatchDeps);
    // Act
    const run = handler({ detail: {} } as unknown as RdsClusterEvent, context);
    // Assess
    await expect(run).rejects.toBeInstanceOf(UnexpectedEventError);
  });

  it('stops at its deadline when nothing fails over; a notice that never goes out is retried, then reported last', async () => {
    // Prepare
    let attempts = 0;
    const { store, published, deps } = await setup(73, {
      deadlineMs: 600,
      notifier: {
        notify: async () => {
          attempts++;
          throw new Error('SNS down');
        },
      },
    });
    const before = structuredClone(store.states.get('orders-db'));
    const handler = createFailoverWatchHandler(deps);
    // Act
    const run = handler(event('RDS-EVENT-0072'), context);
    // Assess
    await expect(run).rejects.toBeInstanceOf(FailoverWatchDeliveryError);
    await expect(run).rejects.toThrow('notice orders-db: Error: SNS down');
    expect(attempts).toBe(3);
    expect(published).toHaveLength(1); // metrics still went out
    expect(published[0]![1]).toMatchObject({ settled: false, endReason: 'deadline', previousWriter: A });
    expect(store.states.get('orders-db')).toEqual(before); // state not advanced without the notice
  });

  it("uses the monitor's environment variable names", () => {
    // Prepare / Act / Assess: one config, one table, one topic for both functions.
    expect(ENV).toEqual(ENV);
  });
});

describe('timeline metrics', () => {
  const cw = mockClient(CloudWatchClient);
  beforeEach(() => cw.reset());
  const T0 = Date.parse('2026-01-15T03:00:00.000Z');
  const timeline = (dnsAt: number, okAt: number) =>
    buildTimeline({
      cluster: 'orders',
      host: 'orders.cluster-abc.rds.test',
      eventAt: T0,
      startedAt: T0,
      endedAt: T0 + 5000,
      endReason: 'settled',
      previousWriter: A,
      api: [{ at: T0 + 1000, writer: B }],
      dns: [{ at: T0 + dnsAt, ok: true, writer: B, addresses: ['10.0.2.12'], chain: [`${B}.abc.rds.test`], durationMs: 1 }],
      probes: [
        { at: T0 + 250, address: '10.0.1.11', instance: A, ok: false, latencyMs: 1, error: 'refused' },
        { at: T0 + okAt, address: '10.0.2.12', instance: B, ok: true, latencyMs: 1 },
      ],
    });

  it('sends DnsLagSeconds and FailoverSeconds, dimension Target, at the event time', async () => {
    // Prepare
    cw.on(PutMetricDataCommand).resolves({});
    // Act
    await new CloudWatchTimelineMetrics(new CloudWatchClient({ region: 'ap-northeast-2' })).publishTimeline('orders-db', timeline(3750, 3875));
    // Assess
    expect(cw).toHaveReceivedCommandTimes(PutMetricDataCommand, 1);
    expect(cw.commandCalls(PutMetricDataCommand)[0]!.args[0].input).toEqual({
      Namespace: 'ipdrift',
      MetricData: [
        { MetricName: 'DnsLagSeconds', Dimensions: [{ Name: 'Target', Value: 'orders-db' }], Timestamp: new Date(T0), Unit: 'Seconds', Value: 2.75 },
        { MetricName: 'FailoverSeconds', Dimensions: [{ Name: 'Target', Value: 'orders-db' }], Timestamp: new Date(T0), Unit: 'Seconds', Value: 3.625 },
      ],
    });
  });

  it('clamps a negative lag to 0 and sends nothing without figures', () => {
    // Prepare
    const early = timeline(500, 875);
    const none = buildTimeline({ cluster: 'orders', host: 'h', eventAt: T0, startedAt: T0, endedAt: T0, endReason: 'deadline', dns: [], api: [], probes: [] });
    // Act
    const clamped = timelineMetricInput('orders-db', early);
    const empty = timelineMetricInput('orders-db', none);
    // Assess
    expect(clamped?.MetricData?.[0]).toMatchObject({ MetricName: 'DnsLagSeconds', Value: 0 });
    expect(empty).toBeUndefined();
  });
});

describe('failoverTransition: the one notice', () => {
  const T0 = Date.parse('2026-01-15T03:00:00.000Z');
  const target = parseConfig({
    targets: [
      {
        name: 'orders-db',
        type: 'aurora',
        host: 'orders.cluster-abc.rds.test',
        port: 3306,
        engine: 'mysql',
        clusterIdentifier: 'orders',
        dnsLagWarnSeconds: 2,
      },
    ],
  }).targets[0] as AuroraTarget;
  const dnsAt = (ms: number | undefined) =>
    ms === undefined ? [] : [{ at: T0 + ms, ok: true, writer: B, addresses: ['10.0.2.12'], chain: [`${B}.abc.rds.test`], durationMs: 1 }];
  const timeline = (apiWriter: string, dnsMs: number | undefined) =>
    buildTimeline({
      cluster: 'orders',
      host: target.host,
      eventAt: T0,
      startedAt: T0,
      endedAt: T0 + 9000,
      endReason: dnsMs === undefined ? 'deadline' : 'settled',
      previousWriter: A,
      api: [{ at: T0 + 1000, writer: apiWriter }],
      dns: dnsAt(dnsMs),
      probes: [],
    });

  it.each([
    ['DNS lag under the threshold', timeline(B, 2500), 'writer-changed', 'info', /No action needed/],
    ['DNS lag over the threshold', timeline(B, 4000), 'dns-lag', 'warning', /DNS named the new writer 3\.0 s after the API did/],
    ['DNS never followed', timeline(B, undefined), 'dns-lag', 'warning', /still names the old writer/],
    ['the writer never changed', timeline(A, undefined), 'writer-changed', 'info', /No action needed/],
  ] as const)('%s: %s (%s)', (_name, t, kind, severity, advice) => {
    // Prepare: the table row's timeline.
    // Act
    const n = failoverTransition(target, t, event('RDS-EVENT-0072'), new Date(T0 + 10_000));
    // Assess
    expect(n).toMatchObject({
      type: 'event',
      kind,
      severity,
      target: 'orders-db',
      key: 'orders-db/failover@2026-01-15T03:00:00.000Z',
      openedAt: '2026-01-15T03:00:00.000Z',
    });
    expect(n.finding?.advice).toMatch(advice);
  });
});
