/**
 * Fan-out against the lab at 1,000 targets: the same two checks run once by the single-function
 * handler (src/lambda/monitor.ts) and once fanned out (src/lambda/scheduler.ts splits, one
 * src/lambda/worker.ts per shard, all shards at once as the Map state runs them). Both must find
 * the same things, notify the same transitions once each, publish the same metrics and leave
 * the same state. Many names point at a few shared loopback listeners (127.0.60.0/24).
 */
import type { Resolver } from 'node:dns/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LabDnsServer } from '../../lab/dns-server.ts';
import { LabNode } from '../../lab/nodes.ts';
import { LabWebTier } from '../../lab/web-tier.ts';
import { createHandler } from '../../src/lambda/monitor.ts';
import type { MonitorDeps } from '../../src/lambda/monitor.ts';
import { createSchedulerHandler } from '../../src/lambda/scheduler.ts';
import type { SchedulerResult } from '../../src/lambda/scheduler.ts';
import { createWorkerHandler } from '../../src/lambda/worker.ts';
import type { WorkerSummary } from '../../src/lambda/worker.ts';
import { MemoryTickClaims } from '../../src/adapters/aws/tick-claims.ts';
import { parseConfig } from '../../src/core/config.ts';
import type { Config, ConfigInput } from '../../src/core/config.ts';
import type { EngineLogger } from '../../src/core/ports.ts';
import type { CheckReport } from '../../src/core/report.ts';
import type { AlertTransition } from '../../src/core/types.ts';
import { MemoryStore } from '../../src/adapters/local/memory-store.ts';
import { createResolver } from '../../src/core/resolve.ts';

// Addresses of this file: 127.0.60.0/24.
const ADDR = {
  /** Eight copies of the zone: see DNS_SERVERS. */
  dns: ['127.0.60.1', '127.0.60.2', '127.0.60.3', '127.0.60.4', '127.0.60.5', '127.0.60.6', '127.0.60.7', '127.0.60.8'],
  serving: ['127.0.60.11', '127.0.60.12', '127.0.60.13', '127.0.60.14'],
  /** Nothing listens here: connections are refused (a released address). */
  refused: '127.0.60.30',
  staleTiers: ['127.0.60.51', '127.0.60.52'],
  freshTiers: ['127.0.60.61', '127.0.60.62'],
} as const;
const ZONE = 'elb.fanout.test';
const TARGETS = 1000;
const SHARD_SIZE = 100;
/** The config default: under this test's load a healthy answer may take a second. */
const PROBE_TIMEOUT_MS = 2000;
/**
 * A web tier's time for its upstream, and ours for the tier: generous, as 2,000 probes start at
 * once in this one process and a slow event loop must not pass for a stalled tier.
 */
const TIER_TIMEOUT_MS = 4000;
const ELB_TTL_SECONDS = 1;
/** The fresh tiers look the name up again on every request. */
const UPSTREAM_TTL_SECONDS = 0;
const MINUTE_MS = 60_000;
/** Six checks of 1,000 targets; the test asserts it took under 30 s, and fails rather than hangs past this. */
const TEST_TIMEOUT_MS = 60_000;
const INTERVAL_MS = 60_000;
const LAMBDA_REMAINING_MS = 60_000;
/** Figures that depend on timing, not on what was found. */
const TIMING_METRICS = new Set(['WebLatencyMs']);

const silent: EngineLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };
const context = (id: string) => ({ getRemainingTimeInMillis: () => LAMBDA_REMAINING_MS, awsRequestId: id });

/** What one way of running the checks produced. */
interface Run {
  store: MemoryStore;
  reports: CheckReport[];
  notices: AlertTransition[];
  deps: (config: Config) => MonitorDeps;
}

function newRun(clock: { now: () => Date }, newResolver: () => Resolver): Run {
  const run: Run = {
    store: new MemoryStore(),
    reports: [],
    notices: [],
    deps: (config) => ({
      store: run.store,
      notifier: { notify: async (t) => void run.notices.push(t) },
      // The metrics sink sees the whole report, findings included; the handler has applied the config's metric set.
      metrics: { publishMetrics: async (r) => void run.reports.push(structuredClone(r)) },
      loadConfig: async () => config,
      clock,
      logger: silent,
      check: { newResolver },
    }),
  };
  return run;
}

/** Findings of a run's reports, from the `from`-th report on, as sorted comparable lines. */
const findingLines = (reports: readonly CheckReport[]) =>
  reports.flatMap((r) => r.findings.map((f) => `${f.target} ${f.kind} ${f.severity} ${f.summary}`)).sort();
const transitionLines = (items: readonly AlertTransition[]) => items.map((t) => `${t.type} ${t.target} ${t.kind}`).sort();
const metricLines = (reports: readonly CheckReport[]) =>
  reports
    .flatMap((r) =>
      r.targets.flatMap((t) =>
        Object.entries(t.metrics)
          .filter(([m]) => !TIMING_METRICS.has(m))
          .map(([m, v]) => `${t.target} ${m}=${v}`),
      ),
    )
    .sort();

describe('fan-out at 1,000 targets against the lab', () => {
  /**
   * The lab's DNS servers run in this process, whose event loop is busy opening 2,000 probe
   * connections: one UDP socket would overflow its receive buffer under 1,000 simultaneous
   * lookups and drop some, so each check's lookups go round-robin to eight identical servers.
   */
  let dns: LabDnsServer[];
  let nextServer = 0;
  const newResolver = () => createResolver({ resolvers: [dns[nextServer++ % dns.length]!.address] });
  let parts: Array<{ stop(): Promise<void> }>;
  let config: Config;
  let port: number;
  /** Names whose answers change between the two checks, with the second answer. */
  const changes: Array<[string, string[]]> = [];

  beforeAll(async () => {
    dns = await Promise.all(ADDR.dns.map((host) => LabDnsServer.start({ host })));
    const first = await LabNode.start({ host: ADDR.serving[0] });
    port = first.port;
    const nodes = [first, ...(await Promise.all(ADDR.serving.slice(1).map((host) => LabNode.start({ host, port }))))];
    const set = (name: string, addresses: readonly string[], ttl = ELB_TTL_SECONDS) => {
      for (const server of dns) {
        server.setA(name, addresses, ttl);
        server.setA(`all.${name}`, addresses, ttl);
      }
    };

    // Four web tiers, each in front of its own ELB name: two resolved once (stale), two fresh.
    const targets: ConfigInput['targets'] = [];
    const tiers: LabWebTier[] = [];
    const tierHosts = [...ADDR.staleTiers, ...ADDR.freshTiers];
    for (const [k, host] of tierHosts.entries()) {
      const upstream = `web-up-${k}.${ZONE}`;
      set(upstream, [ADDR.serving[0]], UPSTREAM_TTL_SECONDS);
      changes.push([upstream, [ADDR.serving[2]]]);
      const tier = await LabWebTier.start({
        host,
        upstreamHost: upstream,
        upstreamPort: port,
        resolver: dns[k % dns.length]!.address,
        mode: k < ADDR.staleTiers.length ? 'stale' : 'fresh',
        upstreamTimeoutMs: TIER_TIMEOUT_MS,
      });
      tiers.push(tier);
      targets.push({ name: `up-${k}`, type: 'elb', host: upstream, port, timeoutMs: PROBE_TIMEOUT_MS, probe: { protocol: 'http', path: '/health' } });
      targets.push({
        name: `web-${k}`,
        type: 'web-tier',
        url: `${tier.url}/health`,
        upstream: `up-${k}`,
        echo: { path: '/whoami' },
        timeoutMs: TIER_TIMEOUT_MS + PROBE_TIMEOUT_MS,
      });
    }
    // The rest: ELB names over the shared listeners, a few of each kind of trouble.
    const [a, b, c, d] = ADDR.serving;
    for (let i = 0; targets.length < TARGETS; i++) {
      const host = `lb-${String(i).padStart(4, '0')}.${ZONE}`;
      if (i % 50 === 0)
        for (const server of dns) server.setFault(host, 'servfail'); // resolution-failed, every check
      else if (i % 50 === 1) {
        set(host, [a!, ADDR.refused]); // unhealthy, then retired and dead
        changes.push([host, [a!]]);
      } else if (i % 50 === 2) {
        set(host, [a!, b!]); // replaced by two new nodes; the old ones still answer
        changes.push([host, [c!, d!]]);
      } else set(host, [i % 2 === 0 ? a! : b!]); // steady, one node
      targets.push({
        name: `lb-${String(i).padStart(4, '0')}`,
        type: 'elb',
        host,
        port,
        timeoutMs: PROBE_TIMEOUT_MS,
        // The fan-out must notify what one big check does, from the first check on.
        openAfterChecks: 1,
        probe: { protocol: 'http', path: '/health' },
      });
    }
    config = parseConfig({ allowLoopback: true, targets });
    parts = [...tiers, ...nodes, ...dns];
  });

  afterAll(async () => {
    await Promise.all((parts ?? []).map((p) => p.stop()));
  });

  it(
    'finds, notifies, publishes and saves exactly what one big check does',
    async () => {
      // Prepare: two runs on the same clock, each with its own store.
      let minute = 0;
      const clock = { now: () => new Date(Date.UTC(2026, 2, 1, 3) + minute * MINUTE_MS) };
      const single = newRun(clock, newResolver);
      const fanned = newRun(clock, newResolver);
      const monitor = createHandler(single.deps(config), { logger: silent });
      const claims = new MemoryTickClaims();
      const scheduler = createSchedulerHandler({ loadConfig: async () => config, claims, shardSize: SHARD_SIZE, intervalMs: INTERVAL_MS, logger: silent });
      const worker = createWorkerHandler(fanned.deps(config), { logger: silent });
      const plans: SchedulerResult[] = [];
      const summaries: WorkerSummary[] = [];
      const fanOut = async (tick: number) => {
        // The tick's time is the wall clock's: the workers measure their deadline against it.
        const plan = await scheduler({ id: `event-${tick}`, time: new Date().toISOString(), execution: `exec-${tick}` });
        plans.push(plan);
        summaries.push(...(await Promise.all(plan.shards.map((task, i) => worker(task, context(`w-${tick}-${i}`))))));
      };

      // Act: check 1; the ELBs replace nodes and the upstreams move; check 2; a minute later,
      // check 3 (a web tier on a retired address is stale once the address's TTL has passed).
      const started = Date.now();
      for (const check of [1, 2, 3]) {
        if (check === 2) {
          for (const [name, addresses] of changes) {
            const ttl = name.startsWith('web-up-') ? UPSTREAM_TTL_SECONDS : ELB_TTL_SECONDS;
            for (const server of dns) {
              server.setA(name, addresses, ttl);
              server.setA(`all.${name}`, addresses, ttl);
            }
          }
        }
        minute = check - 1;
        await monitor({}, context(`single-${check}`));
        await fanOut(check);
      }
      const elapsedMs = Date.now() - started;

      // Assess: the split. 1,000 targets of shard size 100 -> 13 shards, each target once,
      // web tiers with their upstream, no shard over the size.
      for (const plan of plans) {
        expect(plan.duplicate).toBe(false);
        expect(plan.shards.length).toBe(13);
        const all = plan.shards.flatMap((s) => s.targets);
        expect(new Set(all).size).toBe(TARGETS);
        for (const s of plan.shards) expect(s.targets.length).toBeLessThanOrEqual(SHARD_SIZE);
        for (let k = 0; k < tierHosts().length; k++) {
          expect(plan.shards.find((s) => s.targets.includes(`web-${k}`))).toBe(plan.shards.find((s) => s.targets.includes(`up-${k}`)));
        }
      }
      for (const plan of plans.slice(1)) expect(plan.shards.map((s) => s.targets)).toEqual(plans[0]!.shards.map((s) => s.targets));
      expect(summaries.every((s) => s.ok && s.skipped === undefined && s.targetsCompleted === s.targets)).toBe(true);
      expect(summaries.reduce((n, s) => n + s.targets, 0)).toBe(3 * TARGETS);

      // The same findings, check by check (one report per check single, one per shard fanned out).
      const shards = plans[0]!.shards.length;
      const singleChecks = [0, 1, 2].map((i) => single.reports.slice(i, i + 1));
      const fannedChecks = [0, 1, 2].map((i) => fanned.reports.slice(i * shards, (i + 1) * shards));
      expect(fanned.reports).toHaveLength(3 * shards);
      for (const i of [0, 1, 2]) {
        expect(findingLines(fannedChecks[i]!)).toEqual(findingLines(singleChecks[i]!));
        expect(metricLines(fannedChecks[i]!)).toEqual(metricLines(singleChecks[i]!));
        expect(transitionLines(fannedChecks[i]!.flatMap((r) => r.transitions))).toEqual(transitionLines(singleChecks[i]!.flatMap((r) => r.transitions)));
      }
      // ...and every kind of trouble was there to be found.
      const kinds = new Set(single.reports.flatMap((r) => r.findings.map((f) => f.kind)));
      for (const kind of [
        'address-set-changed',
        'retired-address-answering',
        'retired-address-dead',
        'current-address-unhealthy',
        'resolution-failed',
        'stale-address-at-risk',
      ] as const) {
        expect(kinds, kind).toContain(kind);
      }
      expect(
        single.reports[2]!.findings.filter((f) => f.kind === 'stale-address-at-risk')
          .map((f) => f.target)
          .sort(),
      ).toEqual(['web-0', 'web-1']);

      // One notice per transition in both, the same ones.
      expect(transitionLines(fanned.notices)).toEqual(transitionLines(single.notices));
      expect(new Set(transitionLines(fanned.notices)).size).toBe(fanned.notices.length);
      expect(fanned.notices.length).toBeGreaterThan(100);

      // The same state: every target saved three times, the same addresses and open alerts.
      expect(fanned.store.states.size).toBe(TARGETS);
      for (const [name, s] of single.store.states) {
        const f = fanned.store.states.get(name)!;
        expect({
          name,
          version: f.version,
          addresses: f.addresses.map((r) => `${r.address}${r.retiredAt ? ' retired' : ''}`),
          alerts: Object.keys(f.alerts).sort(),
        }).toEqual({
          name,
          version: s.version,
          addresses: s.addresses.map((r) => `${r.address}${r.retiredAt ? ' retired' : ''}`),
          alerts: Object.keys(s.alerts).sort(),
        });
      }
      expect(elapsedMs).toBeLessThan(30_000);
    },
    TEST_TIMEOUT_MS,
  );

  /** The tier hosts, in target order. */
  function tierHosts(): string[] {
    return [...ADDR.staleTiers, ...ADDR.freshTiers];
  }
});
