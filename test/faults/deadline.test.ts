/**
 * The Lambda deadline hit mid-check: probes that would outlive it (swallowing listeners, a web
 * tier that never answers, DNS that never answers) are cut. The check returns within the
 * deadline plus grace, reports the cut targets with `completed: false`, and leaves their alerts
 * and address history as they were: a cut check resolves nothing and opens nothing on guesswork.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCheck } from '../../src/core/check.ts';
import type { CheckDeps } from '../../src/core/check.ts';
import type { Config } from '../../src/core/config.ts';
import { MemoryStore } from '../../src/adapters/local/memory-store.ts';
import { LabDnsServer } from '../../lab/dns-server.ts';
import { LabNode } from '../../lab/nodes.ts';
import type { NodeMode } from '../../lab/nodes.ts';
import { Loopback } from '../integration/probe-servers.ts';
import {
  DEADLINE_GRACE_MS,
  FAULT_BLOCKS,
  ManualClock,
  MS_PER_MINUTE,
  RecordingNotifier,
  config,
  labResolvers,
  loopbackAddress,
  stateViolations,
  targetReport,
} from './harness.ts';

const BLOCK = FAULT_BLOCKS.deadline;
const DNS_HOST = loopbackAddress(BLOCK, 1);
const CUT_NODES = [loopbackAddress(BLOCK, 11), loopbackAddress(BLOCK, 12)];
const FAST_NODE = loopbackAddress(BLOCK, 21);
const WEB_HOST = loopbackAddress(BLOCK, 31);
const SLOW_DNS_NODE = loopbackAddress(BLOCK, 41);
const DNS_TIMEOUT_MS = 500;
/** Probe timeouts far beyond the deadline: only the deadline can end these probes. */
const PROBE_TIMEOUT_MS = 5000;
/** The cut checks' deadline. */
const SHORT_DEADLINE_MS = 400;
/** A normal check's deadline. */
const NORMAL_DEADLINE_MS = 4000;
/** Time a check may spend publishing (metrics, notices) after its probes. */
const PUBLISH_BUDGET_MS = 300;
/** What a healthy check's lookups and probes take on loopback, at most (refused nodes answer at once). */
const PROBE_SLACK_MS = 500;

type WebMode = 'fail' | 'swallow' | 'ok';

describe('Lambda deadline hit mid-check', () => {
  const lo = new Loopback();
  let dns: LabDnsServer;
  let cutNodes: LabNode[];
  let fastNode: LabNode;
  /** A port on 127.0.0.1 (what `localhost` means) that answers 200. */
  let localPort: number;
  let webMode: WebMode = 'ok';
  let cfg: Config;

  beforeAll(async () => {
    dns = await LabDnsServer.start({ host: DNS_HOST });
    const first = await LabNode.start({ host: CUT_NODES[0]! });
    cutNodes = [first, await LabNode.start({ host: CUT_NODES[1]!, port: first.port })];
    fastNode = await LabNode.start({ host: FAST_NODE, port: first.port });
    localPort = await lo.http((_req: IncomingMessage, res: ServerResponse) => res.writeHead(200).end('ok'), '127.0.0.1');
    const webPort = await lo.http((_req: IncomingMessage, res: ServerResponse) => {
      if (webMode === 'swallow') return; // never answers; Loopback.close() ends it
      res.writeHead(webMode === 'ok' ? 200 : 500, { server: 'lab-web' }).end(webMode);
    }, WEB_HOST);
    dns.setA('cut.deadline.elb.test', CUT_NODES);
    dns.setA('fast.deadline.elb.test', [FAST_NODE]);
    cfg = config({
      targets: [
        {
          name: 'cut',
          type: 'elb',
          host: 'cut.deadline.elb.test',
          port: first.port,
          timeoutMs: PROBE_TIMEOUT_MS,
          probe: { protocol: 'http', path: '/health' },
        },
        {
          name: 'fast',
          type: 'elb',
          host: 'fast.deadline.elb.test',
          port: first.port,
          timeoutMs: PROBE_TIMEOUT_MS,
          probe: { protocol: 'http', path: '/health' },
        },
        { name: 'web', type: 'web-tier', url: `http://${WEB_HOST}:${webPort}/health`, upstream: 'fast', timeoutMs: PROBE_TIMEOUT_MS },
      ],
    });
  });
  afterAll(async () => {
    await lo.close();
    await Promise.all([...cutNodes, fastNode].map((n) => n.stop()));
    await dns.stop();
  });

  const setCut = (mode: NodeMode) => Promise.all(cutNodes.map((n) => n.setMode(mode)));

  it('cuts the stalled targets, keeps their alerts and history, and a later normal check carries on', async () => {
    // Prepare: one normal check with both "cut" nodes refusing and the web tier failing: two alerts open.
    const store = new MemoryStore();
    const clock = new ManualClock();
    const notifier = new RecordingNotifier();
    const deps = (extra: Partial<CheckDeps>): CheckDeps => ({ store, notifier, clock, newResolver: labResolvers(dns.address, DNS_TIMEOUT_MS), ...extra });
    const run = async (extra: Partial<CheckDeps>) => {
      clock.advance(MS_PER_MINUTE);
      const t0 = performance.now();
      const report = await runCheck(cfg, deps(extra));
      return { report, elapsedMs: performance.now() - t0 };
    };
    await setCut('refuse');
    webMode = 'fail';
    await run({ deadlineMs: NORMAL_DEADLINE_MS });
    expect(notifier.delivered.map((d) => `${d.type}:${d.key}`).sort()).toEqual([
      'opened:cut/current-address-unhealthy',
      'opened:web/current-address-unhealthy',
    ]);
    const before = structuredClone(Object.fromEntries(store.states));

    // Act: two checks cut by the deadline (the second by an outside abort, as at Lambda shutdown)
    // while the "cut" nodes and the web tier accept and never answer.
    await setCut('swallow');
    webMode = 'swallow';
    const cutByDeadline = await run({ deadlineMs: SHORT_DEADLINE_MS });
    const cutBySignal = await run({ deadlineMs: NORMAL_DEADLINE_MS, signal: AbortSignal.timeout(SHORT_DEADLINE_MS) });

    // Assess: in time, partial, nothing decided on the cut targets.
    for (const { report, elapsedMs } of [cutByDeadline, cutBySignal]) {
      expect(elapsedMs).toBeLessThan(SHORT_DEADLINE_MS + DEADLINE_GRACE_MS);
      expect(targetReport(report, 'cut').completed).toBe(false);
      expect(targetReport(report, 'web').completed).toBe(false);
      expect(targetReport(report, 'fast').completed).toBe(true);
      expect(targetReport(report, 'cut').probes.map((p) => p.error?.code)).toEqual(['aborted', 'aborted']);
      expect(targetReport(report, 'web').web?.error?.code).toBe('aborted');
      // An aborted probe says nothing about the address: no finding, no failure metric from it.
      expect(report.findings.filter((f) => f.target !== 'fast')).toEqual([]);
      expect(targetReport(report, 'cut').metrics.ProbeFailures).toBe(0);
      expect(report.transitions).toEqual([]);
    }
    for (const name of ['cut', 'web']) {
      const state = store.states.get(name)!;
      expect(stateViolations(state, name)).toEqual([]);
      expect(state.alerts).toEqual(before[name]!.alerts);
      // The lookup did answer (lastSeen moves on); the cut probes recorded nothing.
      const withoutLastSeen = (s: typeof state) => s.addresses.map(({ lastSeen: _l, ...rest }) => rest);
      expect(withoutLastSeen(state)).toEqual(withoutLastSeen(before[name]!));
    }
    expect(notifier.delivered).toHaveLength(2);

    // Act / Assess: back to normal; the alerts resolve after resolveAfterChecks (2) good checks, not before.
    await setCut('serve');
    webMode = 'ok';
    const good1 = await run({ deadlineMs: NORMAL_DEADLINE_MS });
    expect(good1.report.targets.every((t) => t.completed)).toBe(true);
    expect(good1.report.transitions).toEqual([]);
    const good2 = await run({ deadlineMs: NORMAL_DEADLINE_MS });
    expect(good2.report.transitions.map((t) => `${t.type}:${t.key}`).sort()).toEqual([
      'resolved:cut/current-address-unhealthy',
      'resolved:web/current-address-unhealthy',
    ]);
    expect(store.states.get('cut')!.alerts).toEqual({});
    expect(store.states.get('web')!.alerts).toEqual({});
  });

  it('a notifier and a metrics sink that hang: the check still saves within its publish budget, and the notice goes out next check', async () => {
    // Prepare: one "cut" node refuses (an alert to send); SNS and CloudWatch accept and never answer.
    await setCut('refuse');
    webMode = 'ok';
    let release: () => void = () => undefined;
    const never = new Promise<void>((resolve) => (release = resolve));
    const hanging = { notify: () => never, publishMetrics: () => never };
    const store = new MemoryStore();
    const clock = new ManualClock();
    const base = { store, clock, newResolver: labResolvers(dns.address, DNS_TIMEOUT_MS), deadlineMs: NORMAL_DEADLINE_MS, publishBudgetMs: PUBLISH_BUDGET_MS };
    try {
      // Act
      const t0 = performance.now();
      const stuck = await runCheck(cfg, { ...base, notifier: hanging, metrics: hanging });
      const elapsedMs = performance.now() - t0;
      clock.advance(MS_PER_MINUTE);
      const notifier = new RecordingNotifier();
      const next = await runCheck(cfg, { ...base, notifier });
      // Assess: bounded, saved, nothing marked as delivered; then delivered exactly once.
      expect(elapsedMs).toBeLessThan(PUBLISH_BUDGET_MS + DEADLINE_GRACE_MS + PROBE_SLACK_MS);
      expect(stuck.delivered).toBe(0);
      expect(stuck.undelivered).toBe(stuck.transitions.length);
      expect(stuck.errors.some((e) => e.startsWith('metrics: ') && e.includes('publish budget'))).toBe(true);
      expect(store.states.get('cut')?.version).toBe(2);
      expect(next.delivered).toBe(next.transitions.length);
      expect(notifier.delivered.filter((t) => t.type === 'opened').map((t) => t.key)).toEqual(['cut/current-address-unhealthy']);
    } finally {
      release();
    }
  });

  it('web-tier URL hosts resolve through the configured resolvers, cancellable: 8 tiers whose names never answer end by the deadline', async () => {
    // Prepare: 8 web tiers by name; the lab DNS knows the names (the system resolver does not).
    const names = Array.from({ length: 8 }, (_, i) => `web-${i}.deadline.web.test`);
    for (const n of names) dns.setA(n, [fastNode.host]);
    const tiers = config({
      resolvers: [dns.address],
      allowLoopback: true,
      targets: [
        { name: 'up', type: 'elb', host: 'up.deadline.elb.test', port: fastNode.port, timeoutMs: PROBE_TIMEOUT_MS, probe: { protocol: 'tcp', path: '/' } },
        ...names.map((n, i) => ({
          name: `web-${i}`,
          type: 'web-tier' as const,
          url: `http://${n}:${fastNode.port}/health`,
          upstream: 'up',
          timeoutMs: PROBE_TIMEOUT_MS,
        })),
      ],
    });
    dns.setA('up.deadline.elb.test', [fastNode.host]);
    const deps = { store: new MemoryStore(), notifier: new RecordingNotifier(), clock: new ManualClock() };
    // Act 1: the names answer: every tier is reached by name.
    const good = await runCheck(tiers, { ...deps, deadlineMs: NORMAL_DEADLINE_MS });
    // Act 2: every query about them is dropped; the deadline is shorter than one DNS try.
    for (const n of names) dns.setFault(n, 'timeout');
    const t0 = performance.now();
    const cut = await runCheck(tiers, { ...deps, deadlineMs: SHORT_DEADLINE_MS }).finally(() => {
      for (const n of names) dns.setFault(n, undefined);
    });
    const elapsedMs = performance.now() - t0;
    // Assess
    expect(names.map((_, i) => targetReport(good, `web-${i}`).web?.ok)).toEqual(names.map(() => true));
    expect(elapsedMs).toBeLessThan(SHORT_DEADLINE_MS + DEADLINE_GRACE_MS);
    expect(cut.durationMs).toBeLessThan(SHORT_DEADLINE_MS + DEADLINE_GRACE_MS);
    expect(names.map((_, i) => targetReport(cut, `web-${i}`).web?.error?.code)).toEqual(names.map(() => 'aborted'));
    expect(names.map((_, i) => targetReport(cut, `web-${i}`).completed)).toEqual(names.map(() => false));
  });

  it('a web tier at http://localhost:PORT is reached without DNS (the resolvers never read /etc/hosts)', async () => {
    const cfg = config({
      resolvers: [dns.address],
      targets: [
        { name: 'lh-up', type: 'elb', host: 'lh.deadline.elb.test', port: fastNode.port, timeoutMs: PROBE_TIMEOUT_MS, probe: { protocol: 'tcp', path: '/' } },
        { name: 'lh-web', type: 'web-tier', url: `http://localhost:${localPort}/health`, upstream: 'lh-up', timeoutMs: PROBE_TIMEOUT_MS },
      ],
    });
    dns.setA('lh.deadline.elb.test', [fastNode.host]);
    const report = await runCheck(cfg, {
      store: new MemoryStore(),
      notifier: new RecordingNotifier(),
      clock: new ManualClock(),
      deadlineMs: NORMAL_DEADLINE_MS,
    });
    expect(targetReport(report, 'lh-web').web).toMatchObject({ ok: true, status: 200 });
  });

  it('bounds DNS lookups too: a resolver that never answers cannot hold the check past its deadline', async () => {
    // Prepare: the default resolver settings (1.5 s per try, 2 tries) on the lab server; one good check first.
    dns.setA('slowdns.deadline.elb.test', [SLOW_DNS_NODE]);
    const slow = config({
      resolvers: [dns.address],
      allowLoopback: true,
      targets: [
        {
          name: 'slowdns',
          type: 'elb',
          host: 'slowdns.deadline.elb.test',
          port: fastNode.port,
          timeoutMs: PROBE_TIMEOUT_MS,
          probe: { protocol: 'tcp', path: '/' },
        },
      ],
    });
    const store = new MemoryStore();
    const clock = new ManualClock();
    const notifier = new RecordingNotifier();
    await runCheck(slow, { store, notifier, clock, deadlineMs: NORMAL_DEADLINE_MS });
    const before = structuredClone(store.states.get('slowdns')!);
    // Act: every query about the name is dropped; the deadline is shorter than one DNS try.
    dns.setFault('slowdns.deadline.elb.test', 'timeout');
    dns.setFault('all.slowdns.deadline.elb.test', 'timeout');
    clock.advance(MS_PER_MINUTE);
    const t0 = performance.now();
    const report = await runCheck(slow, { store, notifier, clock, deadlineMs: SHORT_DEADLINE_MS }).finally(() => {
      dns.setFault('slowdns.deadline.elb.test', undefined);
      dns.setFault('all.slowdns.deadline.elb.test', undefined);
    });
    const elapsedMs = performance.now() - t0;
    // Assess
    expect(elapsedMs).toBeLessThan(SHORT_DEADLINE_MS + DEADLINE_GRACE_MS);
    const t = targetReport(report, 'slowdns');
    expect(t.resolution).toMatchObject({ ok: false, code: 'timeout' });
    expect(t.completed).toBe(false);
    expect(report.transitions).toEqual([]);
    const after = store.states.get('slowdns')!;
    expect(after.addresses).toEqual(before.addresses);
    expect(after.alerts).toEqual(before.alerts);
  });
});
