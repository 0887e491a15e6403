/**
 * A failover on real database servers: a PostgreSQL primary and its streaming replica
 * (pg_basebackup -R) behind the lab's DNS and fake RDS API. The failover stops the old primary
 * and really promotes the replica (`pg_ctl promote`); the API names the new writer once it is a
 * primary; the lab's DNS moves the cluster CNAME after an injected lag. The drill then measures
 * a real outage and a real promotion, and its DNS-lag figure must still be within 250 ms of the
 * lag the lab injected. Then the client's-eye view: a login through the writer endpoint while
 * DNS names the replica is `endpoint-reaches-reader`. Skipped, with the reason printed, only
 * without PostgreSQL and outside CI.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuroraLab, auroraLabAddresses } from '../../lab/aurora.ts';
import type { AuroraInstance } from '../../lab/aurora.ts';
import { runDrill } from '../../src/core/aurora/drill.ts';
import type { DrillResult } from '../../src/core/aurora/drill.ts';
import { defaultSamplerDeps } from '../../src/core/aurora/sampler.ts';
import { runCheck } from '../../src/core/check.ts';
import { parseConfig } from '../../src/core/config.ts';
import type { AuroraTarget } from '../../src/core/config.ts';
import { MemoryStore } from '../../src/adapters/local/memory-store.ts';
import { SessionCheckError } from '../../src/adapters/db/session-check.ts';
import { cliSessionCheck } from '../../src/cli/db-password.ts';
import { IN_CI, postgresBin, postgresMissing, startPostgres } from './db-servers.ts';
import type { PgServer } from './db-servers.ts';

const run = promisify(execFile);
// Addresses of this file: 127.0.68.0/24 (the lab's block).
const BLOCK = 68;
const LAG_MS = 2_000;
const TOLERANCE_MS = 250;
const MISSING = postgresMissing();
if (MISSING && !IN_CI) console.warn(`[aurora-real] skipping: ${MISSING}`);

/** One statement on one server, as the postgres user (trust); the first value. */
async function sql(s: PgServer, statement: string): Promise<string> {
  const args = ['-h', s.host, '-p', String(s.port), '-U', 'postgres', '-d', 'postgres', '-tAc', statement];
  const { stdout } = await run(`${postgresBin()}/psql`, args, { timeout: 10_000 });
  return stdout.trim();
}
const inRecovery = async (s: PgServer) => (await sql(s, 'SELECT pg_is_in_recovery()')) === 't';

/** A PostgreSQL instance of the lab, as the failover drives it. */
function pgInstance(name: string, s: PgServer, promote: () => Promise<void>): AuroraInstance {
  return {
    name,
    host: s.host,
    port: s.port,
    // The old writer goes down for good (fast shutdown: sessions are cut, as in a failover).
    goDown: () => s.stop('fast'),
    comeBack: async () => undefined,
    promote,
    stop: () => s.remove(),
  };
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
    lab = await AuroraLab.start({
      block: BLOCK,
      engine: 'postgres',
      instances: [pgInstance('orders-instance-1', primary, async () => undefined), pgInstance('orders-instance-2', replica, () => replica.promote())],
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

describe.skipIf(MISSING !== undefined && !IN_CI)('the session check on a real primary and replica: can this session write?', () => {
  // Addresses: 127.0.69.0/24 (the lab's block).
  const addr = auroraLabAddresses(69);
  let primary: PgServer;
  let replica: PgServer;
  let lab: AuroraLab;
  let target: AuroraTarget;

  beforeAll(async () => {
    // The replica on the first instance address: the lab's cluster endpoint names that one.
    primary = await startPostgres({ host: addr.instances[1] });
    await sql(primary, "CREATE ROLE app LOGIN PASSWORD 'app-password'");
    replica = await startPostgres({ host: addr.instances[0], port: primary.port, replicaOf: primary });
    // DNS names the replica as the writer: what a client sees when the endpoint lags a failover.
    lab = await AuroraLab.start({
      block: 69,
      engine: 'postgres',
      instances: [pgInstance('orders-instance-1', replica, async () => undefined), pgInstance('orders-instance-2', primary, async () => undefined)],
    });
    const config = lab.config();
    config.targets = config.targets.map((t) => ({ ...t, login: { user: 'app', tls: 'off' } }));
    target = parseConfig(config).targets[0] as AuroraTarget;
  }, 90_000);
  afterAll(async () => {
    await lab?.stop();
  }, 30_000);

  it('asks each instance as a client would: the replica is read-only, the primary is not; a wrong password says so', async () => {
    // Act
    const check = cliSessionCheck('app-password');
    const onReplica = await check.canWrite(target, replica.host, AbortSignal.timeout(10_000));
    const onPrimary = await check.canWrite(target, primary.host, AbortSignal.timeout(10_000));
    const wrong = cliSessionCheck('not-it').canWrite(target, primary.host, AbortSignal.timeout(10_000));
    // Assess
    expect(onReplica).toEqual({ address: replica.host, user: 'app', readOnly: true, answer: 'transaction_read_only = on' });
    expect(onPrimary).toMatchObject({ readOnly: false, answer: 'transaction_read_only = off' });
    await expect(wrong).rejects.toBeInstanceOf(SessionCheckError);
    await expect(wrong).rejects.toThrow(/password authentication failed for user "app"/);
  });

  it('a check through the writer endpoint that lands on the replica: endpoint-reaches-reader (critical)', async () => {
    // Act
    const report = await runCheck(parseConfig({ ...lab.config(), targets: [target] }), {
      store: new MemoryStore(),
      notifier: { notify: async () => undefined },
      clock: { now: () => new Date() },
      writerLookup: lab,
      sessionCheck: cliSessionCheck('app-password'),
    });
    // Assess
    const f = report.findings.find((x) => x.kind === 'endpoint-reaches-reader');
    expect(report.errors).toEqual([]);
    expect(f).toMatchObject({
      severity: 'critical',
      evidence: { address: replica.host, user: 'app', answer: 'transaction_read_only = on', dnsWriter: 'orders-instance-1' },
    });
  });
});
