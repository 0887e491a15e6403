/**
 * Real database servers for the probes' end-to-end tests: Debian's PostgreSQL and MariaDB, each
 * on a free loopback port with its data directory in a temp dir, started and stopped by the test
 * (nothing of the system's own instances is touched). PostgreSQL refuses to run as root, so as
 * root its commands run as the `postgres` user the package creates.
 */
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { appendFile, chmod, chown, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const LOOPBACK = '127.0.0.1';
/** Every wait here has a bound. */
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;
const COMMAND_TIMEOUT_MS = 60_000;

/** `CI=true`: a missing server fails instead of skipping. */
export const IN_CI = process.env.CI !== undefined && process.env.CI !== 'false' && process.env.CI !== '0';
const IS_ROOT = process.getuid?.() === 0;

/** Directory of the newest PostgreSQL's binaries (Debian: /usr/lib/postgresql/<major>/bin). */
export function postgresBin(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const majors = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'postgres')))
    .sort((a, b) => Number(b) - Number(a));
  return majors[0] === undefined ? undefined : join(root, majors[0], 'bin');
}

/** Why PostgreSQL tests cannot run here, or undefined. */
export function postgresMissing(): string | undefined {
  if (!postgresBin()) return 'PostgreSQL not installed (apt-get install postgresql)';
  if (IS_ROOT && !userIds('postgres')) return 'running as root and no "postgres" user to run PostgreSQL as';
  return undefined;
}

/** Why MariaDB tests cannot run here, or undefined. */
export function mariadbMissing(): string | undefined {
  return existsSync('/usr/sbin/mariadbd') && existsSync('/usr/bin/mariadb-install-db') ? undefined : 'MariaDB not installed (apt-get install mariadb-server)';
}

/** A system user's ids, from /etc/passwd (synchronous: skip decisions are made at collection time). */
function userIds(name: string): { uid: number; gid: number } | undefined {
  const line = (existsSync('/etc/passwd') ? readFileSync('/etc/passwd', 'utf8') : '').split('\n').find((l) => l.startsWith(`${name}:`));
  if (!line) return undefined;
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

/** A free port on loopback (the kernel's pick, released at once). */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, LOOPBACK, resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** Resolves once `port` accepts a TCP connection; rejects after `timeoutMs`. */
export async function waitForPort(port: number, timeoutMs = START_TIMEOUT_MS, host = LOOPBACK): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ host, port });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`nothing listens on ${host}:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A PostgreSQL server of the test's own. */
export interface PgServer {
  host: string;
  port: number;
  dataDir: string;
  /** `pg_ctl promote`, waiting until it is a primary. */
  promote(): Promise<void>;
  /** `pg_ctl stop -m <mode>`; `wait: false` returns at once (a smart stop waits for sessions). */
  stop(mode?: 'smart' | 'fast' | 'immediate', wait?: boolean): Promise<void>;
  /** Stops it (immediately) and removes its directory. */
  remove(): Promise<void>;
}

export interface PgOptions {
  /** postgresql.conf settings. */
  settings?: Record<string, string | number>;
  /** A key and certificate (PEM): ssl = on. */
  tls?: { key: string; cert: string };
  /** Start as a standby that never gets WAL (standby.signal): the server stays in recovery. */
  standby?: boolean;
  /** Loopback address to listen on (default 127.0.0.1) and port (default a free one). */
  host?: string;
  port?: number;
  /** A streaming replica of this server (pg_basebackup -R), hot standby on. */
  replicaOf?: PgServer;
}

/**
 * Starts PostgreSQL on a free loopback port: trust for the `postgres` user (the tests' own
 * sessions), SCRAM for everyone else from 127.0.0.1 (the probe's `ipdrift` gets an
 * authentication request, as from Aurora).
 */
export async function startPostgres(opts: PgOptions = {}): Promise<PgServer> {
  const bin = postgresBin();
  if (!bin) throw new Error(postgresMissing());
  const dir = await mkdtemp(join(tmpdir(), 'ipdrift-pg-'));
  const dataDir = join(dir, 'data');
  const ids = IS_ROOT ? userIds('postgres') : undefined;
  if (ids) await chown(dir, ids.uid, ids.gid);
  const as = (cmd: string, args: string[]) =>
    ids
      ? run('runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args], { timeout: COMMAND_TIMEOUT_MS })
      : run(join(bin, cmd), args, { timeout: COMMAND_TIMEOUT_MS });
  const host = opts.host ?? LOOPBACK;
  const primary = opts.replicaOf;
  if (primary) await as('pg_basebackup', ['-h', primary.host, '-p', String(primary.port), '-U', 'postgres', '-D', dataDir, '-R', '-X', 'stream', '--no-sync']);
  else await as('initdb', ['-D', dataDir, '-A', 'trust', '-U', 'postgres', '--no-sync', '--no-instructions']);
  const port = opts.port ?? (await freePort());
  const settings: Record<string, string | number> = {
    port,
    listen_addresses: `'${host}'`,
    unix_socket_directories: `'${dir}'`,
    fsync: 'off',
    ...(opts.standby ? { hot_standby: 'off' } : {}),
    ...opts.settings,
  };
  if (opts.tls) {
    await writeFile(join(dataDir, 'server.crt'), opts.tls.cert);
    await writeFile(join(dataDir, 'server.key'), opts.tls.key, { mode: 0o600 });
    if (ids) for (const f of ['server.crt', 'server.key']) await chown(join(dataDir, f), ids.uid, ids.gid);
    await chmod(join(dataDir, 'server.key'), 0o600);
    Object.assign(settings, { ssl: 'on', ssl_cert_file: "'server.crt'", ssl_key_file: "'server.key'" });
  }
  await appendFile(
    join(dataDir, 'postgresql.conf'),
    `\n${Object.entries(settings)
      .map(([k, v]) => `${k} = ${v}`)
      .join('\n')}\n`,
  );
  // Connections to 127.0.x.y come from 127.0.0.1 or the address itself: the whole loopback block.
  await writeFile(
    join(dataDir, 'pg_hba.conf'),
    'local all all trust\nhost replication postgres 127.0.0.0/8 trust\nhost all postgres 127.0.0.0/8 trust\nhost all all 127.0.0.0/8 scram-sha-256\n',
  );
  if (opts.standby) await writeFile(join(dataDir, 'standby.signal'), '');
  if (ids) await run('chown', ['-R', `${ids.uid}:${ids.gid}`, dir], { timeout: COMMAND_TIMEOUT_MS });
  // A standby never reaches "ready", so pg_ctl is not asked to wait: the port says when it is up.
  await as('pg_ctl', ['-D', dataDir, '-l', join(dir, 'log'), ...(opts.standby ? ['-W'] : ['-w', '-t', '30']), 'start']);
  await waitForPort(port, START_TIMEOUT_MS, host);
  let stopped = false;
  const server: PgServer = {
    host,
    port,
    dataDir,
    async promote() {
      await as('pg_ctl', ['-D', dataDir, '-w', '-t', '30', 'promote']);
    },
    async stop(mode = 'fast', wait = true) {
      await as('pg_ctl', ['-D', dataDir, '-m', mode, ...(wait ? ['-w', '-t', String(STOP_TIMEOUT_MS / 1000)] : ['-W']), 'stop']);
      if (wait) stopped = true;
    },
    async remove() {
      if (!stopped) await as('pg_ctl', ['-D', dataDir, '-m', 'immediate', '-w', 'stop']).catch(() => undefined);
      stopped = true;
      await rm(dir, { recursive: true, force: true });
    },
  };
  return server;
}

/**
 * Opens `n` sessions as `postgres` (trust) and keeps them until `close()`: what fills
 * max_connections, or keeps a smart shutdown waiting.
 */
export async function pgSessions(port: number, n: number, host = LOOPBACK): Promise<{ close(): void }> {
  const sockets: Socket[] = [];
  await Promise.all(
    Array.from({ length: n }, async () => {
      const s = connect({ host, port });
      sockets.push(s);
      s.on('error', () => undefined);
      await new Promise<void>((resolve, reject) => {
        s.once('connect', () => {
          const params = Buffer.from('user\0postgres\0database\0postgres\0\0');
          const head = Buffer.alloc(8);
          head.writeInt32BE(8 + params.length, 0);
          head.writeInt32BE(196_608, 4);
          s.write(Buffer.concat([head, params]));
        });
        // ReadyForQuery ('Z') ends the login: the session holds its slot from then on.
        const timer = setTimeout(() => reject(new Error('a test session did not log in within 10 s')), 10_000);
        let seen = Buffer.alloc(0);
        s.on('data', (c: Buffer) => {
          seen = Buffer.concat([seen, c]);
          if (!seen.includes(0x5a)) return;
          clearTimeout(timer);
          resolve();
        });
      });
    }),
  );
  return {
    close: () => {
      for (const s of sockets) s.destroy();
    },
  };
}

/** A MariaDB server of the test's own. */
export interface MariaServer {
  port: number;
  /** Runs SQL as root over the server's own socket. */
  sql(statement: string): Promise<string>;
  /** SIGTERM and wait for the exit. */
  stop(): Promise<void>;
  remove(): Promise<void>;
}

/** Starts MariaDB on a free loopback port with `args` (e.g. `--max-connections=10`). */
export async function startMariadb(args: readonly string[] = []): Promise<MariaServer> {
  const dir = await mkdtemp(join(tmpdir(), 'ipdrift-mariadb-'));
  const dataDir = join(dir, 'data');
  const socket = join(dir, 'sock');
  // A server of its own tmpdir: mariadbd deletes every `#sql*` file in its tmpdir when it starts,
  // so two servers sharing /tmp (this suite starts two at once) delete each other's bootstrap
  // tables ("Unknown table 'mysql.tmp_user_sys'").
  const tmp = join(dir, 'tmp');
  await mkdir(tmp);
  const user = IS_ROOT ? ['--user=root'] : [];
  await run(
    'mariadb-install-db',
    ['--no-defaults', `--datadir=${dataDir}`, `--tmpdir=${tmp}`, ...user, '--auth-root-authentication-method=normal', '--skip-test-db'],
    { timeout: COMMAND_TIMEOUT_MS },
  );
  const port = await freePort();
  const child: ChildProcess = spawn(
    '/usr/sbin/mariadbd',
    [
      '--no-defaults',
      `--datadir=${dataDir}`,
      `--tmpdir=${tmp}`,
      ...user,
      `--port=${port}`,
      `--bind-address=${LOOPBACK}`,
      `--socket=${socket}`,
      `--pid-file=${join(dir, 'pid')}`,
      `--log-error=${join(dir, 'error.log')}`,
      '--skip-log-bin',
      '--innodb-buffer-pool-size=16M',
      ...args,
    ],
    { stdio: 'ignore' },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await waitForPort(port);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  };
  return {
    port,
    sql: async (statement) => (await run('mariadb', ['--no-defaults', '-S', socket, '-uroot', '-N', '-e', statement], { timeout: COMMAND_TIMEOUT_MS })).stdout,
    stop,
    async remove() {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Opens `n` raw connections and keeps them (each holds a connection slot while in its handshake). */
export async function rawConnections(port: number, n: number): Promise<{ close(): void }> {
  const sockets = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<Socket>((resolve, reject) => {
          const s = connect({ host: LOOPBACK, port });
          s.once('data', () => resolve(s));
          s.once('error', reject);
        }),
    ),
  );
  return {
    close: () => {
      for (const s of sockets) s.destroy();
    },
  };
}
