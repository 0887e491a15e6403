/**
 * DNS faults injected for real by the lab DNS server (SERVFAIL, REFUSED, dropped queries,
 * truncation, NODATA, NXDOMAIN, 500-address answers) against whole checks: every check ends
 * within its deadline, a failed lookup is a `resolution-failed` finding with its code and never
 * an empty address set, and the address history survives the fault untouched.
 */
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCheck } from '../../src/core/check.ts';
import type { ElbTarget } from '../../src/core/config.ts';
import { MemoryStore } from '../../src/adapters/local/memory-store.ts';
import type { ResolutionErrorCode } from '../../src/core/types.ts';
import { LabDnsServer } from '../../lab/dns-server.ts';
import type { DnsFault } from '../../lab/dns-server.ts';
import { LabNode } from '../../lab/nodes.ts';
import {
  DEADLINE_GRACE_MS,
  FAULT_BLOCKS,
  ManualClock,
  MS_PER_MINUTE,
  RecordingNotifier,
  config,
  currentAddresses,
  labResolvers,
  loopbackAddress,
  stateViolations,
  targetReport,
} from './harness.ts';

const BLOCK = FAULT_BLOCKS.dns;
const DNS_HOST = loopbackAddress(BLOCK, 1);
const NODE_A = loopbackAddress(BLOCK, 11);
const NODE_B = loopbackAddress(BLOCK, 12);
/** Per-query DNS timeout of these checks (one try): a dropped query costs this much. */
const DNS_TIMEOUT_MS = 250;
const PROBE_TIMEOUT_MS = 300;
const DEADLINE_MS = 3000;
/** The big answers: 500 loopback addresses over two /24s where nothing listens. */
const BIG_ANSWER = 500;
const BIG_HALF = 250;
const ELB_ANSWER_CAP = 8;
/** Lookups unioned for a possibly capped answer (LIMITS.incompleteLookups) times the cap. */
const CAPPED_UNION_MAX = 3 * ELB_ANSWER_CAP;

type Fault = DnsFault | 'nodata' | 'nxdomain' | 'servfail-everywhere';

/** Each DNS fault and the code the check must report. */
const FAULTS: readonly [Fault, ResolutionErrorCode][] = [
  ['servfail', 'servfail'],
  ['refused', 'refused'],
  ['timeout', 'timeout'],
  ['nodata', 'nodata'],
  ['nxdomain', 'nxdomain'],
  ['servfail-everywhere', 'servfail'],
];

describe('DNS faults during a check', () => {
  let dns: LabDnsServer;
  let nodes: LabNode[];
  let port: number;

  beforeAll(async () => {
    dns = await LabDnsServer.start({ host: DNS_HOST });
    const a = await LabNode.start({ host: NODE_A });
    nodes = [a, await LabNode.start({ host: NODE_B, port: a.port })];
    port = a.port;
  });
  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.stop()));
    await dns.stop();
  });

  /** One ELB target on `host`, probed over HTTP on the nodes' port. */
  const elb = (name: string, host: string, extra: Partial<ElbTarget> = {}) =>
    config({ targets: [{ name, type: 'elb', host, port, timeoutMs: PROBE_TIMEOUT_MS, probe: { protocol: 'http', path: '/health' }, ...extra }] });

  /** Runs one check with the lab resolver, timing it from the outside too. */
  async function check(cfg: ReturnType<typeof elb>, store: MemoryStore, clock: ManualClock, notifier: RecordingNotifier) {
    clock.advance(MS_PER_MINUTE);
    const t0 = performance.now();
    const report = await runCheck(cfg, { store, notifier, clock, newResolver: labResolvers(dns.address, DNS_TIMEOUT_MS), deadlineMs: DEADLINE_MS });
    return { report, elapsedMs: performance.now() - t0 };
  }

  /** Injects `fault` for `name` (returns how to undo it). */
  function inject(fault: Fault, name: string): () => void {
    if (fault === 'nodata') {
      dns.setA(name, []);
      return () => dns.setA(name, [NODE_A, NODE_B]);
    }
    if (fault === 'nxdomain') {
      dns.remove(name);
      return () => dns.setA(name, [NODE_A, NODE_B]);
    }
    if (fault === 'servfail-everywhere') {
      dns.setFault('*', 'servfail');
      return () => dns.setFault('*', undefined);
    }
    dns.setFault(name, fault);
    return () => dns.setFault(name, undefined);
  }

  it.each([
    ['AAAA', 'servfail'],
    ['AAAA', 'timeout'],
    ['A', 'servfail'],
  ] as const)('half an answer: %s gets %s while the other family answers; that family keeps its history, no address change either way', async (type, fault) => {
    // Prepare: a name with one IPv4 and one IPv6 address, seen by one good check.
    const name = `half-${type}-${fault}.faults.elb.test`.toLowerCase();
    const v6 = '::1';
    dns.setA(name, [NODE_A]);
    dns.setAAAA(name, [v6]);
    const cfg = elb(`half-${type}-${fault}`, name);
    const store = new MemoryStore();
    const clock = new ManualClock();
    const notifier = new RecordingNotifier();
    await check(cfg, store, clock, notifier);
    const target = cfg.targets[0]!.name;

    // Act: one family fails for a check, then DNS heals.
    dns.setFault(name, fault, type);
    const during = await check(cfg, store, clock, notifier).finally(() => dns.setFault(name, undefined, type));
    const healed = await check(cfg, store, clock, notifier);

    // Assess: nothing retired, nothing re-added, no address-set-changed event in either check.
    for (const { report } of [during, healed]) {
      const t = targetReport(report, target);
      expect(t.current.sort()).toEqual([NODE_A, v6].sort());
      expect(t.retired).toEqual([]);
      expect(report.findings.map((f) => f.kind)).not.toContain('address-set-changed');
    }
    expect(targetReport(during.report, target).resolution).toMatchObject({ ok: true, failedFamilies: [type === 'A' ? 4 : 6] });
    expect(notifier.delivered.filter((t) => t.kind === 'address-set-changed')).toEqual([]);
  });

  it.each(FAULTS)('%s: resolution-failed (%s) within the deadline, history unchanged, never an empty set', async (fault, code) => {
    // Prepare: a healthy name with two addresses, saved by one good check.
    const name = `${fault}.faults.elb.test`;
    dns.setA(name, [NODE_A, NODE_B]);
    const cfg = elb(fault, name);
    const store = new MemoryStore();
    const clock = new ManualClock();
    const notifier = new RecordingNotifier();
    const first = await check(cfg, store, clock, notifier);
    expect(targetReport(first.report, fault).resolution?.ok).toBe(true);
    const before = structuredClone(store.states.get(fault)!);

    // Act: the fault, for one check.
    const undo = inject(fault, name);
    const { report, elapsedMs } = await check(cfg, store, clock, notifier).finally(undo);

    // Assess: bounded, typed failure, nothing forgotten, alert opened and delivered.
    expect(elapsedMs).toBeLessThan(DEADLINE_MS + DEADLINE_GRACE_MS);
    const t = targetReport(report, fault);
    expect(t.resolution).toMatchObject({ ok: false, code });
    expect(t.completed).toBe(true);
    expect(t.current).toEqual([NODE_A, NODE_B]);
    expect(t.retired).toEqual([]);
    expect(report.findings.map((f) => f.kind)).toEqual(['resolution-failed']);
    expect(report.findings[0]?.evidence).toMatchObject({ host: name, code });
    const after = store.states.get(fault)!;
    expect(currentAddresses(after)).toEqual(currentAddresses(before));
    expect(after.addresses.map((a) => [a.address, a.firstSeen, a.lastSeen])).toEqual(before.addresses.map((a) => [a.address, a.firstSeen, a.lastSeen]));
    expect(stateViolations(after, fault)).toEqual([]);
    expect(notifier.delivered.map((d) => `${d.type}:${d.kind}`)).toEqual(['opened:resolution-failed']);

    // Act / Assess: once DNS answers again, the alert resolves after resolveAfterChecks (2) and no address moved.
    const healed = [await check(cfg, store, clock, notifier), await check(cfg, store, clock, notifier)];
    expect(healed.flatMap((h) => h.report.findings.map((f) => f.kind))).toEqual([]);
    expect(notifier.delivered.map((d) => `${d.type}:${d.kind}`)).toEqual(['opened:resolution-failed', 'resolved:resolution-failed']);
    expect(currentAddresses(store.states.get(fault))).toEqual([NODE_A, NODE_B]);
  });

  it('truncate: the resolver retries over TCP and the answer is whole', async () => {
    // Prepare
    const name = 'truncate.faults.elb.test';
    dns.setA(name, [NODE_A, NODE_B]);
    dns.setFault(name, 'truncate');
    const store = new MemoryStore();
    // Act
    const { report, elapsedMs } = await check(elb('truncate', name), store, new ManualClock(), new RecordingNotifier()).finally(() =>
      dns.setFault(name, undefined),
    );
    // Assess
    expect(elapsedMs).toBeLessThan(DEADLINE_MS + DEADLINE_GRACE_MS);
    expect(targetReport(report, 'truncate').resolution).toMatchObject({ ok: true, complete: true });
    expect(targetReport(report, 'truncate').current).toEqual([NODE_A, NODE_B]);
    expect(report.findings).toEqual([]);
  });

  it(`${BIG_ANSWER} addresses from all.<name>: complete, every one kept and probed, within the deadline`, async () => {
    // Prepare: all.<name> lists 500 addresses; the plain name gives 8 at a time.
    const big = [
      ...Array.from({ length: BIG_HALF }, (_, i) => loopbackAddress(FAULT_BLOCKS.dnsBig1, i + 1)),
      ...Array.from({ length: BIG_HALF }, (_, i) => loopbackAddress(FAULT_BLOCKS.dnsBig2, i + 1)),
    ];
    dns.setA('all.big.faults.elb.test', big);
    dns.setA('big.faults.elb.test', big, undefined, { maxAnswers: ELB_ANSWER_CAP });
    const cfg = elb('big', 'big.faults.elb.test', { probe: { protocol: 'tcp', path: '/' } });
    const store = new MemoryStore();
    const clock = new ManualClock();
    const notifier = new RecordingNotifier();
    // Act
    const first = await check(cfg, store, clock, notifier);
    dns.setA('all.big.faults.elb.test', big.slice(0, BIG_HALF));
    const second = await check(cfg, store, clock, notifier);
    // Assess: nothing capped, nothing lost; nothing listens there, so every probe is refused.
    expect(first.elapsedMs).toBeLessThan(DEADLINE_MS + DEADLINE_GRACE_MS);
    const t1 = targetReport(first.report, 'big');
    expect(t1.resolution).toMatchObject({ ok: true, complete: true, queried: 'all.big.faults.elb.test' });
    expect(t1.current).toHaveLength(BIG_ANSWER);
    expect(t1.probes).toHaveLength(BIG_ANSWER);
    expect(t1.probes.every((p) => p.error?.code === 'refused')).toBe(true);
    expect(first.report.findings.find((f) => f.kind === 'current-address-unhealthy')?.summary).toContain(`${BIG_ANSWER} of ${BIG_ANSWER}`);
    expect(second.elapsedMs).toBeLessThan(DEADLINE_MS + DEADLINE_GRACE_MS);
    const t2 = targetReport(second.report, 'big');
    expect(t2.current).toHaveLength(BIG_HALF);
    expect(t2.retired).toHaveLength(BIG_HALF);
    expect(second.report.findings.map((f) => f.kind).sort()).toEqual(['address-set-changed', 'current-address-unhealthy', 'retired-address-dead']);
    expect(stateViolations(store.states.get('big')!, 'big')).toEqual([]);
  });

  it(`${BIG_ANSWER} addresses capped at ${ELB_ANSWER_CAP} per answer (no all.): incomplete, and one absence retires nothing`, async () => {
    // Prepare
    const many = Array.from({ length: BIG_HALF }, (_, i) => loopbackAddress(FAULT_BLOCKS.dnsBig1, i + 1));
    dns.setA('capped.faults.elb.test', [...many, ...many.map((a) => a.replace(`.${FAULT_BLOCKS.dnsBig1}.`, `.${FAULT_BLOCKS.dnsBig2}.`))], undefined, {
      maxAnswers: ELB_ANSWER_CAP,
    });
    const cfg = elb('capped', 'capped.faults.elb.test', { probe: { protocol: 'tcp', path: '/' } });
    const store = new MemoryStore();
    const clock = new ManualClock();
    const notifier = new RecordingNotifier();
    // Act
    const first = await check(cfg, store, clock, notifier);
    const second = await check(cfg, store, clock, notifier);
    // Assess: the union of 3 lookups, marked incomplete; the next answer's window differs but retires nothing yet.
    const t1 = targetReport(first.report, 'capped');
    expect(t1.resolution).toMatchObject({ ok: true, complete: false, queried: 'capped.faults.elb.test' });
    expect(t1.current.length).toBeGreaterThan(ELB_ANSWER_CAP);
    expect(t1.current.length).toBeLessThanOrEqual(CAPPED_UNION_MAX);
    const t2 = targetReport(second.report, 'capped');
    expect(t2.retired).toEqual([]);
    expect(second.elapsedMs).toBeLessThan(DEADLINE_MS + DEADLINE_GRACE_MS);
    const missing = store.states.get('capped')!.addresses.filter((a) => (a.missingChecks ?? 0) > 0);
    expect(missing.length).toBeGreaterThan(0);
  });

  it('a name whose server drops DNS over TCP fails alone: a 500-address answer over TCP in the same check stays whole', async () => {
    // Prepare: both names are too big (or made to look too big) for UDP, so both go over TCP at once.
    const big = Array.from({ length: BIG_ANSWER }, (_, i) => loopbackAddress(i < BIG_HALF ? FAULT_BLOCKS.dnsBig1 : FAULT_BLOCKS.dnsBig2, (i % BIG_HALF) + 1));
    dns.setA('all.isolated.faults.elb.test', big);
    // Read the plain name instead, and the check would see these two: wrong, not failed.
    dns.setA('isolated.faults.elb.test', [NODE_A, NODE_B]);
    dns.setA('drop.faults.elb.test', [NODE_A, NODE_B]);
    dns.setFault('drop.faults.elb.test', 'tcp-drop');
    dns.setFault('all.drop.faults.elb.test', 'tcp-drop');
    const probe = { protocol: 'tcp', path: '/' } as const;
    const cfg = config({
      targets: [
        { name: 'drop', type: 'elb', host: 'drop.faults.elb.test', port, timeoutMs: PROBE_TIMEOUT_MS, probe },
        { name: 'isolated', type: 'elb', host: 'isolated.faults.elb.test', port, timeoutMs: PROBE_TIMEOUT_MS, probe },
      ],
    });
    // Act
    const { report } = await check(cfg, new MemoryStore(), new ManualClock(), new RecordingNotifier()).finally(() => {
      dns.setFault('drop.faults.elb.test', undefined);
      dns.setFault('all.drop.faults.elb.test', undefined);
    });
    // Assess: the dropped name is the only failure; the other is complete, every address kept.
    expect(targetReport(report, 'drop').resolution).toMatchObject({ ok: false });
    expect(targetReport(report, 'isolated').resolution).toMatchObject({ ok: true, complete: true, queried: 'all.isolated.faults.elb.test' });
    expect(targetReport(report, 'isolated').current).toHaveLength(BIG_ANSWER);
    expect(report.findings.filter((f) => f.kind === 'resolution-failed').map((f) => f.target)).toEqual(['drop']);
  });
});
