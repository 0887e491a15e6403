/**
 * Flow records as a whole-VPC flow log writes them, in the lab (lab/flow-log.ts): each connection
 * to an ELB node recorded at the client's interface (egress) and at the node's (ingress); a client
 * outside the VPC (peered) only at the node's. In a v5 format with `flow-direction` and
 * `instance-id`, and in the v2 default: one client is one finding, named by its instance when its
 * own end says so, else by its address; the node's interface is never a client.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labConnectFrom } from '../../lab/client.ts';
import { LabDnsServer } from '../../lab/dns-server.ts';
import { LAB_V5_FORMAT, LabFlowLog, labInstanceOf, labInterfaceOf } from '../../lab/flow-log.ts';
import { LabNode } from '../../lab/nodes.ts';
import { FileFlowSource } from '../../src/adapters/local/flow-file.ts';
import { MemoryStore } from '../../src/adapters/local/memory-store.ts';
import { runCheck } from '../../src/core/check.ts';
import { parseConfig } from '../../src/core/config.ts';
import { DEFAULT_FLOW_FORMAT } from '../../src/core/flow-log.ts';

// Addresses of this file: 127.0.72.0/24.
const ADDR = { dns: '127.0.72.1', old: '127.0.72.11', new: '127.0.72.21', instance: '127.0.72.50', peered: '127.0.72.60' } as const;
const ELB = 'internal-app-72.elb.test';
const TTL_SECONDS = 1;
/** The TTL plus ipdrift's grace (at least 1 s), and a margin. */
const PAST_TTL_MS = 2_300;

describe('flow records at both ends of a connection', () => {
  let dir: string;
  let dns: LabDnsServer;
  let nodes: LabNode[];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ipdrift-flow-ends-'));
    dns = await LabDnsServer.start({ host: ADDR.dns });
    const first = await LabNode.start({ host: ADDR.old });
    nodes = [first, await LabNode.start({ host: ADDR.new, port: first.port })];
  });
  afterAll(async () => {
    await Promise.all([...nodes.map((n) => n.stop()), dns.stop()]);
    await rm(dir, { recursive: true, force: true });
  });

  it.each([
    ['v5 (flow-direction, instance-id)', LAB_V5_FORMAT, { client: labInstanceOf(ADDR.instance), clientKind: 'instance' }],
    ['v2 default (no direction, no instance)', DEFAULT_FLOW_FORMAT, { client: ADDR.instance, clientKind: 'address' }],
  ])('%s: one finding per client, the peered one by its address, never the node’s interface', async (name, format, named) => {
    // Prepare: the ELB moved from the old node to the new one; two clients stay on the old.
    const path = join(dir, `${name.slice(0, 2)}.log`);
    await writeFile(path, '');
    for (const n of [ELB, `all.${ELB}`]) dns.setA(n, [ADDR.old], TTL_SECONDS);
    const config = parseConfig({
      resolvers: [dns.address],
      allowLoopback: true,
      flowLogs: { source: 'file', path, format, everyMinutes: 0, windowSeconds: 5, ignoreSources: ['127.0.0.1/32'] },
      targets: [{ name: 'app-alb', type: 'elb', host: ELB, port: nodes[0]!.port, timeoutMs: 500, probe: { protocol: 'http', path: '/health' } }],
    });
    const store = new MemoryStore();
    const check = () =>
      runCheck(config, { store, notifier: { notify: async () => undefined }, clock: { now: () => new Date() }, flowSource: new FileFlowSource(path) });
    await check();
    for (const n of [ELB, `all.${ELB}`]) dns.setA(n, [ADDR.new], TTL_SECONDS);
    await check();
    await new Promise((r) => setTimeout(r, PAST_TTL_MS));
    nodes[0]!.flowLog = new LabFlowLog(path, format, { instances: new Map([[ADDR.instance, labInstanceOf(ADDR.instance)]]), peered: new Set([ADDR.peered]) });
    // Act
    await labConnectFrom(ADDR.instance, ADDR.old, nodes[0]!.port);
    await labConnectFrom(ADDR.peered, ADDR.old, nodes[0]!.port);
    const report = await check();
    nodes[0]!.flowLog = undefined;
    // Assess
    const clients = report.findings.filter((f) => f.kind === 'stale-address-at-risk');
    expect(clients.map((f) => [f.key, f.evidence.client, f.evidence.clientKind]).sort()).toEqual(
      [
        [`app-alb/stale-client-seen/${ADDR.instance}`, named.client, named.clientKind],
        [`app-alb/stale-client-seen/${ADDR.peered}`, ADDR.peered, 'address'],
      ].sort(),
    );
    const both = clients.find((f) => f.evidence.sourceAddress === ADDR.instance)!;
    expect(both.evidence.recordedAt).toHaveLength(2);
    const peered = clients.find((f) => f.evidence.sourceAddress === ADDR.peered)!;
    // v5 says so by its direction; v2 because the node's interface receives from two sources.
    expect(peered.evidence.recordedAt).toEqual([`${labInterfaceOf(ADDR.old)} (the ELB node's)`]);
    // The node's own interface is never a client.
    expect(report.findings.some((f) => String(f.evidence.client).startsWith(labInterfaceOf(ADDR.old)))).toBe(false);
  });
});
