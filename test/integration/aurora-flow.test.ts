/**
 * Aurora's old writer in the flow logs, in the lab: after a failover, the cluster endpoint names
 * the new writer; a client that cached the old answer keeps connecting to the old writer's
 * address (now a reader), and the instances' flow log records it. ipdrift names that client, with
 * how long after the writer changed it still connected (info: a reader-endpoint client connects
 * there on purpose); the client that followed DNS is never named.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuroraLab, auroraLabAddresses } from '../../lab/aurora.ts';
import { labConnectFrom } from '../../lab/client.ts';
import { LAB_V5_FORMAT, LabFlowLog, labInterfaceOf } from '../../lab/flow-log.ts';
import { FileFlowSource } from '../../src/adapters/local/flow-file.ts';
import { MemoryStore } from '../../src/adapters/local/memory-store.ts';
import { runCheck } from '../../src/core/check.ts';
import { parseConfig } from '../../src/core/config.ts';

// Addresses of this file: 127.0.74.0/24.
const BLOCK = 74;
const CLIENT = { stuck: '127.0.74.50', moved: '127.0.74.51' } as const;
const TTL_SECONDS = 1;
/** The TTL plus ipdrift's grace (at least 1 s), and a margin. */
const PAST_TTL_MS = 2_300;

describe('clients of the old writer after an Aurora failover (flow logs)', () => {
  let dir: string;
  let lab: AuroraLab;
  let flowPath: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ipdrift-aurora-flow-'));
    flowPath = join(dir, 'flow.log');
    await writeFile(flowPath, '');
    lab = await AuroraLab.start({
      block: BLOCK,
      ttlSeconds: TTL_SECONDS,
      flowLog: new LabFlowLog(flowPath, LAB_V5_FORMAT),
      script: { swapAfterMs: 50, dnsLagMs: 100, restartMs: 100 },
    });
  });
  afterAll(async () => {
    await lab?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('names the client that stays on the old writer, with the seconds since the change; not the one that moved', async () => {
    // Prepare
    const input = lab.config();
    const config = parseConfig({
      ...input,
      flowLogs: { source: 'file', path: flowPath, format: LAB_V5_FORMAT, everyMinutes: 0, windowSeconds: 5, ignoreSources: ['127.0.0.1/32'] },
    });
    const store = new MemoryStore();
    const check = () =>
      runCheck(config, { store, notifier: { notify: async () => undefined }, clock: { now: () => new Date() }, flowSource: new FileFlowSource(flowPath) });
    const [oldWriter, newWriter] = auroraLabAddresses(BLOCK).instances;
    await check();
    // Act: the failover; DNS follows after its lag; past the TTL one client still uses the old writer.
    await lab.failover(lab.clusterIdentifier);
    await new Promise((r) => setTimeout(r, 400));
    const changed = await check();
    await new Promise((r) => setTimeout(r, PAST_TTL_MS));
    await labConnectFrom(CLIENT.stuck, oldWriter, lab.port);
    await labConnectFrom(CLIENT.moved, newWriter, lab.port);
    const after = await check();
    // Assess
    expect(changed.targets[0]!.retired).toEqual([oldWriter]);
    const named = after.findings.filter((f) => f.evidence.sourceAddress !== undefined);
    expect(named.map((f) => [f.key, f.kind, f.severity])).toEqual([[`orders-db/stale-client-seen/${CLIENT.stuck}`, 'stale-address-at-risk', 'info']]);
    expect(named[0]!.summary).toContain(`${labInterfaceOf(CLIENT.stuck)} (${CLIENT.stuck}) still connects to the old writer ${oldWriter}:${lab.port}`);
    expect(named[0]!.evidence.secondsAfterChange).toBeGreaterThanOrEqual(1);
    expect(named[0]!.advice).toContain('failover-aware driver');
  });
});
