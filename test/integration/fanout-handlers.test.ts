/**
 * The fan-out's two Lambda entries on their own: the scheduler's tick claim (DynamoDB on
 * dynalite), its split and its refusals; the worker's deadline cap, its skips and its logs.
 * Loopback lab in 127.0.60.100-127.0.60.120.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { LabDnsServer } from '../../lab/dns-server.ts';
import { LabNode } from '../../lab/nodes.ts';
import { DynamoTickClaims, MemoryTickClaims, TICK_CLAIM_SCHEMA, TickClaimError } from '../../src/adapters/aws/tick-claims.ts';
import {
  FanOutPayloadError,
  SCHEDULER_DEFAULTS,
  SchedulerEventError,
  SetupError,
  createSchedulerHandler,
  schedulerAwsDeps,
} from '../../src/lambda/scheduler.ts';
import type { SchedulerDeps, ShardTask } from '../../src/lambda/scheduler.ts';
import { WORKER_DEFAULTS, WorkerEventError, createWorkerHandler } from '../../src/lambda/worker.ts';
import { MONITOR_DEFAULTS } from '../../src/lambda/monitor.ts';
import type { MonitorDeps } from '../../src/lambda/monitor.ts';
import { ConfigError, parseConfig } from '../../src/core/config.ts';
import type { Config, ConfigInput } from '../../src/core/config.ts';
import type { EngineLogger } from '../../src/core/ports.ts';
import type { InterfaceChange, InterfaceNews } from '../../src/core/interface-change.ts';
import { eniDelete } from '../fixtures/events/eni-calls.ts';
import { MemoryStore } from '../../src/adapters/local/memory-store.ts';
import { startLocalDynamo } from './aws-dynalite.ts';
import type { LocalDynamo } from './aws-dynalite.ts';

const ADDR = { dns: '127.0.60.101', node: '127.0.60.111' } as const;
const TABLE = 'ipdrift-fanout';
const TIME = '2026-03-01T03:12:00Z';
const INTERVAL_MS = 60_000;
const REMAINING_MS = 55_000;
const MAX_NAME = 'x'.repeat(63);
const ROOT = join(import.meta.dirname, '../..');
const CHILD_TIMEOUT_MS = 60_000;
const run = promisify(execFile);

function recordingLogger() {
  const lines: Array<{ level: string; message: string; extra: Record<string, unknown> }> = [];
  const at = (level: string) => (message: string, extra?: Record<string, unknown>) => void lines.push({ level, message, extra: extra ?? {} });
  const logger: EngineLogger = { info: at('info'), warn: at('warn'), error: at('error') };
  return { lines, logger };
}

const elb = (name: string, host = `${name}.elb.test`, port = 80) => ({
  name,
  type: 'elb' as const,
  host,
  port,
  timeoutMs: 1000,
  probe: { protocol: 'http' as const, path: '/health' },
});
const configOf = (targets: ConfigInput['targets'], resolvers?: string[]): Config => parseConfig({ ...(resolvers ? { resolvers } : {}), targets });

describe('DynamoTickClaims', () => {
  let local: LocalDynamo;
  beforeAll(async () => {
    local = await startLocalDynamo();
    await local.createTable(TABLE);
  });
  afterAll(async () => {
    await local.stop();
  });

  it('gives a tick to the first execution, again to that one (a retried task), never to another', async () => {
    // Prepare
    const claims = new DynamoTickClaims(local.doc, TABLE, () => Date.parse(TIME));
    // Act
    const first = await claims.claim('event-1', TIME, 'exec-a');
    const retried = await claims.claim('event-1', TIME, 'exec-a');
    const duplicate = await claims.claim('event-1', TIME, 'exec-b');
    const next = await claims.claim('event-2', '2026-03-01T03:13:00Z', 'exec-b');
    // Assess
    expect([first, retried, duplicate, next]).toEqual([true, true, false, true]);
    const item = await local.doc.send(new GetCommand({ TableName: TABLE, Key: { pk: TICK_CLAIM_SCHEMA.partition, sk: `${TIME}#event-1` } }));
    expect(item.Item).toEqual({
      pk: 'fanout#tick',
      sk: `${TIME}#event-1`,
      execution: 'exec-a',
      claimedAt: '2026-03-01T03:12:00.000Z',
      expiresAt: Date.parse(TIME) / 1000 + TICK_CLAIM_SCHEMA.ttlSeconds,
    });
  });

  it('throws TickClaimError when DynamoDB fails otherwise', async () => {
    // Prepare
    const claims = new DynamoTickClaims(local.doc, 'no-such-table');
    // Act / Assess
    await expect(claims.claim('event-1', TIME, 'exec-a')).rejects.toBeInstanceOf(TickClaimError);
    await expect(claims.claim('event-1', TIME, 'exec-a')).rejects.toThrow(/could not claim tick event-1 in DynamoDB \(ResourceNotFoundException/);
  });
});

describe('scheduler', () => {
  const deps = (config: Config, over: Partial<SchedulerDeps> = {}): SchedulerDeps => ({
    loadConfig: async () => config,
    claims: new MemoryTickClaims(),
    shardSize: 2,
    intervalMs: INTERVAL_MS,
    ...over,
  });

  it('splits into shards of the shard size, each task with the tick and its deadline (next tick minus the guard)', async () => {
    // Prepare: 5 targets, shard size 2.
    const config = configOf(['a', 'b', 'c', 'd', 'e'].map((n) => elb(n)));
    const log = recordingLogger();
    // Act
    const result = await createSchedulerHandler(deps(config, { logger: log.logger }))({ id: 'event-1', time: TIME, execution: 'exec-a' });
    // Assess
    expect(result.duplicate).toBe(false);
    expect(result.targets).toBe(5);
    expect(result.shards.flatMap((s) => s.targets).sort()).toEqual(['a', 'b', 'c', 'd', 'e']);
    for (const s of result.shards) {
      expect(s.targets.length).toBeLessThanOrEqual(2);
      expect(s).toMatchObject({
        tick: 'event-1',
        time: TIME,
        deadlineAt: new Date(Date.parse(TIME) + INTERVAL_MS - SCHEDULER_DEFAULTS.tickGuardMs).toISOString(),
      });
    }
    expect(new Set(result.shards.map((s) => s.of)).size).toBe(1);
    expect(log.lines.find((l) => l.message === 'schedule')?.extra).toMatchObject({ tick: 'event-1', targets: 5, shards: result.shards.length });
  });

  it('records an ELB interface call once, for the execution it started, and hands its news to every shard', async () => {
    // Prepare: the execution's input as the interface rule builds it ({id, time, detail}).
    const config = configOf(['a', 'b', 'c'].map((n) => elb(n)));
    const calls: InterfaceChange[] = [];
    const news: InterfaceNews = { released: [{ address: '10.0.1.5', at: TIME, interfaceId: 'eni-0aaa' }], assigned: [] };
    const ledger = {
      record: async (c: InterfaceChange) => {
        calls.push(c);
        return news;
      },
    };
    const event = eniDelete({ interfaceId: 'eni-0aaa', at: TIME }) as { id: string; detail: unknown };
    // Act
    const result = await createSchedulerHandler(deps(config, { ledger }))({ id: event.id, time: TIME, detail: event.detail });
    const tick = await createSchedulerHandler(deps(config, { ledger }))({ id: 'tick-2', time: TIME });
    // Assess
    expect(calls).toEqual([{ call: 'DeleteNetworkInterface', interfaceId: 'eni-0aaa', at: TIME }]);
    expect(result.shards.length).toBe(2);
    for (const s of result.shards) expect(s.interfaces).toEqual(news);
    expect(tick.shards.every((s) => s.interfaces === undefined)).toBe(true);
  });

  it('runs a redelivered tick once: the second execution gets no shards', async () => {
    // Prepare
    const claims = new MemoryTickClaims();
    const handler = createSchedulerHandler(deps(configOf([elb('a')]), { claims }));
    // Act
    const first = await handler({ id: 'event-1', time: TIME, execution: 'exec-a' });
    const second = await handler({ id: 'event-1', time: TIME, execution: 'exec-b' });
    // Assess
    expect(first.shards).toHaveLength(1);
    expect(second).toEqual({ tick: 'event-1', duplicate: true, targets: 1, shards: [] });
  });

  it.each([
    ['no event', undefined],
    ['no id', { time: TIME }],
    ['a time that is no time', { id: 'e', time: 'soon' }],
  ])('refuses %s', async (_label, event) => {
    // Act / Assess
    await expect(createSchedulerHandler(deps(configOf([elb('a')])))(event as never)).rejects.toBeInstanceOf(SchedulerEventError);
  });

  it('refuses a shard list Step Functions could not carry, and claims nothing before the config loads', async () => {
    // Prepare: 4,000 targets of 63-character names.
    const big = configOf(Array.from({ length: 4000 }, (_, i) => elb(`${MAX_NAME.slice(0, 58)}${String(i).padStart(5, '0')}`, 'h.elb.test')));
    const claims = new MemoryTickClaims();
    // Act / Assess
    await expect(createSchedulerHandler(deps(big, { shardSize: 100 }))({ id: 'e', time: TIME })).rejects.toBeInstanceOf(FanOutPayloadError);
    const broken = createSchedulerHandler(deps(big, { claims, loadConfig: async () => Promise.reject(new ConfigError(['(root): no'], 'x')) }));
    await expect(broken({ id: 'e', time: TIME })).rejects.toBeInstanceOf(ConfigError);
    expect(claims.claims.size).toBe(0);
  });

  it('reads its settings from the environment and names what is missing', () => {
    // Act / Assess
    expect(() => schedulerAwsDeps({})).toThrow(SetupError);
    expect(() => schedulerAwsDeps({ IPDRIFT_TABLE: 't' })).toThrow(/IPDRIFT_CHECK_INTERVAL_SECONDS is not set/);
    expect(() => schedulerAwsDeps({ IPDRIFT_TABLE: 't', IPDRIFT_CHECK_INTERVAL_SECONDS: '60', IPDRIFT_SHARD_SIZE: 'ten' })).toThrow(
      /IPDRIFT_SHARD_SIZE: expected a positive whole number, got "ten"/,
    );
    expect(schedulerAwsDeps({ IPDRIFT_TABLE: 't', IPDRIFT_CHECK_INTERVAL_SECONDS: '120', IPDRIFT_SHARD_SIZE: '40' })).toMatchObject({
      shardSize: 40,
      intervalMs: 120_000,
    });
  });
});

describe('worker', () => {
  let dns: LabDnsServer;
  let node: LabNode;
  let config: Config;
  beforeAll(async () => {
    dns = await LabDnsServer.start({ host: ADDR.dns });
    node = await LabNode.start({ host: ADDR.node });
    for (const name of ['a', 'b', 'up']) {
      dns.setA(`${name}.elb.test`, [ADDR.node], 1);
      dns.setA(`all.${name}.elb.test`, [ADDR.node], 1);
    }
    config = configOf(
      [
        elb('a', 'a.elb.test', node.port),
        elb('b', 'b.elb.test', node.port),
        elb('up', 'up.elb.test', node.port),
        { name: 'web', type: 'web-tier', url: `http://${ADDR.node}:${node.port}/health`, upstream: 'up' },
      ],
      [dns.address],
    );
  });
  afterAll(async () => {
    await Promise.all([node?.stop(), dns?.stop()]);
  });

  const NOW = Date.parse(TIME);
  const task = (targets: string[], over: Partial<ShardTask> = {}): ShardTask => ({
    tick: 'event-1',
    time: TIME,
    deadlineAt: new Date(NOW + 30_000).toISOString(),
    shard: 1,
    of: 3,
    targets,
    ...over,
  });
  const context = { getRemainingTimeInMillis: () => REMAINING_MS, awsRequestId: 'req-1' };
  function setup() {
    const store = new MemoryStore();
    const log = recordingLogger();
    const deps: MonitorDeps = {
      store,
      notifier: { notify: async () => undefined },
      loadConfig: async () => config,
      clock: { now: () => new Date(NOW) },
      logger: log.logger,
    };
    return { store, log, handler: createWorkerHandler(deps, { now: () => NOW }) };
  }

  it("checks only its shard's targets, under the tick's deadline when that is the shorter, and tags its log lines", async () => {
    // Prepare: the tick ends in 30 s; Lambda would give 55 s.
    const { store, log, handler } = setup();
    // Act
    const summary = await handler(task(['b', 'up', 'web']), context);
    // Assess
    expect(summary).toMatchObject({ ok: true, tick: 'event-1', shard: 1, of: 3, targets: 3, targetsCompleted: 3 });
    expect(summary.skipped).toBeUndefined();
    // Less what the config load took (a few ms).
    expect(summary.deadlineMs).toBeGreaterThan(30_000 - MONITOR_DEFAULTS.safetyMarginMs - 500);
    expect(summary.deadlineMs).toBeLessThanOrEqual(30_000 - MONITOR_DEFAULTS.safetyMarginMs);
    expect([...store.states.keys()].sort()).toEqual(['b', 'up', 'web']);
    expect(log.lines.find((l) => l.message === 'check')?.extra).toMatchObject({ tick: 'event-1', shard: 1, of: 3, targets: 3 });
  });

  it("applies the scheduler's interface news to its shard's targets", async () => {
    // Prepare: a first check knows the address (loopback allowed here); then the ELB deletes the interface that held it.
    const store = new MemoryStore();
    const lab = configOf([elb('a', 'a.elb.test', node.port)], [dns.address]);
    const handler = createWorkerHandler(
      { store, notifier: { notify: async () => undefined }, loadConfig: async () => ({ ...lab, allowLoopback: true }), clock: { now: () => new Date(NOW) } },
      { now: () => NOW },
    );
    await handler(task(['a']), context);
    const interfaces: InterfaceNews = { released: [{ address: ADDR.node, at: TIME, interfaceId: 'eni-0aaa' }], assigned: [] };
    // Act
    const summary = await handler(task(['a'], { tick: 'event-2', interfaces }), context);
    // Assess
    expect(summary).toMatchObject({ ok: true, released: [ADDR.node] });
    expect(store.states.get('a')!.addresses).toEqual([expect.objectContaining({ address: ADDR.node, released: { at: TIME, interfaceId: 'eni-0aaa' } })]);
  });

  it('skips a tick it started too late for, touching nothing', async () => {
    // Prepare
    const { store, log, handler } = setup();
    // Act
    const summary = await handler(task(['a'], { deadlineAt: new Date(NOW + WORKER_DEFAULTS.minWindowMs - 1).toISOString() }), context);
    // Assess
    expect(summary).toMatchObject({ ok: true, skipped: 'late', targets: 1, targetsCompleted: 0 });
    expect(store.states.size).toBe(0);
    expect(log.lines.map((l) => `${l.level} ${l.message}`)).toEqual(['warn shard started too late for its tick: skipped, the next tick checks its targets']);
  });

  it('leaves out a web tier listed without its upstream (a config changed after the split), and names it', async () => {
    // Prepare
    const { store, log, handler } = setup();
    // Act
    const summary = await handler(task(['a', 'web', 'gone']), context);
    // Assess
    expect(summary).toMatchObject({ ok: true, targets: 1 });
    expect([...store.states.keys()]).toEqual(['a']);
    expect(log.lines.filter((l) => l.level !== 'info').map((l) => [l.message, l.extra])).toEqual([
      ['targets of the shard are not in the config (it changed since the split)', { tick: 'event-1', shard: 1, of: 3, missing: ['gone'] }],
      ['web tiers without their upstream in this shard: skipped this tick', { tick: 'event-1', shard: 1, of: 3, orphaned: ['web'] }],
    ]);
  });

  it('skips a shard none of whose targets is left', async () => {
    // Prepare
    const { store, handler } = setup();
    // Act
    const summary = await handler(task(['gone']), context);
    // Assess
    expect(summary).toMatchObject({ ok: true, skipped: 'empty', targets: 0 });
    expect(store.states.size).toBe(0);
  });

  it.each([
    ['no targets list', { targets: 'a' }],
    ['no deadline', { deadlineAt: 'later' }],
    ['no shard number', { shard: '1' }],
  ])('refuses a task with %s', async (_label, over) => {
    // Act / Assess
    await expect(setup().handler(task(['a'], over as never), context)).rejects.toBeInstanceOf(WorkerEventError);
  });
});

describe('the bundles', () => {
  let out: string;
  beforeAll(async () => {
    out = await mkdtemp(join(tmpdir(), 'ipdrift-fanout-bundle-'));
    await run(process.execPath, [join(ROOT, 'esbuild.config.mjs'), '--outdir', out], { cwd: ROOT, timeout: CHILD_TIMEOUT_MS });
  }, CHILD_TIMEOUT_MS);
  afterAll(async () => {
    await rm(out, { recursive: true, force: true });
  });

  it(
    'dist/scheduler.mjs and dist/worker.mjs load under plain node and fail an invocation, not the import, without their environment',
    async () => {
      // Prepare: import each bundle in a fresh node, call its handler with no environment.
      const script = `
      const [file, event] = process.argv.slice(1);
      const { handler } = await import(file);
      try { await handler(JSON.parse(event), { getRemainingTimeInMillis: () => 1000 }); console.log('no error'); }
      catch (err) { console.log(err.name + ': ' + err.message); }`;
      const invoke = (name: string, event: unknown) =>
        run(process.execPath, ['--input-type=module', '-e', script, pathToFileURL(join(out, `${name}.mjs`)).href, JSON.stringify(event)], {
          env: { PATH: process.env.PATH, AWS_REGION: 'us-east-1' },
          timeout: CHILD_TIMEOUT_MS,
        });
      // Act
      const scheduler = await invoke('scheduler', { id: 'e', time: TIME });
      const worker = await invoke('worker', {
        tick: 'e',
        time: TIME,
        deadlineAt: new Date(Date.now() + 30_000).toISOString(),
        shard: 0,
        of: 1,
        targets: ['a'],
      });
      // Assess
      expect(scheduler.stdout.trim()).toBe('SetupError: environment variable IPDRIFT_TABLE is not set');
      expect(worker.stdout.trim()).toBe('SetupError: environment variable IPDRIFT_TABLE is not set');
    },
    CHILD_TIMEOUT_MS,
  );
});
