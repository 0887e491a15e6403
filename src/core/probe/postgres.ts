/**
 * PostgreSQL probe: what a libpq client does up to the point where it would send a password.
 * It sends an SSLRequest and reads the one-byte answer, 'S' (TLS) or 'N'; after 'S' it does the
 * TLS handshake; then it sends a StartupMessage (user and database `ipdrift`, application_name
 * `ipdrift-probe`) and reads the server's first message. An authentication request (or
 * AuthenticationOk) means the server takes connections; so does a login refusal (no such role
 * or database, no pg_hba.conf entry): authentication is not what is probed. What a client would
 * be refused for is a failure: the server starting up, shutting down or in recovery
 * (SQLSTATE 57P03) and too many connections (53300). The SSLRequest answer alone cannot tell:
 * the postmaster answers it in every one of those states (checked against PostgreSQL 15).
 *
 * TLS here is only the way to the startup stage, not a trust decision: the certificate is not
 * verified (Aurora's are signed by the RDS CA, which Node does not carry) and no credential is
 * ever sent. Server-side trace: one connection per probe that ends before authentication; the
 * server may log it as "could not receive data from client" or, with trust auth, a FATAL for the
 * unknown role `ipdrift`.
 */
import { connect, isIP } from 'node:net';
import type { Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { ProbeFn, ProbeOutcome } from './types.ts';
import { abortable } from './util.ts';
import { IpdriftError } from '../errors.ts';

/** SSLRequest: Int32 length 8, Int32 code 80877103 (1234 << 16 | 5679), big-endian. */
export const SSL_REQUEST_CODE = 80_877_103;
const SSL_REQUEST_LENGTH = 8;

/** The SSLRequest packet. */
export function sslRequest(): Buffer {
  const b = Buffer.alloc(SSL_REQUEST_LENGTH);
  b.writeInt32BE(SSL_REQUEST_LENGTH, 0);
  b.writeInt32BE(SSL_REQUEST_CODE, 4);
  return b;
}

/** Answers to an SSLRequest. 'E' comes from servers that reject it (ErrorResponse). */
const ANSWER = { ssl: 0x53 /* S */, noSsl: 0x4e /* N */, error: 0x45 /* E */ } as const;

/** ErrorResponse field that carries the human-readable message. */
const FIELD_MESSAGE = 0x4d; /* M */
/** Type byte + Int32 length before an ErrorResponse's fields. */
const ERROR_HEADER_BYTES = 5;

/** The answer was neither 'S' nor 'N' (not PostgreSQL, or a server refusing us). */
export class PostgresAnswerError extends IpdriftError {
  override readonly name = 'PostgresAnswerError';
  readonly code = 'postgres-answer';
}

/** Interprets the bytes received after the SSLRequest; undefined while an ErrorResponse is incomplete. */
export function parseSslAnswer(bytes: Buffer): { ssl: boolean } | undefined {
  const first = bytes[0];
  if (first === undefined) return undefined;
  if (first === ANSWER.ssl || first === ANSWER.noSsl) {
    // Bytes after the answer before we spoke again: a man in the middle injecting data
    // (CVE-2021-23222), or not PostgreSQL. Either way not a healthy server.
    if (bytes.length > 1) throw new PostgresAnswerError(`${bytes.length - 1} unexpected byte(s) after the SSLRequest answer`);
    return { ssl: first === ANSWER.ssl };
  }
  if (first === ANSWER.error) {
    if (bytes.length < ERROR_HEADER_BYTES) return undefined;
    const end = 1 + bytes.readInt32BE(1);
    if (bytes.length < end) return undefined;
    throw new PostgresAnswerError(`the server answered the SSLRequest with an error: ${errorMessage(bytes.subarray(ERROR_HEADER_BYTES, end))}`);
  }
  throw new PostgresAnswerError(`answer byte 0x${first.toString(16).padStart(2, '0')} to the SSLRequest: not a PostgreSQL server`);
}

/** The 'M' field of ErrorResponse fields (type byte, NUL-terminated string, ..., NUL). */
function errorMessage(fields: Buffer): string {
  return errorField(fields, FIELD_MESSAGE) ?? '(no message)';
}

/** One field of ErrorResponse fields. */
function errorField(fields: Buffer, wanted: number): string | undefined {
  let at = 0;
  while (at < fields.length && fields[at] !== 0) {
    const type = fields[at]!;
    const end = fields.indexOf(0, at + 1);
    if (end === -1) break;
    if (type === wanted) return fields.toString('utf8', at + 1, end);
    at = end + 1;
  }
  return undefined;
}

/** Protocol 3.0, the only one servers since 7.4 speak. */
const PROTOCOL_3_0 = 196_608;
/** What the StartupMessage says; names the probe in the server's log and pg_stat_activity. */
export const STARTUP_PARAMETERS = { user: 'ipdrift', database: 'ipdrift', application_name: 'ipdrift-probe' } as const;
/** Backend message types the probe reads first. */
const MESSAGE = { authentication: 0x52 /* R */, error: 0x45 /* E */, notice: 0x4e /* N */ } as const;
/** A first message longer than this is not PostgreSQL. */
const MAX_FIRST_MESSAGE_BYTES = 64 * 1024;
/** ErrorResponse field: SQLSTATE. */
const FIELD_SQLSTATE = 0x43; /* C */
/**
 * Login refusals: the server took the connection and judged who asks (the probe never logs in).
 * 28000 invalid authorization (no such role, no pg_hba.conf entry), 28P01 wrong password, 3D000
 * no such database.
 */
const ACCEPTING_REFUSALS: ReadonlySet<string> = new Set(['28000', '28P01', '3D000']);
/** Why a client would be turned away, by SQLSTATE. */
const NOT_ACCEPTING: Readonly<Record<string, string>> = {
  '57P03': 'not accepting connections',
  '53300': 'too many connections',
};
/** Authentication request codes, for details. */
const AUTH_KINDS: Readonly<Record<number, string>> = { 0: 'ok', 3: 'password', 5: 'md5', 7: 'gss', 9: 'sspi', 10: 'sasl' };

/** The StartupMessage the probe sends. */
export function startupMessage(): Buffer {
  const params = Buffer.from(`${Object.entries(STARTUP_PARAMETERS).flat().join('\0')}\0\0`, 'utf8');
  const head = Buffer.alloc(8);
  head.writeInt32BE(8 + params.length, 0);
  head.writeInt32BE(PROTOCOL_3_0, 4);
  return Buffer.concat([head, params]);
}

/** What the server's first message to the StartupMessage says. */
export type StartupAnswer =
  | { accepting: true; auth: string }
  | { accepting: true; refused: { sqlState: string; message: string } }
  | { accepting: false; sqlState: string; message: string; why: string };

/**
 * Interprets the server's first message to the StartupMessage (NoticeResponses before it are
 * skipped); undefined while incomplete. Throws PostgresAnswerError for anything else.
 */
export function parseStartupAnswer(all: Buffer): StartupAnswer | undefined {
  let bytes = all;
  for (;;) {
    if (bytes.length < ERROR_HEADER_BYTES) return undefined;
    const type = bytes[0]!;
    const length = bytes.readInt32BE(1);
    if (length < 4 || length > MAX_FIRST_MESSAGE_BYTES) throw new PostgresAnswerError(`first message announces ${length} bytes: not a PostgreSQL server`);
    if (bytes.length < 1 + length) return undefined;
    if (type === MESSAGE.notice) {
      bytes = bytes.subarray(1 + length);
      continue;
    }
    if (type === MESSAGE.authentication) {
      const code = length >= 8 ? bytes.readInt32BE(ERROR_HEADER_BYTES) : -1;
      return { accepting: true, auth: AUTH_KINDS[code] ?? `code ${code}` };
    }
    if (type === MESSAGE.error) {
      const fields = bytes.subarray(ERROR_HEADER_BYTES, 1 + length);
      const sqlState = errorField(fields, FIELD_SQLSTATE) ?? '?????';
      const message = errorMessage(fields);
      if (ACCEPTING_REFUSALS.has(sqlState)) return { accepting: true, refused: { sqlState, message } };
      return { accepting: false, sqlState, message, why: NOT_ACCEPTING[sqlState] ?? 'refused the session' };
    }
    throw new PostgresAnswerError(`message type 0x${type.toString(16).padStart(2, '0')} in answer to the StartupMessage: not a PostgreSQL server`);
  }
}

/**
 * Connects, sends SSLRequest, after 'S' does the TLS handshake, sends the StartupMessage and
 * reads the first answer, then closes (before any credential). ok with `details`
 * {ssl, auth | refused}; a server that would turn clients away fails with its SQLSTATE.
 */
export const probePostgres: ProbeFn = (address, spec, signal) =>
  abortable<ProbeOutcome>(signal, ({ resolve, reject }) => {
    const where = `${address}:${spec.port}`;
    const raw = connect({ host: address, port: spec.port });
    let current: Socket = raw;
    let ssl: boolean | undefined;
    let received = Buffer.alloc(0);
    const fail = (message: string, details?: Record<string, unknown>) =>
      resolve({ ok: false, error: { code: 'protocol', message: `${where}: ${message}` }, ...(details ? { details } : {}) });

    const onStartupAnswer = (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      try {
        const a = parseStartupAnswer(received);
        if (!a) return;
        const tls = { ssl: ssl === true };
        if (!a.accepting) {
          fail(`PostgreSQL ${a.why}: ${a.message} (SQLSTATE ${a.sqlState})`, { ...tls, sqlState: a.sqlState });
          return;
        }
        resolve({
          ok: true,
          identity: `postgres:ssl=${ssl ? 'S' : 'N'}`,
          details: { ...tls, ...('auth' in a ? { auth: a.auth } : { refused: a.refused }) },
        });
      } catch (err) {
        if (err instanceof PostgresAnswerError) fail(err.message);
        else reject(err);
      }
    };
    const startup = (socket: Socket) => {
      current = socket;
      received = Buffer.alloc(0);
      socket.on('data', onStartupAnswer);
      socket.once('end', () => fail('closed the connection without answering the StartupMessage'));
      socket.write(startupMessage());
    };

    raw.once('connect', () => raw.write(sslRequest()));
    const onSslAnswer = (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      try {
        const answer = parseSslAnswer(received);
        if (!answer) return;
        raw.off('data', onSslAnswer);
        raw.off('end', onEarlyEnd);
        ssl = answer.ssl;
        if (!answer.ssl) return startup(raw);
        // The way to the startup stage, not a trust decision (see the module note): nothing secret is sent.
        const secure = tlsConnect({ socket: raw, ...(isIP(spec.host) ? {} : { servername: spec.host }), rejectUnauthorized: false });
        let handshaken = false;
        secure.on('error', (err) =>
          handshaken ? reject(err) : resolve({ ok: false, error: { code: 'tls', message: `${where}: TLS handshake failed: ${err.message}` } }),
        );
        secure.once('secureConnect', () => {
          handshaken = true;
          startup(secure);
        });
      } catch (err) {
        if (err instanceof PostgresAnswerError) fail(err.message);
        else reject(err);
      }
    };
    const onEarlyEnd = () => fail('closed the connection without answering the SSLRequest');
    raw.on('data', onSslAnswer);
    raw.once('end', onEarlyEnd);
    raw.on('error', reject);
    // Closed before any credential: the whole goodbye.
    return () => {
      current.destroy();
      raw.destroy();
    };
  });
