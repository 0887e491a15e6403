/**
 * The `postgres` and `mysql` probes against real servers (Debian's PostgreSQL and MariaDB),
 * each started by the test on a free loopback port: TLS on and off, a server shutting down or
 * still in recovery, one at max_connections, a MariaDB that refuses the host. Each must be a
 * clear probe result. Skipped, with the reason printed, only when a server is missing and CI is
 * not set (.ci/run installs both).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LIMITS } from '../../src/core/constants.ts';
import { runProbe } from '../../src/core/probe/run.ts';
import type { ProbeSpec } from '../../src/core/probe/types.ts';
import { selfSignedCert } from '../integration/probe-servers.ts';
import { parseConfig } from '../../src/core/config.ts';
import type { AuroraTarget } from '../../src/core/config.ts';
import { SessionCheckError } from '../../src/adapters/db/session-check.ts';
import { cliSessionCheck } from '../../src/cli/db-password.ts';
import { IN_CI, mariadbMissing, pgSessions, postgresMissing, rawConnections, startMariadb, startPostgres } from './db-servers.ts';
import type { MariaServer, PgServer } from './db-servers.ts';

const HOST = 'orders.cluster-abc.ap-northeast-2.rds.amazonaws.com';
const ADDRESS = '127.0.0.1';
const TIMEOUT_MS = 3_000;
const spec = (protocol: 'mysql' | 'postgres', port: number): ProbeSpec => ({ protocol, host: HOST, port, path: '/', maxBodyBytes: LIMITS.maxBodyBytes });
const probe = (protocol: 'mysql' | 'postgres', port: number) => runProbe(ADDRESS, spec(protocol, port), { timeoutMs: TIMEOUT_MS });
/** Starting real servers takes seconds. */
const SERVER_MS = 60_000;

const PG_MISSING = postgresMissing();
const MARIA_MISSING = mariadbMissing();
for (const [name, why] of [
  ['PostgreSQL', PG_MISSING],
  ['MariaDB', MARIA_MISSING],
] as const)
  if (why && !IN_CI) console.warn(`[db-probes] skipping the ${name} probes: ${why}`);

describe.skipIf(PG_MISSING !== undefined && !IN_CI)('postgres probe against PostgreSQL', () => {
  let plain: PgServer;
  let tls: PgServer;
  let small: PgServer;
  let standby: PgServer;
  beforeAll(async () => {
    const cert = await selfSignedCert(HOST);
    // max_connections 2, none reserved: two sessions fill it.
    [plain, tls, small, standby] = await Promise.all([
      startPostgres(),
      startPostgres({ tls: cert }),
      startPostgres({ settings: { max_connections: 2, superuser_reserved_connections: 0 } }),
      startPostgres({ standby: true }),
    ]);
  }, SERVER_MS);
  afterAll(async () => {
    await Promise.all([plain, tls, small, standby].map((s) => s?.remove()));
  }, SERVER_MS);

  it('TLS off: N, then the authentication request (SCRAM), never a password', async () => {
    expect(await probe('postgres', plain.port)).toMatchObject({ ok: true, identity: 'postgres:ssl=N', details: { ssl: false, auth: 'sasl' } });
  });

  it('TLS on: S, the handshake, then the authentication request over TLS', async () => {
    expect(await probe('postgres', tls.port)).toMatchObject({ ok: true, identity: 'postgres:ssl=S', details: { ssl: true, auth: 'sasl' } });
  });

  it('at max_connections: fails with "too many clients" (53300), though the SSLRequest alone would have said N', async () => {
    // Prepare
    const sessions = await pgSessions(small.port, 2);
    try {
      // Act
      const full = await probe('postgres', small.port);
      // Assess
      expect(full).toMatchObject({ ok: false, details: { ssl: false, sqlState: '53300' } });
      expect(full.error?.message).toBe(`${ADDRESS}:${small.port}: PostgreSQL too many connections: sorry, too many clients already (SQLSTATE 53300)`);
    } finally {
      sessions.close();
    }
  });

  it('in recovery (a standby with hot_standby off): fails, not accepting connections (57P03)', async () => {
    const r = await probe('postgres', standby.port);
    expect(r).toMatchObject({ ok: false, details: { sqlState: '57P03' } });
    expect(r.error?.message).toMatch(/PostgreSQL not accepting connections: the database system is (not accepting connections|starting up)/);
  });

  it('shutting down: fails with 57P03 while a session keeps it waiting; refused once it is gone', async () => {
    // Prepare: a smart shutdown waits for the open session.
    const session = await pgSessions(plain.port, 1);
    await plain.stop('smart', false);
    // Act
    const shuttingDown = await probe('postgres', plain.port);
    session.close();
    let after = await probe('postgres', plain.port);
    for (let i = 0; i < 50 && after.error?.code !== 'refused'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      after = await probe('postgres', plain.port);
    }
    // Assess
    expect(shuttingDown.error?.message).toBe(
      `${ADDRESS}:${plain.port}: PostgreSQL not accepting connections: the database system is shutting down (SQLSTATE 57P03)`,
    );
    expect(after).toMatchObject({ ok: false, error: { code: 'refused' } });
  });

  it('a PostgreSQL port is no MySQL: the mysql probe says so (PostgreSQL waits for the client to speak)', async () => {
    const r = await runProbe(ADDRESS, spec('mysql', tls.port), { timeoutMs: 300 });
    expect(r.ok).toBe(false);
    expect(r.error?.code).toMatch(/timeout|protocol/);
  });
});

describe.skipIf(MARIA_MISSING !== undefined && !IN_CI)('mysql probe against MariaDB', () => {
  let open: MariaServer;
  let closed: MariaServer;
  beforeAll(async () => {
    // `closed`: only root@localhost, names not resolved, so a client from 127.0.0.1 matches no account.
    [open, closed] = await Promise.all([startMariadb(['--max-connections=10', '--connect-timeout=30']), startMariadb(['--skip-name-resolve'])]);
    await closed.sql(
      "DROP USER IF EXISTS 'root'@'127.0.0.1'; DROP USER IF EXISTS 'root'@'::1'; DELETE FROM mysql.global_priv WHERE host NOT IN ('localhost'); FLUSH PRIVILEGES;",
    );
  }, SERVER_MS);
  afterAll(async () => {
    await Promise.all([open, closed].map((s) => s?.remove()));
  }, SERVER_MS);

  it("reads the greeting: MariaDB's version, a connection id each time", async () => {
    // Act
    const [a, b] = [await probe('mysql', open.port), await probe('mysql', open.port)];
    // Assess
    expect(a).toMatchObject({ ok: true, details: { protocolVersion: 10, serverVersion: expect.stringMatching(/MariaDB/) } });
    expect(a.identity).toBe(`mysql:${(a.details as { serverVersion: string }).serverVersion}`);
    expect((b.details as { connectionId: number }).connectionId).not.toBe((a.details as { connectionId: number }).connectionId);
  });

  it('at max_connections: ERROR 1040 instead of a greeting', async () => {
    // Prepare: MariaDB keeps one slot over max_connections for an administrator; fill both.
    const held = await rawConnections(open.port, 11);
    try {
      // Act
      const r = await probe('mysql', open.port);
      // Assess
      expect(r).toMatchObject({ ok: false, error: { code: 'protocol' }, details: { errorCode: 1040 } });
      expect(r.error?.message).toBe(`MySQL at ${ADDRESS}:${open.port} refused the session: ERROR 1040: Too many connections`);
    } finally {
      held.close();
    }
  });

  it('a server that refuses the host: ERROR 1130 instead of a greeting', async () => {
    const r = await probe('mysql', closed.port);
    expect(r).toMatchObject({ ok: false, details: { errorCode: 1130 } });
    expect(r.error?.message).toBe(
      `MySQL at ${ADDRESS}:${closed.port} refused the session: ERROR 1130: Host '127.0.0.1' is not allowed to connect to this MariaDB server`,
    );
  });

  it('the session check: writable, then read-only once the server is (an Aurora MySQL reader sets innodb_read_only)', async () => {
    // Prepare
    await open.sql("CREATE USER IF NOT EXISTS 'app'@'127.0.0.1' IDENTIFIED BY 'app-password'");
    const target = parseConfig({
      allowLoopback: true,
      targets: [
        { name: 'orders-db', type: 'aurora', host: HOST, port: open.port, engine: 'mysql', clusterIdentifier: 'orders', login: { user: 'app', tls: 'off' } },
      ],
    }).targets[0] as AuroraTarget;
    const check = cliSessionCheck('app-password');
    // Act
    const writable = await check.canWrite(target, ADDRESS, AbortSignal.timeout(10_000));
    await open.sql('SET GLOBAL read_only = 1');
    const readOnly = await check.canWrite(target, ADDRESS, AbortSignal.timeout(10_000)).finally(() => open.sql('SET GLOBAL read_only = 0'));
    const wrong = cliSessionCheck('not-it').canWrite(target, ADDRESS, AbortSignal.timeout(10_000));
    // Assess
    expect(writable).toEqual({ address: ADDRESS, user: 'app', readOnly: false, answer: '@@innodb_read_only = 0, @@read_only = 0' });
    expect(readOnly).toMatchObject({ readOnly: true, answer: '@@innodb_read_only = 0, @@read_only = 1' });
    await expect(wrong).rejects.toBeInstanceOf(SessionCheckError);
    await expect(wrong).rejects.toThrow(/Access denied for user 'app'@/);
  });

  it('a MariaDB port is no PostgreSQL: the postgres probe says so', async () => {
    const r = await probe('postgres', open.port);
    expect(r).toMatchObject({ ok: false, error: { code: 'protocol' } });
  });

  it('stopped: refused', async () => {
    await closed.stop();
    expect(await probe('mysql', closed.port)).toMatchObject({ ok: false, error: { code: 'refused' } });
  });
});
