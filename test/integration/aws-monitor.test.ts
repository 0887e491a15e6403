/**
 * The Lambda handler end to end: lab DNS + loopback ELB nodes + a stale web tier, DynamoDB on
 * dynalite, SNS and CloudWatch mocked. Then its failure modes: what throws (the monitor is
 * broken) and what does not (a target is down).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import { allCustomMatcher } from 'aws-sdk-client-mock-vitest';
import type {} from 'aws-sdk-client-mock-vitest/extend';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { LabDnsServer } from '../../lab/dns-server.ts';
import { LabNode } from '../../lab/nodes.ts';
import { LabWebTier } from '../../lab/web-tier.ts';
import type { WebTierOptions } from '../../lab/web-tier.ts';
import { CheckFailedError, DeliveryFailureError, SetupError, StoreFailureError, awsDeps, createHandler } from '../../src/lambda/monitor.ts';
import type { CheckSummary, MonitorDeps } from '../../src/lambda/monitor.ts';
import { DynamoStore } from '../../src/adapters/aws/dynamo-store.ts';
import { SnsNotifier } from '../../src/adapters/aws/sns-notifier.ts';
import { CloudWatchSink } from '../../src/adapters/aws/cloudwatch-sink.ts';
import { fileConfigLoader } from '../../src/adapters/aws/config-source.ts';
import { ConfigError, parseConfig } from '../../src/core/config.ts';
import { refreshSlot } from '../../src/core/save.ts';
import type { ConfigInput } from '../../src/core/config.ts';
import type { EngineLogger, Store } from '../../src/core/ports.ts';
import { MemoryStore } from '../../src/adapters/local/memory-store.ts';
import { startLocalDynamo } from './aws-dynalite.ts';
import type { LocalDynamo } from './aws-dynalite.ts';

expect.extend(allCustomMatcher);

// Addresses of this file: 127.0.62.0/24.
const ADDR = { dns: '127.0.62.1', old: ['127.0.62.11', '127.0.62.12'], new: ['127.0.62.21', '127.0.62.22'], stale: '127.0.62.31' } as const;
const ELB = 'internal-app-62.elb.test';
const TOPIC = 'arn:aws:sns:us-east-1:123456789012:oncall';
const EVENTS_TOPIC = 'arn:aws:sns:us-east-1:123456789012:events';
const TABLE = 'ipdrift-monitor';
const MINUTE_MS = 60_000;
const LAMBDA_REMAINING_MS = 60_000;
const TTL_SECONDS = 1;

/** A logger that keeps what it is given. */
function recordingLogger() {
  const lines: { level: string; message: string; extra?: Record<string, unknown> }[] = [];
  const at = (level: string) => (message: string, extra?: Record<string, unknown>) => void lines.push({ level, message, ...(extra ? { extra } : {}) });
  const logger: EngineLogger = { info: at('info'), warn: at('warn'), error: at('error') };
  return { lines, logger, checks: () => lines.filter((l) => l.message === 'check') };
}

const context = (remaining = LAMBDA_REMAINING_MS) => ({ getRemainingTimeInMillis: () => remaining, awsRequestId: 'req-1' });

describe('monitor handler', () => {
  const sns = mockClient(SNSClient);
  const cw = mockClient(CloudWatchClient);
  let dns: LabDnsServer;
  let nodes: LabNode[];
  let port: number;
  let local: LocalDynamo;
  let dir: string;

  beforeAll(async () => {
    dns = await LabDnsServer.start({ host: ADDR.dns });
    const first = await LabNode.start({ host: ADDR.old[0] });
    port = first.port;
    nodes = [first, ...(await Promise.all([ADDR.old[1], ...ADDR.new].map((host) => LabNode.start({ host, port }))))];
    local = await startLocalDynamo();
    await local.createTable(TABLE);
    dir = await mkdtemp(join(tmpdir(), 'ipdrift-monitor-'));
  });
  afterAll(async () => {
    await Promise.all([...nodes.map((n) => n.stop()), dns.stop(), local.stop(), rm(dir, { recursive: true, force: true })]);
  });
  beforeEach(() => {
    sns.reset();
    cw.reset();
    sns.on(PublishCommand).resolves({ MessageId: 'm' });
    cw.on(PutMetricDataCommand).resolves({});
    dns.setA(ELB, ADDR.old, TTL_SECONDS);
    dns.setA(`all.${ELB}`, ADDR.old, TTL_SECONDS);
  });

  const setElb = (addresses: readonly string[]) => {
    dns.setA(ELB, addresses, TTL_SECONDS);
    dns.setA(`all.${ELB}`, addresses, TTL_SECONDS);
  };
  // openAfterChecks 1: these tests are about the handler and its delivery, not the warning debounce.
  const elbTarget = {
    name: 'app-alb',
    type: 'elb',
    host: ELB,
    port: 0,
    timeoutMs: 500,
    openAfterChecks: 1,
    probe: { protocol: 'http', path: '/health' },
  } as const;
  const published = () =>
    sns.commandCalls(PublishCommand).map((c) => {
      const a = c.args[0].input.MessageAttributes!;
      return `${a.transition!.StringValue} ${a.target!.StringValue} ${a.kind!.StringValue}`;
    });

  async function configFile(name: string, config: ConfigInput): Promise<string> {
    const path = join(dir, name);
    await writeFile(path, JSON.stringify(config));
    return path;
  }

  it('end to end: an ELB address change and a stale web tier, notified once each, then resolved', async () => {
    // Prepare: the stale tier resolves the ELB name once (like httpd <= 2.4.58) and keeps it.
    const tierOptions: WebTierOptions = {
      host: ADDR.stale,
      port: 0,
      upstreamHost: ELB,
      upstreamPort: port,
      resolver: dns.address,
      mode: 'stale',
      upstreamTimeoutMs: 1000,
    };
    let tier = await LabWebTier.start(tierOptions);
    await configFile('e2e.json', {
      resolvers: [dns.address],
      allowLoopback: true,
      targets: [
        { ...elbTarget, port },
        { name: 'web', type: 'web-tier', url: `${tier.url}/health`, upstream: 'app-alb', echo: { path: '/whoami' }, timeoutMs: 1500 },
      ],
    });
    let minute = 0;
    // Quiet targets refresh once per 5-minute slot, shifted per name (core/save.ts): start where
    // app-alb's slot turns between the baseline (minute 1) and the change (minute 2), so no
    // refresh falls on the checks after the change.
    let base = Date.UTC(2026, 2, 1);
    while (refreshSlot('app-alb', base + 2 * MINUTE_MS) === refreshSlot('app-alb', base + MINUTE_MS)) base += MINUTE_MS;
    const clock = { now: () => new Date(base + minute * MINUTE_MS) };
    const log = recordingLogger();
    // The store's clock hides expired history: it must be the check's clock.
    const store = new DynamoStore(local.doc, TABLE, { clock });
    const handler = createHandler({
      store,
      notifier: new SnsNotifier(new SNSClient({ region: 'us-east-1' }), { onCall: TOPIC, events: EVENTS_TOPIC }),
      metrics: new CloudWatchSink(new CloudWatchClient({ region: 'us-east-1' })),
      loadConfig: fileConfigLoader('e2e.json', dir),
      clock,
      logger: log.logger,
    });
    const invoke = async () => {
      minute++;
      return handler({ 'detail-type': 'Scheduled Event' }, context());
    };
    try {
      // Act
      const baseline = await invoke();
      const afterBaseline = published();
      setElb(ADDR.new); // the ELB's nodes were replaced; the old ones still answer for now
      const changed = await invoke();
      const afterChange = published();
      // A minute later the record's TTL has run out for every cache: the tier still reaches the
      // draining old nodes: at risk, told to the events topic.
      const again = await invoke();
      const afterAgain = published();
      // The old nodes go (refuse): the stale tier answers 502, users fail: the page.
      await Promise.all(nodes.slice(0, 2).map((n) => n.setMode('refuse')));
      const gone = await invoke();
      const afterGone = published();
      const tierPort = tier.port; // read before stop(): a stopped tier no longer knows its port
      await tier.stop(); // on-call restarts the web tier: it resolves the name afresh
      tier = await LabWebTier.start({ ...tierOptions, port: tierPort });
      const restarted = await invoke();
      const settled = await invoke();
      // Assess
      expect(afterBaseline).toEqual([]);
      expect(baseline).toMatchObject({ ok: true, targets: 2, targetsCompleted: 2, findings: 0, transitions: 0 });
      // Inside the TTL a cache may still hold the old answer: the change is news, the tier is not judged yet.
      expect(afterChange).toEqual(['event app-alb address-set-changed']);
      expect(changed).toMatchObject({ ok: true, delivered: 1, undelivered: 0, transitionsByType: { event: 1 } });
      expect(changed.findingsByKind).toMatchObject({ 'address-set-changed': 1, 'retired-address-answering': 1 });
      expect(changed.findingsByKind['stale-address-confirmed']).toBeUndefined();
      expect(afterAgain).toEqual([...afterChange, 'opened web stale-address-at-risk']);
      expect(again).toMatchObject({ ok: true, delivered: 1, transitionsByType: { opened: 1 } });
      const topicOf = (kind: string) =>
        sns.commandCalls(PublishCommand).find((c) => c.args[0].input.MessageAttributes!.kind!.StringValue === kind)!.args[0].input;
      expect(topicOf('stale-address-at-risk').TopicArn).toBe(EVENTS_TOPIC);
      expect(afterGone).toEqual([...afterAgain, 'opened web stale-address-suspected']);
      expect(gone).toMatchObject({ ok: true, delivered: 1, transitionsByType: { opened: 1 } });
      expect(restarted).toMatchObject({ ok: true, transitions: 0 });
      expect(settled).toMatchObject({ ok: true, transitionsByType: { resolved: 1 } });
      expect(published()).toEqual([...afterGone, 'resolved web stale-address-suspected']);
      const staleNotice = topicOf('stale-address-suspected');
      expect(staleNotice.TopicArn).toBe(TOPIC);
      expect(staleNotice.Subject).toMatch(/^\[CRITICAL\] web: stale address suspected/);
      expect(staleNotice.Message).toContain('addressttl=');
      // One structured line per invocation, with the figures.
      expect(log.checks()).toHaveLength(6);
      expect(log.checks().every((l) => l.level === 'info' && l.extra?.requestId === 'req-1' && typeof l.extra?.checkMs === 'number')).toBe(true);
      // The remaining time less the margin and what the config load already took (a few ms).
      expect(log.checks()[0]!.extra!.deadlineMs).toBeGreaterThan(LAMBDA_REMAINING_MS - 5_000 - 500);
      expect(log.checks()[0]!.extra!.deadlineMs).toBeLessThanOrEqual(LAMBDA_REMAINING_MS - 5_000);
      // State and history in DynamoDB.
      const saved = (await new DynamoStore(local.doc, TABLE).load(['app-alb', 'web'])) as Map<string, { version: number; alerts: object }>;
      // The ELB's state is written when something material changed (its first addresses, the
      // change, the old nodes going silent), not on the other checks: no DynamoDB write for a quiet target.
      expect(saved.get('app-alb')).toMatchObject({ version: 3, alerts: {} });
      // The tier: every check but the second (the ELB's change, inside the TTL) changed its alerts.
      expect(saved.get('web')).toMatchObject({ version: 5, alerts: {} });
      // Newest first: the old nodes going silent, the event notice that went out, the change, the first sighting.
      expect((await store.history('app-alb', 10)).map((c) => c.kind)).toEqual([
        'retired-address-dead',
        'alert-event',
        'address-set-changed',
        'address-set-changed',
      ]);
      expect((await store.history('web', 10)).map((c) => `${c.kind} ${c.audience ?? ''}`)).toEqual(
        expect.arrayContaining(['alert-opened events', 'alert-opened on-call', 'alert-resolved on-call']),
      );
      expect(cw).toHaveReceivedCommandTimes(PutMetricDataCommand, 6);
    } finally {
      await Promise.all(nodes.map((n) => n.setMode('serve')));
      await tier.stop();
    }
  });

  /** Local adapters around one ELB target; `over` replaces any of them. */
  function localDeps(over: Partial<MonitorDeps> = {}) {
    const log = recordingLogger();
    const config = parseConfig({ resolvers: [dns.address], allowLoopback: true, targets: [{ ...elbTarget, port }] });
    const notices: string[] = [];
    const deps: MonitorDeps = {
      store: new MemoryStore(),
      notifier: { notify: async (t) => void notices.push(`${t.type} ${t.kind}`) },
      loadConfig: async () => config,
      logger: log.logger,
      ...over,
    };
    return { deps, log, notices };
  }

  it("builds the flow and resolver sources for the config's CloudWatch log groups: the cache census reads both", async () => {
    // Prepare
    const groups: string[] = [];
    const reads: string[] = [];
    const config = parseConfig({
      resolvers: [dns.address],
      allowLoopback: true,
      flowLogs: { source: 'cloudwatch', logGroup: '/vpc/flow', ignoreSources: ['10.0.8.0/24'] },
      resolverLogs: { source: 'cloudwatch', logGroup: '/route53/resolver' },
      targets: [{ ...elbTarget, port }],
    });
    const { deps } = localDeps({
      loadConfig: async () => config,
      flowSourceFor: (g) => {
        groups.push(g);
        return {
          read: async () => {
            reads.push('flow');
            return { records: [], rows: 0 };
          },
        };
      },
      resolverSourceFor: (g) => {
        groups.push(g);
        return {
          read: async () => {
            reads.push('resolver');
            return { askers: [], rows: 0 };
          },
        };
      },
    });
    // Act
    const summary = await createHandler(deps)({}, context());
    // Assess
    expect(groups).toEqual(['/vpc/flow', '/route53/resolver']);
    expect(reads.sort()).toEqual(['flow', 'resolver']);
    expect(summary).toMatchObject({ ok: true, census: { elbs: 1, caching: 0 } });
  });

  it('takes the deadline from the remaining time minus the safety margin, never under 1 s', async () => {
    // Prepare
    const { deps, log } = localDeps();
    const handler = createHandler(deps);
    // Act
    const roomy = await handler({}, context(30_000));
    const tight = await handler({}, context(2_000));
    // Assess
    expect(roomy.deadlineMs).toBeGreaterThan(25_000 - 500);
    expect(roomy.deadlineMs).toBeLessThanOrEqual(25_000);
    expect(tight.deadlineMs).toBe(1_000);
    expect(log.checks().map((l) => l.extra!.remainingMsAtStart)).toEqual([30_000, 2_000]);
  });

  it('does not throw when a target is down: that is a finding', async () => {
    // Prepare: every node refuses.
    await Promise.all(nodes.slice(0, 2).map((n) => n.setMode('refuse')));
    const { deps, notices } = localDeps();
    try {
      // Act
      const summary: CheckSummary = await createHandler(deps)({}, context());
      // Assess
      expect(summary).toMatchObject({ ok: true, findingsByKind: { 'current-address-unhealthy': 1 } });
      expect(notices).toEqual(['opened current-address-unhealthy']);
    } finally {
      await Promise.all(nodes.slice(0, 2).map((n) => n.setMode('serve')));
    }
  });

  it('throws the ConfigError for a bad configuration, after logging why', async () => {
    // Prepare
    const path = await configFile('bad.json', { targets: [{ ...elbTarget, port: 70_000 }] } as unknown as ConfigInput);
    const { deps, log } = localDeps({ loadConfig: fileConfigLoader(path, dir) });
    // Act
    const run = createHandler(deps)({}, context());
    // Assess
    await expect(run).rejects.toBeInstanceOf(ConfigError);
    await expect(run).rejects.toThrow('targets[0].port: expected a port number 1-65535');
    expect(log.checks()).toEqual([
      expect.objectContaining({ level: 'error', extra: expect.objectContaining({ ok: false, errors: [expect.stringContaining('targets[0].port')] }) }),
    ]);
  });

  it('throws when the store cannot be read (the monitor is broken)', async () => {
    // Prepare
    const outage = new Error('connect ECONNREFUSED dynamodb');
    const broken: Store = { load: async () => Promise.reject(outage), save: async () => undefined };
    const { deps, log } = localDeps({ store: broken });
    // Act
    const run = createHandler(deps)({}, context());
    // Assess
    await expect(run).rejects.toBeInstanceOf(CheckFailedError);
    await expect(run).rejects.toMatchObject({ stage: 'check', cause: outage });
    expect(log.checks()[0]).toMatchObject({ level: 'error', extra: { errors: ['check: Error: connect ECONNREFUSED dynamodb'] } });
  });

  it('throws after the check when state could not be saved, but not for a version conflict', async () => {
    // Prepare
    const memory = new MemoryStore();
    const failing: Store = { load: (t) => memory.load(t), save: async () => Promise.reject(new Error('ProvisionedThroughputExceededException')) };
    const { deps, log, notices } = localDeps({ store: failing });
    // Act
    const run = createHandler(deps)({}, context());
    // Assess
    await expect(run).rejects.toBeInstanceOf(StoreFailureError);
    await expect(run).rejects.toMatchObject({ targets: ['app-alb'] });
    expect(log.checks()[0]).toMatchObject({ level: 'error', extra: { saveFailures: 1, targets: 1 } });
    expect(notices).toEqual([]);
  });

  it('throws after the check when a notice was not delivered (it is re-sent next time)', async () => {
    // Prepare: the target is down, so there is something to say, and SNS refuses.
    await nodes[0]!.setMode('refuse');
    const { deps, log } = localDeps({ notifier: new SnsNotifier(new SNSClient({ region: 'us-east-1' }), { onCall: TOPIC, events: EVENTS_TOPIC }) });
    sns.on(PublishCommand).rejects(new Error('KMS key disabled'));
    try {
      // Act
      const run = createHandler(deps)({}, context());
      // Assess
      await expect(run).rejects.toBeInstanceOf(DeliveryFailureError);
      expect(log.checks()[0]).toMatchObject({ level: 'error', extra: { undelivered: 1, delivered: 0 } });
      expect(log.lines.some((l) => l.message.startsWith('notification failed'))).toBe(true);
    } finally {
      await nodes[0]!.setMode('serve');
    }
  });

  it('reports a missing environment variable as SetupError, and recovers once it is set', async () => {
    // Prepare
    const env: NodeJS.ProcessEnv = {};
    const { deps, log } = localDeps();
    const handler = createHandler(() => ({ ...awsDeps(env), ...deps }), { logger: log.logger });
    // Act
    const first = handler({}, context());
    await expect(first).rejects.toBeInstanceOf(SetupError);
    await expect(first).rejects.toThrow('IPDRIFT_TABLE');
    expect(log.checks()[0]).toMatchObject({ level: 'error', extra: { errors: ['config: SetupError: environment variable IPDRIFT_TABLE is not set'] } });
    Object.assign(env, { IPDRIFT_TABLE: TABLE, IPDRIFT_TOPIC_ARN: TOPIC, IPDRIFT_EVENTS_TOPIC_ARN: EVENTS_TOPIC });
    // Assess
    await expect(handler({}, context())).resolves.toMatchObject({ ok: true });
  });
});
