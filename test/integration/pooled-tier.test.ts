/**
 * A pooled connection is not a stale cache, on the lab: a Node.js keep-alive proxy (lab/web-tier.ts
 * mode `pooled`: an http.Agent keyed by the upstream name, a fresh lookup for every new connection,
 * as Go's Transport and undici do) in front of an ELB whose nodes are replaced. The old nodes drain
 * for several checks, then go (refuse; their connections are reset). The proxy rides its pooled
 * connections to the old nodes while they drain, then moves by itself: users fail 0 requests, and
 * ipdrift pages nobody. The real HAProxy version is in test/e2e/web-tiers (story `pooled`).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exitFor } from '../../src/cli/commands/check.ts';
import { runCheck } from '../../src/core/check.ts';
import { parseConfig } from '../../src/core/config.ts';
import { audienceOf } from '../../src/core/notice.ts';
import type { CheckReport } from '../../src/core/report.ts';
import type { AlertTransition } from '../../src/core/types.ts';
import { MemoryStore } from '../../src/adapters/local/memory-store.ts';
import { labGet } from '../../lab/client.ts';
import { LabDnsServer } from '../../lab/dns-server.ts';
import { LabNode } from '../../lab/nodes.ts';
import { LabWebTier } from '../../lab/web-tier.ts';
import { LAB_V5_FORMAT, LabFlowLog, labInstanceOf } from '../../lab/flow-log.ts';
import { LabResolverLog } from '../../lab/resolver-log.ts';
import { FileFlowSource } from '../../src/adapters/local/flow-file.ts';
import { FileResolverSource } from '../../src/adapters/local/resolver-file.ts';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Addresses of this file: 127.0.93.0/24.
const ADDR = { dns: '127.0.93.1', old: ['127.0.93.11', '127.0.93.12'], new: ['127.0.93.21', '127.0.93.22'], tier: '127.0.93.31' } as const;
const ELB = 'internal-pooled-93.elb.test';
/** The lab TTL stands for the ELB's 60 s; checks run once per TTL, as production runs once a minute. */
const TTL_S = 1;
const CHECK_INTERVAL_MS = 1000;
/** Checks while the old nodes drain (the first lands inside the TTL), and after they go. */
const DRAIN_CHECKS = 5;
const GONE_CHECKS = 3;
/** A user's request every this often, through the tier, for the whole story. */
const USER_PAUSE_MS = 50;
const USER_TIMEOUT_MS = 3000;
const TEST_TIMEOUT_MS = 60_000;

describe('a web tier that pools upstream connections and follows DNS (Node.js keep-alive agent)', () => {
  let dns: LabDnsServer;
  let nodes: LabNode[];
  let tier: LabWebTier;
  const setElb = (addresses: readonly string[]) => {
    dns.setA(ELB, addresses, TTL_S);
    dns.setA(`all.${ELB}`, addresses, TTL_S);
  };

  beforeAll(async () => {
    dns = await LabDnsServer.start({ host: ADDR.dns });
    const first = await LabNode.start({ host: ADDR.old[0] });
    nodes = [first, ...(await Promise.all([ADDR.old[1], ...ADDR.new].map((host) => LabNode.start({ host, port: first.port }))))];
  });
  /** Each story from the start: the old nodes in DNS and serving, a tier with an empty pool. */
  const startStory = async () => {
    await tier?.stop();
    await Promise.all(nodes.slice(0, 2).map((n) => n.setMode('serve')));
    setElb(ADDR.old);
    tier = await LabWebTier.start({
      host: ADDR.tier,
      upstreamHost: ELB,
      upstreamPort: nodes[0]!.port,
      resolver: dns.address,
      mode: 'pooled',
      upstreamTimeoutMs: 1500,
    });
  };
  afterAll(async () => {
    await Promise.allSettled([tier?.stop(), ...(nodes ?? []).map((n) => n.stop()), dns?.stop()]);
  });

  it.each([
    ['', false],
    // A pool asks DNS only for a new connection: riding its old ones it is silent in the resolver
    // logs, and that silence is no proof (it opens no connection to the old nodes, no SYN).
    [', with flow (v5, tcp-flags) and resolver query logs', true],
  ] as const)(
    'rides the draining old nodes, moves by itself when they go: users fail 0 requests, 0 pages, every check exits 0%s',
    async (_title, withLogs) => {
      // Prepare
      const dir = await mkdtemp(join(tmpdir(), 'ipdrift-pooled-'));
      const flowLog = new LabFlowLog(join(dir, 'flow.log'), LAB_V5_FORMAT, { instances: new Map([[ADDR.tier, labInstanceOf(ADDR.tier)]]) });
      const queryLog = new LabResolverLog(join(dir, 'queries.log'));
      await Promise.all([writeFile(flowLog.path, ''), writeFile(queryLog.path, '')]);
      if (withLogs) {
        for (const n of nodes) n.flowLog = flowLog;
        dns.queryLog = queryLog;
      }
      await startStory();
      const config = parseConfig({
        resolvers: [dns.address],
        allowLoopback: true,
        ...(withLogs
          ? {
              flowLogs: { source: 'file', path: flowLog.path, format: LAB_V5_FORMAT, everyMinutes: 0, windowSeconds: 2, ignoreSources: ['127.0.0.1/32'] },
              resolverLogs: { source: 'file', path: queryLog.path, cachingAfterSeconds: 1 },
            }
          : {}),
        targets: [
          { name: 'app-alb', type: 'elb', host: ELB, port: nodes[0]!.port, timeoutMs: 500, probe: { protocol: 'http', path: '/health' } },
          { name: 'web', type: 'web-tier', url: `${tier.url}/health`, upstream: 'app-alb', echo: { path: '/whoami' }, timeoutMs: 1000 },
        ],
      });
      const store = new MemoryStore();
      const reports: { phase: string; report: CheckReport }[] = [];
      const sent: AlertTransition[] = [];
      const checks = async (phase: string, n: number) => {
        for (let i = 0; i < n; i++) {
          const next = Date.now() + CHECK_INTERVAL_MS;
          reports.push({
            phase,
            report: await runCheck(config, {
              store,
              notifier: { notify: async (t) => void sent.push(t) },
              clock: { now: () => new Date() },
              ...(withLogs ? { flowSource: new FileFlowSource(flowLog.path), resolverSource: new FileResolverSource(queryLog.path) } : {}),
            }),
          });
          await sleep(Math.max(0, next - Date.now()));
        }
      };
      // Users: one request at a time, for the whole story (bounded by `stop`).
      const users: { phase: string; status: number | 'error'; upstream: string }[] = [];
      let phase = 'baseline';
      let stop = false;
      const traffic = (async () => {
        while (!stop) {
          const seen = phase;
          try {
            const res = await labGet(`${tier.url}/whoami`, USER_TIMEOUT_MS);
            users.push({ phase: seen, status: res.status, upstream: res.body.trim() });
          } catch {
            users.push({ phase: seen, status: 'error', upstream: '' });
          }
          await sleep(USER_PAUSE_MS);
        }
      })();

      // Act
      await checks('baseline', 2);
      // Baseline: the tier holds one connection to an old node (one user at a time).
      setElb(ADDR.new);
      phase = 'drain';
      await checks('drain', DRAIN_CHECKS);
      await Promise.all(nodes.slice(0, 2).map((n) => n.setMode('refuse')));
      phase = 'gone';
      // With the logs, the records of its ride stay in the flow window (2 s) that much longer.
      await checks('gone', GONE_CHECKS + (withLogs ? 2 : 0));
      stop = true;
      await traffic;
      for (const n of nodes) n.flowLog = undefined;
      dns.queryLog = undefined;
      await rm(dir, { recursive: true, force: true });

      // Assess: the pool rode the old nodes while they drained (the case that used to page critical)...
      const old = new Set<string>(ADDR.old);
      expect(users.filter((u) => u.phase === 'drain' && old.has(u.upstream)).length).toBeGreaterThan(0);
      const drainKinds = reports.filter((r) => r.phase === 'drain').flatMap((r) => r.report.findings.filter((f) => f.target === 'web').map((f) => f.kind));
      expect(drainKinds).toContain('stale-address-at-risk');
      // ...and moved by itself once they went: every user request answered 200, none by an old node.
      expect(users.filter((u) => u.status !== 200)).toEqual([]);
      expect(users.filter((u) => u.phase === 'gone' && old.has(u.upstream))).toEqual([]);
      expect(users.filter((u) => u.phase === 'gone').length).toBeGreaterThan(0);
      // On-call heard nothing; every check exits 0; the risk opened and cleared on the events topic.
      expect(sent.filter((t) => audienceOf(t) === 'on-call')).toEqual([]);
      expect(reports.map((r) => exitFor(r.report))).toEqual(reports.map(() => 0));
      // Evidence may join the risk a check after it opened (with the logs, the flow records: a record's
      // start has whole seconds; under load, a slow answer): then one "updated" on the events topic per
      // check that added a kind of evidence, and never a page.
      const web = reports.map((r) => r.report.findings.find((f) => f.target === 'web' && f.kind === 'stale-address-at-risk'));
      const opened = web.findIndex((f) => f !== undefined);
      const shown = new Set(web[opened]?.signals ?? []);
      let updates = 0;
      for (const f of web.slice(opened + 1)) {
        const added = (f?.signals ?? []).filter((x) => !shown.has(x));
        if (added.length) updates++;
        for (const x of added) shown.add(x);
      }
      expect(sent.filter((t) => t.target === 'web').map((t) => `${t.type}:${t.kind}:${audienceOf(t)}`)).toEqual([
        'opened:stale-address-at-risk:events',
        ...Array.from({ length: updates }, () => 'updated:stale-address-at-risk:events'),
        'resolved:stale-address-at-risk:events',
      ]);
      // Flow evidence ('client') comes only from the logs.
      expect(withLogs || !shown.has('client')).toBe(true);
      // With the logs: the flow logs saw the tier ride the old nodes, and nobody was named as caching.
      if (withLogs) {
        expect(reports.some((r) => (r.report.flow?.clients ?? 0) > 0)).toBe(true);
        expect(reports.flatMap((r) => r.report.findings).filter((f) => f.kind === 'dns-cache-at-risk' || f.kind === 'stale-client-seen')).toEqual([]);
      }
    },
    TEST_TIMEOUT_MS,
  );
});
