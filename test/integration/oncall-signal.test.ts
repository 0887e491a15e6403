/**
 * What on-call receives, on the lab (real DNS server, ELB-like nodes, web tiers on loopback):
 *
 * - a compressed day of a healthy ELB's life (scale-out, a node replacement, a scale-in; the
 *   retired nodes drain, then swallow or refuse) behind web tiers that follow DNS: nobody is
 *   paged, every check would exit 0, and the address changes go to the events audience;
 * - a current node's stall: one check of it pages nobody, two in a row are one page;
 * - the incident from start to recovery: the stale tier at risk while the old nodes drain (events
 *   only), one "opened" page in the first check after they stop answering, no "resolved" while its
 *   users still fail, one "resolved" once it is restarted; the fresh tier never flagged.
 *
 * The real Apache httpd / nginx / HAProxy version of the first story is in test/e2e/web-tiers.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exitFor } from '../../src/cli/commands/check.ts';
import { EXIT } from '../../src/cli/errors.ts';
import { runCheck } from '../../src/core/check.ts';
import { LIMITS } from '../../src/core/constants.ts';
import { parseConfig } from '../../src/core/config.ts';
import type { Config } from '../../src/core/config.ts';
import { audienceOf } from '../../src/core/notice.ts';
import type { CheckReport } from '../../src/core/report.ts';
import type { AlertTransition } from '../../src/core/types.ts';
import { MemoryStore } from '../../src/adapters/local/memory-store.ts';
import { Lab } from '../../lab/index.ts';
import type { LabNode } from '../../lab/index.ts';
import { INCIDENT, setElbAddresses, startIncidentLab } from '../../lab/incident.ts';

/** Loopback block of this file (127.0.90.x and 127.0.91.x): no other test uses them. */
const HOST = (n: number) => `127.0.90.${n}`;
const INCIDENT_BLOCK = 91;
const ELB = 'internal-churn-1234567890.ap-northeast-2.elb.amazonaws.com';
/** The lab TTL stands for the ELB's 60 s; checks run once per TTL, as production runs once a minute. */
const TTL_S = 1;
const CHECK_INTERVAL_MS = 1000;
const TEST_TIMEOUT_MS = 90_000;

interface Run {
  reports: CheckReport[];
  transitions: AlertTransition[];
}

/** Checks `n` times, one per interval, recording every report and every delivered transition. */
async function checks(config: Config, store: MemoryStore, run: Run, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const next = Date.now() + CHECK_INTERVAL_MS;
    run.reports.push(await runCheck(config, { store, notifier: { notify: async (t) => void run.transitions.push(t) }, clock: { now: () => new Date() } }));
    await sleep(Math.max(0, next - Date.now()));
  }
}

describe("on-call signal: a healthy ELB's normal life pages nobody", () => {
  let lab: Lab;
  let nodes: LabNode[];
  let config: Config;
  const setElb = (ids: readonly number[]) => {
    const addresses = ids.map((i) => nodes[i]!.host);
    lab.dns.setA(ELB, addresses, TTL_S);
    lab.dns.setA(`all.${ELB}`, addresses, TTL_S);
  };

  beforeAll(async () => {
    lab = await Lab.start({ dns: { host: HOST(1) } });
    const first = await lab.startNode({ host: HOST(11), name: 'node-a' });
    nodes = [first, ...(await Promise.all([12, 13, 14].map((n, i) => lab.startNode({ host: HOST(n), port: first.port, name: `node-${'bcd'[i]}` }))))];
    const tiers = await Promise.all(
      [31, 32].map((n) => lab.startWebTier({ host: HOST(n), upstreamHost: ELB, upstreamPort: first.port, mode: 'fresh', upstreamTimeoutMs: 1500 })),
    );
    config = parseConfig({
      resolvers: [lab.dns.address],
      allowLoopback: true,
      targets: [
        { name: 'app-alb', type: 'elb', host: ELB, port: first.port, timeoutMs: 500, probe: { protocol: 'http', path: '/health' } },
        ...tiers.map((t, i) => ({
          name: `web-${i + 1}`,
          type: 'web-tier' as const,
          url: `${t.url}/health`,
          upstream: 'app-alb',
          echo: { path: '/whoami' },
          timeoutMs: 1000,
        })),
      ],
    });
  });
  afterAll(async () => {
    await lab?.stop();
  });

  it(
    'scale-out, replacement, scale-in; retired nodes drain, then swallow or refuse: 0 pages, every check exit 0',
    async () => {
      // Prepare
      const store = new MemoryStore();
      const run: Run = { reports: [], transitions: [] };
      setElb([0, 1]);

      // Act: the day, compressed. Each retired node drains for two TTLs before it goes.
      await checks(config, store, run, 2);
      setElb([0, 1, 2]); // scale-out
      await checks(config, store, run, 2);
      setElb([1, 2, 3]); // node a replaced by d: a drains...
      await checks(config, store, run, 2);
      await nodes[0]!.setMode('swallow'); // ...then its address is released (accepts, never answers)
      await checks(config, store, run, 2);
      setElb([2, 3]); // scale-in: b drains...
      await checks(config, store, run, 2);
      await nodes[1]!.setMode('refuse'); // ...then refuses
      await checks(config, store, run, 3);

      // Assess: the lifecycle was seen (so the test means something)...
      const kinds = new Set(run.reports.flatMap((r) => r.findings.map((f) => f.kind)));
      expect([...kinds].sort()).toEqual(['address-set-changed', 'retired-address-answering', 'retired-address-dead']);
      // ...and it is all information: no page, no warning, every check exits 0.
      expect(run.reports.map((r) => r.findings.filter((f) => f.severity !== 'info').map((f) => `${f.target}:${f.kind}`))).toEqual(run.reports.map(() => []));
      expect(run.reports.map(exitFor)).toEqual(run.reports.map(() => EXIT.ok));
      expect(run.transitions.filter((t) => audienceOf(t) === 'on-call')).toEqual([]);
      // The three address changes, each once, for reading later.
      expect(run.transitions.map((t) => `${t.type}:${t.kind}:${audienceOf(t)}`)).toEqual(Array(3).fill('event:address-set-changed:events'));
      expect(run.reports.every((r) => r.errors.length === 0)).toBe(true);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'a current node that stalls for one check pages nobody; one that stalls for two is one page, resolved when it serves again',
    async () => {
      // Prepare: a fresh history on two serving nodes (the default openAfterChecks, 2)
      const store = new MemoryStore();
      const run: Run = { reports: [], transitions: [] };
      await Promise.all([nodes[2]!.setMode('serve'), nodes[3]!.setMode('serve')]);
      setElb([2, 3]);
      const elbOnCall = () => run.transitions.filter((t) => t.target === 'app-alb' && audienceOf(t) === 'on-call').map((t) => `${t.type}:${t.kind}`);

      // Act 1: a one-check blip of node c
      await checks(config, store, run, 1);
      await nodes[2]!.setMode('swallow');
      await checks(config, store, run, 1);
      await nodes[2]!.setMode('serve');
      await checks(config, store, run, 2);

      // Assess 1: the blip was seen (a warning finding) and paged nobody
      expect(run.reports[1]!.findings.map((f) => `${f.target}:${f.kind}`)).toContain('app-alb:current-address-unhealthy');
      expect(run.transitions.filter((t) => audienceOf(t) === 'on-call')).toEqual([]);

      // Act 2: node c stalls for two checks in a row, then serves again
      await nodes[2]!.setMode('swallow');
      await checks(config, store, run, 2);
      await nodes[2]!.setMode('serve');
      await checks(config, store, run, 2);

      // Assess 2: one page on the second stalled check, one "resolved" after two clean ones
      expect(elbOnCall()).toEqual(['opened:current-address-unhealthy', 'resolved:current-address-unhealthy']);
    },
    TEST_TIMEOUT_MS,
  );
});

describe('on-call signal: the incident, start to recovery, is one page', () => {
  it(
    'one "opened" for the stale tier; no "resolved" while users still fail; one "resolved" after the restart; the fresh tier never flagged',
    async () => {
      // Prepare
      const lab = await startIncidentLab({ block: INCIDENT_BLOCK });
      try {
        const config = parseConfig(lab.config);
        const store = new MemoryStore();
        const run: Run = { reports: [], transitions: [] };
        // Past the TTL and ipdrift's grace (LIMITS.staleGraceMinMs) after the check that saw the change.
        const ttlAndGraceMs = INCIDENT.ttlSeconds * 1000 + LIMITS.staleGraceMinMs + 500;

        // Act: baseline; the nodes are replaced; past the TTL the stale tier still reaches the old
        // nodes (echo); then they are released and users stall; nobody acts for several checks;
        // then on-call restarts the tier.
        await checks(config, store, run, 1);
        setElbAddresses(
          lab.dns,
          lab.newNodes.map((n) => n.host),
        );
        await checks(config, store, run, 1);
        await sleep(ttlAndGraceMs);
        await checks(config, store, run, 2);
        await Promise.all(lab.oldNodes.map((n) => n.setMode('swallow')));
        const stuckFrom = run.reports.length;
        await checks(config, store, run, 4);
        const stuckTo = run.reports.length;
        await lab.restartStale();
        await checks(config, store, run, 3);

        // Assess
        // While the old nodes drain the stale tier is at risk (told to the events topic); the page
        // comes in the first check after they stop answering, as "opened".
        const staleNotices = run.transitions.filter((t) => t.target === 'web-stale').map((t) => `${t.type}:${t.severity}:${audienceOf(t)}`);
        expect(staleNotices).toEqual(['opened:info:events', 'opened:critical:on-call', 'resolved:critical:on-call']);
        expect(run.reports[stuckFrom]!.transitions.map((t) => `${t.type}:${t.target}:${t.severity}`)).toEqual(['opened:web-stale:critical']);
        // While the old addresses swallowed, every check still held the incident's evidence.
        for (const r of run.reports.slice(stuckFrom, stuckTo)) {
          expect(r.findings.filter((f) => f.target === 'web-stale').map((f) => f.key)).toEqual(['web-stale/stale-upstream']);
          expect(r.transitions.filter((t) => t.type === 'resolved')).toEqual([]);
        }
        expect(run.reports.flatMap((r) => r.findings).filter((f) => f.target === 'web-fresh')).toEqual([]);
        // Nothing else reached on-call: the ELB's own life (drain, release) is information.
        expect(run.transitions.filter((t) => audienceOf(t) === 'on-call' && t.target !== 'web-stale')).toEqual([]);
      } finally {
        await lab.stop();
      }
    },
    TEST_TIMEOUT_MS,
  );
});
