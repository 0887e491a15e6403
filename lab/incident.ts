/**
 * The seed incident as a lab scenario (docs/architecture.md, "The problem"): an internal ELB name served by
 * the lab DNS server, two ELB-like nodes that get replaced, a web tier that resolved the name once
 * (like Apache httpd <= 2.4.58 mod_proxy) and one that honours the TTL. Used by `ipdrift demo`,
 * the end-to-end test and the benchmark, so all three replay exactly the same story.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { LIMITS } from '../src/core/constants.ts';
import type { ConfigInput } from '../src/core/config.ts';
import type { FindingKind } from '../src/core/types.ts';
import { QUERY_TIMESTAMP_PRECISION_MS } from '../src/core/resolver-log.ts';
import { cachingThresholdMs } from '../src/core/cache-census.ts';
import { LabDnsServer } from './dns-server.ts';
import { LabNode } from './nodes.ts';
import { LabWebTier } from './web-tier.ts';
import { LabBatchClient } from './batch-client.ts';
import { LAB_V5_FORMAT, LabFlowLog, labInstanceOf } from './flow-log.ts';
import { LabResolverLog } from './resolver-log.ts';
import { writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WebTierOptions } from './web-tier.ts';

/** Names and timings of the scenario. Short TTLs so the story plays in seconds, not hours. */
export const INCIDENT = {
  elbName: 'internal-app-1234567890.ap-northeast-2.elb.amazonaws.com',
  ttlSeconds: 2,
  /** The stale tier's own upstream timeout (httpd's is 60 s); longer than ipdrift's web timeout. */
  webUpstreamTimeoutMs: 3000,
  /** ipdrift's probe timeouts in the scenario's config. */
  elbTimeoutMs: 800,
  webTimeoutMs: 1500,
} as const;

/** A running incident lab. */
export interface IncidentLab {
  dns: LabDnsServer;
  oldNodes: LabNode[];
  newNodes: LabNode[];
  stale: LabWebTier;
  fresh: LabWebTier;
  port: number;
  /** The ipdrift configuration that watches this lab. */
  config: ConfigInput;
  /** Restarts the stale tier (what on-call does once told); it resolves the name afresh. */
  restartStale(): Promise<void>;
  /**
   * With `flow`: the flow log the nodes write (v5, both ends of each connection), the resolver
   * query log the DNS server writes, both read by the config, and the batch host nobody configured.
   */
  flow?: { path: string; resolverPath: string; batch: LabBatchClient };
  stop(): Promise<void>;
}

/** With flow logs in the lab: how recent a record must be to count (seconds, for a story told in seconds). */
export const LAB_FLOW_WINDOW_SECONDS = 2;

/** Loopback addresses of one lab instance: `127.0.<block>.x`, so parallel users never collide. */
export function labAddresses(block: number) {
  const a = (host: number) => `127.0.${block}.${host}`;
  return { dns: a(1), old: [a(11), a(12)], new: [a(21), a(22)], stale: a(31), fresh: a(32), batch: a(50) };
}

/**
 * Starts DNS, the old and new nodes, and both web tiers. `flow`: the lab writes what AWS writes
 * beside: the nodes a flow log (a custom v5 format, each connection at the client's interface and
 * the node's), the DNS server a Route 53 Resolver query log of every lookup (the tiers and the
 * batch host stand for EC2 instances); a batch host nobody configured resolves the name once and
 * keeps using the first old node. The config reads both logs (the monitor's own 127.0.0.1 ignored).
 */
export async function startIncidentLab(opts: { block?: number; flow?: boolean } = {}): Promise<IncidentLab> {
  const addr = labAddresses(opts.block ?? 10);
  const flowDir = opts.flow ? await mkdtemp(join(tmpdir(), 'ipdrift-lab-flow-')) : undefined;
  const instances = new Map([addr.stale, addr.fresh, addr.batch].map((a) => [a, labInstanceOf(a)]));
  const flowLog = flowDir ? new LabFlowLog(join(flowDir, 'flow.log'), LAB_V5_FORMAT, { instances }) : undefined;
  const resolverLog = flowDir ? new LabResolverLog(join(flowDir, 'resolver-queries.log'), instances) : undefined;
  for (const log of [flowLog, resolverLog]) if (log) writeFileSync(log.path, '');
  const dns = await LabDnsServer.start({ host: addr.dns, port: 0 });
  dns.queryLog = resolverLog;
  const started: { stop(): Promise<void> }[] = [dns];
  try {
    const first = await LabNode.start({ host: addr.old[0]!, port: 0, name: 'old-a', ...(flowLog ? { flowLog } : {}) });
    started.push(first);
    const port = first.port;
    const rest = await Promise.all([
      LabNode.start({ host: addr.old[1]!, port, name: 'old-b', ...(flowLog ? { flowLog } : {}) }),
      LabNode.start({ host: addr.new[0]!, port, name: 'new-a' }),
      LabNode.start({ host: addr.new[1]!, port, name: 'new-b' }),
    ]);
    started.push(...rest);
    const oldNodes = [first, rest[0]];
    const newNodes = [rest[1], rest[2]];
    setElbAddresses(dns, addr.old);
    const tierOptions = (host: string, mode: 'stale' | 'fresh'): WebTierOptions => ({
      host,
      port: 0,
      upstreamHost: INCIDENT.elbName,
      upstreamPort: port,
      resolver: dns.address,
      mode,
      upstreamTimeoutMs: INCIDENT.webUpstreamTimeoutMs,
    });
    let stale = await LabWebTier.start(tierOptions(addr.stale, 'stale'));
    const fresh = await LabWebTier.start(tierOptions(addr.fresh, 'fresh'));
    const stalePort = stale.port;
    const batch = flowLog ? await LabBatchClient.start({ host: addr.batch, lookup: { name: INCIDENT.elbName, resolver: dns.address }, port }) : undefined;
    const lab: IncidentLab = {
      dns,
      oldNodes,
      newNodes,
      get stale() {
        return stale;
      },
      fresh,
      port,
      config: {
        resolvers: [dns.address],
        allowLoopback: true,
        deadlineMs: 10_000,
        targets: [
          { name: 'app-alb', type: 'elb', host: INCIDENT.elbName, port, timeoutMs: INCIDENT.elbTimeoutMs, probe: { protocol: 'http', path: '/health' } },
          { name: 'web-stale', type: 'web-tier', url: `${stale.url}/health`, upstream: 'app-alb', echo: { path: '/whoami' }, timeoutMs: INCIDENT.webTimeoutMs },
          { name: 'web-fresh', type: 'web-tier', url: `${fresh.url}/health`, upstream: 'app-alb', echo: { path: '/whoami' }, timeoutMs: INCIDENT.webTimeoutMs },
        ],
        ...(flowLog && resolverLog
          ? {
              flowLogs: {
                source: 'file',
                path: flowLog.path,
                format: LAB_V5_FORMAT,
                everyMinutes: 0,
                windowSeconds: LAB_FLOW_WINDOW_SECONDS,
                ignoreSources: ['127.0.0.1/32'],
              },
              // A host counts as caching once it has not asked for 1 s past its connections (ipdrift makes that at least twice the 2 s TTL).
              // The lab's clients cache nothing on top of the TTL (a JVM keeps 30 s: the default of clientCacheSeconds).
              resolverLogs: { source: 'file', path: resolverLog.path, cachingAfterSeconds: 1, clientCacheSeconds: 0 },
            }
          : {}),
      },
      ...(flowLog && resolverLog && batch ? { flow: { path: flowLog.path, resolverPath: resolverLog.path, batch } } : {}),
      async restartStale() {
        await stale.stop();
        stale = await LabWebTier.start({ ...tierOptions(addr.stale, 'stale'), port: stalePort });
      },
      async stop() {
        batch?.stop();
        await Promise.allSettled([stale.stop(), fresh.stop(), ...started.map((s) => s.stop())]);
        if (flowDir) await rm(flowDir, { recursive: true, force: true });
      },
    };
    return lab;
  } catch (err) {
    await Promise.allSettled(started.map((s) => s.stop()));
    throw err;
  }
}

/** Points the ELB name (and `all.<name>`, as Route 53 does for ELBs) at `addresses`. */
export function setElbAddresses(dns: LabDnsServer, addresses: readonly string[]) {
  dns.setA(INCIDENT.elbName, addresses, INCIDENT.ttlSeconds);
  dns.setA(`all.${INCIDENT.elbName}`, addresses, INCIDENT.ttlSeconds);
}

/** One step of the story: what happens, and what ipdrift must report afterwards, per target. */
export interface IncidentStep {
  id: string;
  title: string;
  act(lab: IncidentLab): Promise<void>;
  expect: Record<'app-alb' | 'web-stale' | 'web-fresh', FindingKind[]>;
}

/**
 * What each step must report instead when the lab writes its logs (the demo): before any change
 * the cache census names the batch host and the stale tier (both resolved once, at their start);
 * once the TTL has run out, the resolver logs prove neither asked again: both page at once,
 * while the old nodes still drain. The batch host stays an incident to the end (nobody restarts it).
 */
export const WITH_LOGS: Readonly<Record<string, Partial<Record<'app-alb' | 'web-stale' | 'web-fresh', FindingKind[]>>>> = {
  baseline: { 'app-alb': ['dns-cache-at-risk'], 'web-stale': ['dns-cache-at-risk'] },
  replace: { 'app-alb': ['address-set-changed', 'retired-address-answering', 'dns-cache-at-risk'], 'web-stale': ['dns-cache-at-risk'] },
  linger: { 'app-alb': ['retired-address-answering', 'stale-client-seen'], 'web-stale': ['stale-address-confirmed'] },
  release: { 'app-alb': ['retired-address-dead', 'stale-client-seen'] },
  stuck: { 'app-alb': ['retired-address-dead', 'stale-client-seen'] },
  restart: { 'app-alb': ['retired-address-dead', 'stale-client-seen'] },
  settled: { 'app-alb': ['retired-address-dead', 'stale-client-seen'] },
};

/** Margin past the TTL so timers and a check's own duration never straddle the boundary. */
const TTL_MARGIN_MS = 300;

/**
 * Waits out the TTL and ipdrift's grace after the retirement it saw, so the retired addresses
 * count as stale for any client still using them.
 */
const waitTtlAndGrace = () => {
  const ttlMs = INCIDENT.ttlSeconds * 1000;
  return sleep(ttlMs + Math.max(LIMITS.staleGraceMinMs, ttlMs * LIMITS.staleGraceTtlFraction) + TTL_MARGIN_MS);
};

/**
 * How long the baseline waits with the logs: the census's threshold for the lab (twice the TTL and
 * the log's whole second), one more whole second (a flow record's start has whole seconds too) and a margin.
 */
const CACHING_WAIT_MS = cachingThresholdMs(1, INCIDENT.ttlSeconds) + QUERY_TIMESTAMP_PRECISION_MS + TTL_MARGIN_MS;

/** Waits out the TTL so TTL-honouring clients (the fresh tier) have followed the change. */
const waitTtl = () => sleep(INCIDENT.ttlSeconds * 1000 + TTL_MARGIN_MS);

/** The incident, step by step. */
export const INCIDENT_STEPS: readonly IncidentStep[] = [
  {
    id: 'baseline',
    title: 'Baseline: the internal ELB answers with two nodes; both web tiers are healthy (with the logs: hosts that resolved the name once are named)',
    // With the logs, time passes first (6 s here, an hour in AWS): the hosts that resolved once at their start now cache past the TTL.
    act: async (lab) => {
      if (lab.flow) await sleep(CACHING_WAIT_MS);
    },
    expect: { 'app-alb': [], 'web-stale': [], 'web-fresh': [] },
  },
  {
    id: 'replace',
    title: 'The ELB replaces its nodes: DNS moves to two new addresses; the old nodes keep draining',
    act: async (lab) => {
      setElbAddresses(
        lab.dns,
        lab.newNodes.map((n) => n.host),
      );
      await waitTtl();
    },
    // Inside the TTL a cache may rightly still hold the old answer: no verdict on the tiers yet.
    expect: { 'app-alb': ['address-set-changed', 'retired-address-answering'], 'web-stale': [], 'web-fresh': [] },
  },
  {
    id: 'linger',
    title:
      'The TTL has run out for every cache: the stale tier still reaches the draining old nodes (a cached answer or a pooled connection: at risk; with resolver logs proving it never asked again: the page)',
    // With the logs, proof needs a connection the tier opened past twice the TTL (the Resolver's copy, then its own): a little longer.
    act: (lab) => (lab.flow ? sleep(2 * INCIDENT.ttlSeconds * 1000 + QUERY_TIMESTAMP_PRECISION_MS + TTL_MARGIN_MS) : waitTtlAndGrace()),
    expect: { 'app-alb': ['retired-address-answering'], 'web-stale': ['stale-address-at-risk'], 'web-fresh': [] },
  },
  {
    id: 'release',
    title: 'The old addresses are released: they accept connections and never answer (the 14 s stalls); users fail (without proof before: the page)',
    act: async (lab) => {
      await Promise.all(lab.oldNodes.map((n) => n.setMode('swallow')));
    },
    expect: { 'app-alb': ['retired-address-dead'], 'web-stale': ['stale-address-suspected'], 'web-fresh': [] },
  },
  {
    id: 'stuck',
    title: 'Nobody has acted yet: users still stall through the stale tier; the incident stays open (no "resolved")',
    act: async () => undefined,
    expect: { 'app-alb': ['retired-address-dead'], 'web-stale': ['stale-address-suspected'], 'web-fresh': [] },
  },
  {
    id: 'restart',
    title: 'On-call follows the advice and restarts the stale web tier; it resolves the name afresh',
    act: async (lab) => {
      await lab.restartStale();
      // With flow logs, the tier's last records must age out of the window before a check is clean.
      if (lab.flow) await sleep(LAB_FLOW_WINDOW_SECONDS * 1000 + TTL_MARGIN_MS);
    },
    expect: { 'app-alb': ['retired-address-dead'], 'web-stale': [], 'web-fresh': [] },
  },
  {
    id: 'settled',
    title: 'A second clean check: the incident resolves (one "resolved" for the one "opened")',
    act: async () => undefined,
    expect: { 'app-alb': ['retired-address-dead'], 'web-stale': [], 'web-fresh': [] },
  },
];
