/**
 * A failover on real database servers: a PostgreSQL primary and its streaming replica
 * (pg_basebackup -R) behind the lab's DNS and fake RDS API. The failover stops the old primary
 * and really promotes the replica (`pg_ctl promote`); the API names the new writer once it is a
 * primary; the lab's DNS moves the cluster CNAME after an injected lag. The drill then measures
 * a real outage and a real promotion, and its DNS-lag figure must still be within 250 ms of the
 * lag the lab injected. Skipped, with the reason printed, only without PostgreSQL and outside CI.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuroraLab, auroraLabAddresses } from '../../lab/aurora.ts';
import type { AuroraInstance } from '../../lab/aurora.ts';
import { runDrill } from '../../src/core/aurora/drill.ts';
import type { DrillResult } from '../../src/core/aurora/drill.ts';
import { defaultSamplerDeps } from '../../src/core/aurora/sampler.ts';
import { IN_CI, postgresBin, postgresMissing, startPostgres } from './db-servers.ts';
import type { PgServer } from './db-servers.ts';

const run = promisify(execFile);
// Addresses of this file: 127.0.68.0/24 (the lab's block).
const BLOCK = 68;
const LAG_MS = 2_000;
const TOLERANCE_MS = 250;
const MISSING = postgresMissing();
if (MISSING && !IN_CI) console.warn(`[aurora-real] skipping: ${MISSING}`);

/** `SELECT pg_is_in_recovery()` on one server, as the postgres user (trust). */
async function inRecovery(s: PgServer): Promise<boolean> {
  const { stdout } = await run(
    `${postgresBin()}/psql`,
    ['-h', s.host, '-p', String(s.port), '-U', 'postgres', '-d', 'postgres', '-tAc', 'SELECT pg_is_in_recovery()'],
    {
      timeout: 10_000,
    },
  );
  return stdout.trim() === 't';
}

describe.skipIf(MISSING !== undefined && !IN_CI)('a lab failover on a real PostgreSQL primary and replica', () => {
  const addr = auroraLabAddresses(BLOCK);
  let primary: PgServer;
  let replica: PgServer;
  let lab: AuroraLab;
  let replicaBefore: boolean;
  let result: DrillResult;

  beforeAll(async () => {
    primary = await startPostgres({ host: addr.instances[0] });
    replica = await startPostgres({ host: addr.instances[1], port: primary.port, replicaOf: primary });
    replicaBefore = await inRecovery(replica);
    const instance = (name: string, s: PgServer, promote: () => Promise<void>): AuroraInstance => ({
      name,
      host: s.host,
      port: s.port,
      // The old writer goes down for good (fast shutdown: sessions are cut, as in a failover).
      goDown: () => s.stop('fast'),
      comeBack: async () => undefined,
      promote,
      stop: () => s.remove(),
    });
    lab = await AuroraLab.start({
      block: BLOCK,
      engine: 'postgres',
      instances: [instance('orders-instance-1', primary, async () => undefined), instance('orders-instance-2', replica, () => replica.promote())],
      script: { swapAfterMs: 100, dnsLagMs: LAG_MS, restartMs: 60_000 },
    });
    const sampler = defaultSamplerDeps({ host: lab.clusterEndpoint, resolvers: [lab.dns.address], engine: 'postgres', port: lab.port, writers: lab });
    result = await runDrill(
      { cluster: lab.clusterIdentifier, host: lab.clusterEndpoint, deadlineMs: LAG_MS + 20_000 },
      { writers: lab, starter: lab, sampler },
    );
  }, 90_000);
  afterAll(async () => {
    await lab?.stop();
    await Promise.all([primary?.remove(), replica?.remove()]);
  }, 30_000);

  it('measures the DNS lag within 250 ms of the injected one, after a real promotion', async () => {
    // Assess
    const t = result.timeline;
    const injected = lab.injected!;
    const actual = injected.dnsMovedAt! - injected.swappedAt!;
    console.log(
      `real failover: injected DNS lag ${LAG_MS} ms (actual ${Math.round(actual)} ms), measured ${Math.round(t.dnsLagMs!)} ms, client outage ${Math.round(t.outage?.ms ?? -1)} ms`,
    );
    expect(replicaBefore).toBe(true);
    expect(await inRecovery(replica)).toBe(false);
    expect(t).toMatchObject({ settled: true, previousWriter: 'orders-instance-1', newWriter: 'orders-instance-2' });
    expect(Math.abs(t.dnsLagMs! - LAG_MS)).toBeLessThanOrEqual(TOLERANCE_MS);
  });

  it('the outage is real: the old primary refused from the failover until DNS named the promoted replica', () => {
    // Assess
    const t = result.timeline;
    const at = Object.fromEntries(t.steps.map((s) => [s.step, s.offsetMs]));
    expect(at['first-probe-failed']).toBeDefined();
    expect(t.outage?.ms).toBeGreaterThanOrEqual(LAG_MS - TOLERANCE_MS);
    expect(at['first-probe-ok-new-writer']!).toBeGreaterThanOrEqual(at['dns-names-new-writer']!);
    const counts = t.counts;
    expect(counts.probesFailed).toBeGreaterThan(0);
  });
});
