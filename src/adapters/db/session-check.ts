/**
 * The client's-eye view of an Aurora endpoint (src/core/ports.ts SessionCheck): log in with a
 * well-kept driver (`pg`, `mysql2`, loaded only when a target has a `login`) and ask whether this
 * session can write: PostgreSQL `SHOW transaction_read_only`, MySQL `@@innodb_read_only` (what
 * an Aurora MySQL reader sets) and `@@read_only`. One connection per check, closed at once;
 * bounded by the signal (the target's timeout and the check's deadline).
 */
import type { AuroraTarget } from '../../core/config.ts';
import type { SessionAnswer, SessionCheck } from '../../core/ports.ts';
import { abortable } from '../../core/probe/util.ts';
import { errorMessage } from '../../core/error-text.ts';
import { IpdriftError } from '../../core/errors.ts';

/** A user and password for one target. */
export interface DbCredentials {
  user: string;
  password: string;
}

/** Where passwords come from: a file (CLI), Secrets Manager (Lambda). */
export type CredentialSource = (target: AuroraTarget) => Promise<DbCredentials>;

/** The login or the question failed. */
export class SessionCheckError extends IpdriftError {
  override readonly name = 'SessionCheckError';
  readonly code = 'session-check';
}

/** Databases to log in to when the target names none (each engine's always-present one). */
const DEFAULT_DATABASE = { postgres: 'postgres', mysql: undefined } as const;

/** SessionCheck on the `pg` and `mysql2` drivers. */
export class DriverSessionCheck implements SessionCheck {
  constructor(private readonly credentials: CredentialSource) {}

  async canWrite(target: AuroraTarget, address: string, signal: AbortSignal): Promise<SessionAnswer> {
    const login = target.login;
    if (!login) throw new SessionCheckError(`${target.name} has no login`);
    // The credentials are under the same bound (a secret read can retry for seconds).
    const creds = await bounded(signal, () => undefined, this.credentials(target));
    const where = `${target.engine} at ${address}:${target.port} as ${creds.user}`;
    try {
      const readOnly = target.engine === 'postgres' ? await askPostgres(target, address, creds, signal) : await askMysql(target, address, creds, signal);
      return { address, user: creds.user, ...readOnly };
    } catch (err) {
      const why = signal.aborted ? 'timed out' : errorMessage(err);
      throw new SessionCheckError(`${where}: ${why}`, { cause: err });
    }
  }
}

/** `work`, or the signal's reason once it aborts; `end` runs either way (it closes the connection). */
const bounded = <T>(signal: AbortSignal, end: () => void, work: Promise<T>): Promise<T> =>
  abortable<T>(signal, ({ resolve, reject }) => {
    work.then(resolve, reject);
    return end;
  });

async function askPostgres(t: AuroraTarget, address: string, creds: DbCredentials, signal: AbortSignal): Promise<Omit<SessionAnswer, 'address' | 'user'>> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({
    host: address,
    port: t.port,
    user: creds.user,
    password: creds.password,
    database: t.login?.database ?? DEFAULT_DATABASE.postgres,
    application_name: 'ipdrift-session-check',
    connectionTimeoutMillis: t.timeoutMs,
    query_timeout: t.timeoutMs,
    // Aurora's certificates are signed by the RDS CA, which Node does not carry; the server's
    // name is still the one the config gives (SNI), and the password goes over TLS.
    ...(t.login?.tls === 'off' ? {} : { ssl: { rejectUnauthorized: false, servername: t.host } }),
  });
  client.on('error', () => undefined);
  try {
    return await bounded(
      signal,
      () => void client.end().catch(() => undefined),
      (async () => {
        await client.connect();
        const r = await client.query<{ transaction_read_only: string }>('SHOW transaction_read_only');
        const value = r.rows[0]?.transaction_read_only ?? '?';
        return { readOnly: value === 'on', answer: `transaction_read_only = ${value}` };
      })(),
    );
  } finally {
    void client.end().catch(() => undefined);
  }
}

async function askMysql(t: AuroraTarget, address: string, creds: DbCredentials, signal: AbortSignal): Promise<Omit<SessionAnswer, 'address' | 'user'>> {
  const mysql = await import('mysql2/promise');
  let conn: Awaited<ReturnType<typeof mysql.createConnection>> | undefined;
  try {
    return await bounded(
      signal,
      () => conn?.destroy(),
      (async () => {
        const pending = mysql.createConnection({
          host: address,
          port: t.port,
          user: creds.user,
          password: creds.password,
          ...(t.login?.database ? { database: t.login.database } : {}),
          connectTimeout: t.timeoutMs,
          ...(t.login?.tls === 'off' ? {} : { ssl: { rejectUnauthorized: false } }),
        });
        // Cut while still connecting: close the connection when it arrives, not never.
        signal.addEventListener('abort', () => void pending.then((c) => c.destroy()).catch(() => undefined), { once: true });
        conn = await pending;
        const [rows] = await conn.query({ sql: 'SELECT @@innodb_read_only AS innodb, @@read_only AS ro', timeout: t.timeoutMs });
        const row = (rows as { innodb: number | string; ro: number | string }[])[0] ?? { innodb: '?', ro: '?' };
        const readOnly = Number(row.innodb) === 1 || Number(row.ro) === 1;
        return { readOnly, answer: `@@innodb_read_only = ${row.innodb}, @@read_only = ${row.ro}` };
      })(),
    );
  } finally {
    conn?.destroy();
  }
}
