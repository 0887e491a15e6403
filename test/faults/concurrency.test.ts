/**
 * Two invocations at once on the same state (an overlapping schedule, a manual `ipdrift check`
 * beside `watch`): both read the same version, each sees a different DNS answer, both save.
 * Nothing may be lost (both address changes end up in the state and the history) and the
 * duplicate notices stay within at-least-once (at most one per invocation, none afterwards).
 * Run against the memory store, the file store (two instances on one directory) and the
 * DynamoDB store (two instances on one table, conditional transactions through dynalite).
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCheck } from '../../src/core/check.ts';
import type { Config } from '../../src/core/config.ts';
import { VersionConflictError } from '../../src/core/ports.ts';
import type { Store } from '../../src/core/ports.ts';
import type { AlertTransition, ChangeRecord, TargetState } from '../../src/core/types.ts';
import { DynamoStore } from '../../src/adapters/aws/dynamo-store.ts';
import { FileStore } from '../../src/adapters/local/file-store.ts';
import { MemoryStore } from '../../src/adapters/local/memory-store.ts';
import { LabDnsServer } from '../../lab/dns-server.ts';
import { LabNode } from '../../lab/nodes.ts';
import { startLocalDynamo } from '../integration/aws-dynalite.ts';
import type { LocalDynamo } from '../integration/aws-dynalite.ts';
import {
  FAULT_BLOCKS,
  ManualClock,
  MS_PER_MINUTE,
  RecordingNotifier,
  T0,
  alertViolations,
  config,
  knownAddresses,
  labResolvers,
  loopbackAddress,
  stateViolations,
} from './harness.ts';

const BLOCK = FAULT_BLOCKS.concurrency;
const DNS_A = loopbackAddress(BLOCK, 1);
const DNS_B = loopbackAddress(BLOCK, 2);
const X = loopbackAddress(BLOCK, 11);
const Y = loopbackAddress(BLOCK, 12);
const Z = loopbackAddress(BLOCK, 13);
const HOST = 'svc.concurrency.elb.test';
const TARGET = 'svc';
const DNS_TIMEOUT_MS = 500;
const PROBE_TIMEOUT_MS = 500;
/** How long a rendezvous waits for the other party before letting its caller go alone. */
const RENDEZVOUS_TIMEOUT_MS = 5000;
/** Invocations racing; at-least-once allows one "opened" per invocation, no more. */
const INVOCATIONS = 2;
const SECOND_INVOCATION_LAG_MS = 1000;

/** A one-shot meeting point: resolves once `parties` callers arrived (or after a timeout). */
class Rendezvous {
  #arrived = 0;
  #release!: () => void;
  readonly #all = new Promise<void>((resolve) => (this.#release = resolve));
  constructor(readonly parties: number) {}
  arrive(): Promise<void> {
    if (++this.#arrived >= this.parties) this.#release();
    const timer = setTimeout(() => this.#release(), RENDEZVOUS_TIMEOUT_MS);
    return this.#all.finally(() => clearTimeout(timer));
  }
}

/**
 * One invocation's view of the shared store: its first load and its first save wait for the
 * other invocation's, so both read the same version and both try to save at the same moment.
 */
class RacingStore implements Store {
  #loads = 0;
  #saves = 0;
  conflicts = 0;
  constructor(
    private readonly inner: Store,
    private readonly loadGate: Rendezvous,
    private readonly saveGate: Rendezvous,
  ) {}
  async load(targets: readonly string[]) {
    const states = await this.inner.load(targets);
    if (this.#loads++ === 0) await this.loadGate.arrive();
    return states;
  }
  async save(state: TargetState, expectedVersion: number, changes: readonly ChangeRecord[]) {
    if (this.#saves++ === 0) await this.saveGate.arrive();
    try {
      await this.inner.save(state, expectedVersion, changes);
    } catch (err) {
      if (err instanceof VersionConflictError) this.conflicts++;
      throw err;
    }
  }
}

/** A store family: `open()` is one invocation's handle on the shared state. */
interface StoreKind {
  name: string;
  setUp(): Promise<{ open(clock: ManualClock): Store; tearDown(): Promise<void> }>;
}

let dynamo: LocalDynamo | undefined;
let tables = 0;

const KINDS: StoreKind[] = [
  {
    name: 'MemoryStore (one instance)',
    async setUp() {
      const shared = new MemoryStore();
      return { open: () => shared, tearDown: async () => undefined };
    },
  },
  {
    name: 'FileStore (two instances, one directory)',
    async setUp() {
      const dir = await mkdtemp(join(tmpdir(), 'ipdrift-faults-concurrency-'));
      return { open: () => new FileStore(dir), tearDown: () => rm(dir, { recursive: true, force: true }) };
    },
  },
  {
    name: 'DynamoStore (two instances, one table)',
    async setUp() {
      dynamo ??= await startLocalDynamo();
      const table = `ipdrift-faults-${++tables}`;
      await dynamo.createTable(table);
      const local = dynamo;
      return { open: (clock) => new DynamoStore(local.doc, table, { clock }), tearDown: async () => undefined };
    },
  },
];

describe('two invocations at once on the same state', () => {
  let dnsA: LabDnsServer;
  let dnsB: LabDnsServer;
  let nodes: Map<string, LabNode>;
  let cfg: Config;

  beforeAll(async () => {
    [dnsA, dnsB] = await Promise.all([LabDnsServer.start({ host: DNS_A }), LabDnsServer.start({ host: DNS_B })]);
    const first = await LabNode.start({ host: X });
    nodes = new Map([
      [X, first],
      [Y, await LabNode.start({ host: Y, port: first.port })],
      [Z, await LabNode.start({ host: Z, port: first.port })],
    ]);
    cfg = config({
      targets: [{ name: TARGET, type: 'elb', host: HOST, port: first.port, timeoutMs: PROBE_TIMEOUT_MS, probe: { protocol: 'http', path: '/health' } }],
    });
  });
  afterAll(async () => {
    await Promise.all([...nodes.values()].map((n) => n.stop()));
    await Promise.all([dnsA.stop(), dnsB.stop()]);
    await dynamo?.stop();
  });

  it.each(KINDS.map((k) => [k.name, k] as const))('%s: no lost update, duplicates within at-least-once', async (_name, kind) => {
    // Prepare: one earlier check saw X alone (healthy). Then X starts refusing, and the two
    // invocations resolve through different DNS servers: one sees X+Y, the other X+Z.
    const shared = await kind.setUp();
    try {
      const clockA = new ManualClock();
      const clockB = new ManualClock(T0 + SECOND_INVOCATION_LAG_MS);
      const notifierA = new RecordingNotifier();
      const notifierB = new RecordingNotifier();
      await nodes.get(X)!.setMode('serve');
      dnsA.setA(HOST, [X]);
      await runCheck(cfg, { store: shared.open(clockA), notifier: notifierA, clock: clockA, newResolver: labResolvers(dnsA.address, DNS_TIMEOUT_MS) });
      await nodes.get(X)!.setMode('refuse');
      dnsA.setA(HOST, [X, Y]);
      dnsB.setA(HOST, [X, Z]);
      clockA.advance(MS_PER_MINUTE);
      clockB.advance(MS_PER_MINUTE);
      const loadGate = new Rendezvous(INVOCATIONS);
      const saveGate = new Rendezvous(INVOCATIONS);
      const storeA = new RacingStore(shared.open(clockA), loadGate, saveGate);
      const storeB = new RacingStore(shared.open(clockB), loadGate, saveGate);

      // Act: both at once.
      const [reportA, reportB] = await Promise.all([
        runCheck(cfg, { store: storeA, notifier: notifierA, clock: clockA, newResolver: labResolvers(dnsA.address, DNS_TIMEOUT_MS) }),
        runCheck(cfg, { store: storeB, notifier: notifierB, clock: clockB, newResolver: labResolvers(dnsB.address, DNS_TIMEOUT_MS) }),
      ]);

      // Assess: a real race (one conflict), both saved, nothing lost.
      expect(storeA.conflicts + storeB.conflicts).toBe(1);
      expect([...reportA.errors, ...reportB.errors]).toEqual([]);
      const reader = shared.open(new ManualClock(T0 + 2 * MS_PER_MINUTE));
      const final = (await reader.load([TARGET])).get(TARGET)!;
      expect(stateViolations(final, TARGET)).toEqual([]);
      expect(final.version).toBe(3);
      expect(knownAddresses(final)).toEqual([X, Y, Z]);
      const history = (await reader.history!(TARGET, 50)).filter((c) => c.kind === 'address-set-changed');
      expect(history.flatMap((c) => c.added ?? []).sort()).toEqual([X, Y, Z]);

      // Notices: each invocation may have sent its own "opened" (at-least-once), never more.
      const delivered: AlertTransition[] = [...notifierA.delivered, ...notifierB.delivered];
      const opened = delivered.filter((t) => t.type === 'opened' && t.key === `${TARGET}/current-address-unhealthy`);
      expect(opened.length).toBeGreaterThanOrEqual(1);
      expect(opened.length).toBeLessThanOrEqual(INVOCATIONS);
      expect(final.alerts[`${TARGET}/current-address-unhealthy`]?.lastNotifiedAt).toBeDefined();

      // Act / Assess: the next (single) check sends no third "opened": the merged state knows it went out.
      const before = notifierA.delivered.length;
      clockA.advance(MS_PER_MINUTE);
      await runCheck(cfg, { store: shared.open(clockA), notifier: notifierA, clock: clockA, newResolver: labResolvers(dnsA.address, DNS_TIMEOUT_MS) });
      expect(notifierA.delivered.slice(before).filter((t) => t.type === 'opened')).toEqual([]);
      const after = (await shared.open(clockA).load([TARGET])).get(TARGET)!;
      expect(alertViolations([...notifierA.delivered, ...notifierB.delivered], [after], INVOCATIONS)).toEqual([]);
    } finally {
      await shared.tearDown();
    }
  });

  it('publish before save: a save that fails after delivery re-sends the notice next check (never loses it)', async () => {
    // Prepare: X refuses; the store refuses the first save (DynamoDB throttled).
    const inner = new MemoryStore();
    let failSaves = 1;
    const store: Store = {
      load: (t) => inner.load(t),
      save: async (s, v, c) => {
        if (failSaves-- > 0) throw new Error('ProvisionedThroughputExceededException (injected)');
        return inner.save(s, v, c);
      },
    };
    const clock = new ManualClock();
    const notifier = new RecordingNotifier();
    await nodes.get(X)!.setMode('refuse');
    dnsA.setA(HOST, [X]);
    const deps = { store, notifier, clock, newResolver: labResolvers(dnsA.address, DNS_TIMEOUT_MS) };
    // Act
    const first = await runCheck(cfg, deps);
    clock.advance(MS_PER_MINUTE);
    const second = await runCheck(cfg, deps);
    clock.advance(MS_PER_MINUTE);
    await runCheck(cfg, deps);
    // Assess: the first "opened" went out but was not recorded, so it went out again once; then never.
    expect(first.errors.some((e) => e.startsWith(`save ${TARGET}:`))).toBe(true);
    expect(second.errors).toEqual([]);
    expect(notifier.delivered.filter((t) => t.type === 'opened').map((t) => t.key)).toEqual([
      `${TARGET}/current-address-unhealthy`,
      `${TARGET}/current-address-unhealthy`,
    ]);
    expect(inner.states.get(TARGET)?.alerts[`${TARGET}/current-address-unhealthy`]?.lastNotifiedAt).toBeDefined();
  });

  it('leaves no temporary files behind in the file store directory', async () => {
    // Prepare
    const dir = await mkdtemp(join(tmpdir(), 'ipdrift-faults-tmpfiles-'));
    try {
      const clock = new ManualClock();
      dnsA.setA(HOST, [X, Y]);
      // Act: several overlapping invocations on one directory.
      await Promise.all(
        Array.from({ length: INVOCATIONS + 1 }, () =>
          runCheck(cfg, { store: new FileStore(dir), notifier: new RecordingNotifier(), clock, newResolver: labResolvers(dnsA.address, DNS_TIMEOUT_MS) }),
        ),
      );
      // Assess
      expect((await readdir(dir)).sort()).toEqual([`${TARGET}.json`]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
