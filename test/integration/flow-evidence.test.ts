/**
 * Flow log evidence end to end, in the lab: ELB-like nodes write real flow log records (a v5
 * format with `tcp-flags`, both ends) for every connection they see, and the check reads them from a
 * file. A client nobody configured, one that resolved the ELB name once, is named by its
 * interface and address: at risk (events only) while the node it reaches drains, an incident of its own once
 * it still sends after the node is gone, resolved once its records age out of the window. A configured
 * stale web tier's risk gains the flow evidence as an events `updated`, then pages once.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labConnectFrom, labGet } from '../../lab/client.ts';
import { LabDnsServer } from '../../lab/dns-server.ts';
import { LAB_V5_FORMAT, LabFlowLog, labInterfaceOf } from '../../lab/flow-log.ts';
import { LabNode } from '../../lab/nodes.ts';
import { LabWebTier } from '../../lab/web-tier.ts';
import { runCheck } from '../../src/core/check.ts';
import { parseConfig } from '../../src/core/config.ts';
import type { AlertTransition } from '../../src/core/types.ts';
import { FileFlowSource } from '../../src/adapters/local/flow-file.ts';
import { MemoryStore } from '../../src/adapters/local/memory-store.ts';
import { audienceOf } from '../../src/core/notice.ts';

// Addresses of this file: 127.0.70.0/24.
const ADDR = {
  dns: '127.0.70.1',
  old: ['127.0.70.11', '127.0.70.12'],
  new: ['127.0.70.21', '127.0.70.22'],
  tier: '127.0.70.31',
  client: '127.0.70.50',
} as const;
const ELB = 'internal-app-70.elb.test';
const TTL_SECONDS = 1;
/** The TTL plus ipdrift's grace (at least 1 s), and a margin. */
const PAST_TTL_MS = 2_300;
/** How recent a record must be to say a client still sends (seconds in the lab, 15 min in AWS). */
const WINDOW_S = 3;

describe('flow log evidence in the lab', () => {
  let dir: string;
  let dns: LabDnsServer;
  let nodes: LabNode[];
  let tier: LabWebTier;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ipdrift-flow-'));
    dns = await LabDnsServer.start({ host: ADDR.dns });
    const first = await LabNode.start({ host: ADDR.old[0] });
    nodes = [first, ...(await Promise.all([ADDR.old[1], ...ADDR.new].map((host) => LabNode.start({ host, port: first.port }))))];
    for (const n of [ELB, `all.${ELB}`]) dns.setA(n, ADDR.old, TTL_SECONDS);
    // Stale: resolves the ELB name once, at its first request, and keeps the answer.
    tier = await LabWebTier.start({
      host: ADDR.tier,
      upstreamHost: ELB,
      upstreamPort: first.port,
      resolver: dns.address,
      mode: 'stale',
      upstreamTimeoutMs: 1000,
    });
  });
  afterAll(async () => {
    await Promise.all([...nodes.map((n) => n.stop()), tier.stop(), dns.stop()]);
    await rm(dir, { recursive: true, force: true });
  });

  it('names the unconfigured client: at risk while the node drains, paged once it is gone; the stale tier gains the evidence, one page', async () => {
    // Prepare
    const flowPath = join(dir, 'flow.log');
    await writeFile(flowPath, '');
    const config = parseConfig({
      resolvers: [dns.address],
      allowLoopback: true,
      // The monitor's own probes of the retired addresses are in the flow log too: not a client.
      flowLogs: { source: 'file', path: flowPath, format: LAB_V5_FORMAT, everyMinutes: 0, windowSeconds: WINDOW_S, ignoreSources: ['127.0.0.1/32'] },
      targets: [
        { name: 'app-alb', type: 'elb', host: ELB, port: nodes[0]!.port, timeoutMs: 500, openAfterChecks: 1, probe: { protocol: 'http', path: '/health' } },
        { name: 'web-stale', type: 'web-tier', url: `${tier.url}/health`, upstream: 'app-alb', echo: { path: '/whoami' }, timeoutMs: 1500 },
      ],
    });
    const store = new MemoryStore();
    const check = async () => {
      const sent: AlertTransition[] = [];
      const report = await runCheck(config, {
        store,
        notifier: { notify: async (t) => void sent.push(t) },
        clock: { now: () => new Date() },
        flowSource: new FileFlowSource(flowPath),
      });
      return { report, sent: sent.map((t) => `${t.type} ${t.key} ${audienceOf(t)}`) };
    };

    // Act
    await labGet(`${tier.url}/health`); // the tier resolves the name now, once
    await check();
    for (const n of [ELB, `all.${ELB}`]) dns.setA(n, ADDR.new, TTL_SECONDS); // the ELB replaces its nodes
    await check();
    await new Promise((r) => setTimeout(r, PAST_TTL_MS));
    const echoed = await check(); // the tier's echo names a retired address that still answers: at risk
    // From now on the old nodes' connections are in the flow log (as captured on the clients' interfaces).
    const flowLog = new LabFlowLog(flowPath, LAB_V5_FORMAT);
    for (const n of nodes.slice(0, 2)) n.flowLog = flowLog;
    await labGet(`${tier.url}/health`);
    await labConnectFrom(ADDR.client, ADDR.old[0], nodes[0]!.port);
    const flowed = await check();
    const after = await check();
    // The old nodes are released (accept, never answer): users of the stale tier fail, its page. The
    // client's records so far are from before: it rode the draining node (a pool would move now).
    await Promise.all(nodes.slice(0, 2).map((n) => n.setMode('swallow')));
    const went = await check();
    // It tries again after the node went (in a later record: a record's start has whole seconds): it did not move, the incident.
    await new Promise((r) => setTimeout(r, 1_100));
    await labConnectFrom(ADDR.client, ADDR.old[0], nodes[0]!.port);
    const gone = await check();
    // The unconfigured client stops; once its last record is older than the window, its incident resolves.
    await new Promise((r) => setTimeout(r, WINDOW_S * 1000 + 300));
    const quiet = [await check(), await check()].flatMap((c) => c.sent);

    // Assess: while the node drains, the risks go to the events topic only.
    const clientKey = `app-alb/stale-client-seen/${ADDR.client}`;
    expect(echoed.sent).toEqual(['opened web-stale/stale-upstream events']);
    expect(flowed.sent.sort()).toEqual([`opened ${clientKey} events`, 'updated web-stale/stale-upstream events'].sort());
    // Clients per retired address: the unconfigured one, and the tier on each old node it used.
    expect(flowed.report.flow!.clients).toBeGreaterThanOrEqual(2);
    expect(flowed.report.flow!.matched).toBeGreaterThanOrEqual(flowed.report.flow!.clients);
    const unconfigured = flowed.report.findings.find((f) => f.key === clientKey)!;
    expect(unconfigured).toMatchObject({
      target: 'app-alb',
      kind: 'stale-address-at-risk',
      severity: 'info',
      evidence: { sourceAddress: ADDR.client, address: ADDR.old[0], clientKind: 'interface', addressState: 'answering' },
    });
    expect(unconfigured.summary).toContain(`${labInterfaceOf(ADDR.client)} (${ADDR.client}) still sends to retired ${ADDR.old[0]}:${nodes[0]!.port}`);
    const tierFinding = flowed.report.findings.find((f) => f.target === 'web-stale')!;
    expect([tierFinding.key, tierFinding.kind]).toEqual(['web-stale/stale-upstream', 'stale-address-at-risk']);
    expect(tierFinding.signals).toContain('client');
    const tierClients = tierFinding.evidence.flowClients as { sourceAddress: string; address: string }[];
    expect(tierClients.length).toBeGreaterThan(0);
    expect(tierClients.every((c) => c.sourceAddress === ADDR.tier && (ADDR.old as readonly string[]).includes(c.address))).toBe(true);
    // No repeat: the same evidence next check is the same risks, nothing new to say.
    expect(after.sent).toEqual([]);
    // The node went: one page each, as "opened" (on-call was told nothing before).
    expect(went.sent).toEqual(['opened web-stale/stale-upstream on-call']);
    expect(went.report.findings.find((f) => f.key === clientKey)?.kind).toBe('stale-address-at-risk');
    expect(gone.sent).toEqual([`opened ${clientKey} on-call`]);
    expect(gone.report.findings.find((f) => f.key === clientKey)).toMatchObject({
      kind: 'stale-client-seen',
      severity: 'critical',
      evidence: { addressState: 'silent' },
    });
    // The stale tier still uses the old node (its incident stays open); the client is gone.
    expect(quiet).toEqual([`resolved ${clientKey} on-call`]);
  });
});
