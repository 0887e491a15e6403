/**
 * MySQL probe: reads the server greeting (Protocol::HandshakeV10) that a MySQL or Aurora MySQL
 * server sends as soon as a client connects: protocol version, server version, connection id.
 * It sends nothing (no credentials, no handshake response) and closes with a FIN once the
 * greeting is read, so it proves "mysqld accepts connections here" without logging in.
 *
 * Caveat, from the server's side: a connection that ends during the handshake counts as a
 * blocking error in MySQL's host cache; `max_connect_errors` of them in a row from one client
 * address, with no successful login in between, block that address (ERROR 1129) until
 * `FLUSH HOSTS`. Probing every minute from an address that never logs in reaches the default
 * of 100 in under two hours: raise `max_connect_errors` in the cluster parameter group, or make
 * sure something logs in from the monitor's address. The probe reports ERROR 1129 by name.
 */
import { connect } from 'node:net';
import type { ProbeFn, ProbeOutcome } from './types.ts';
import { abortable } from './util.ts';
import { IpdriftError } from '../errors.ts';

/** Layout of the MySQL wire protocol we rely on. */
const MYSQL = {
  /** 3-byte little-endian payload length + 1-byte sequence id. */
  headerBytes: 4,
  /** The only greeting protocol since MySQL 3.21. */
  protocolV10: 10,
  /** First payload byte of an ERR packet (the server refuses before greeting: blocked, too many connections). */
  errPacket: 0xff,
  /** `#` then a 5-character SQLSTATE, in 4.1+ ERR packets. */
  sqlStateMarker: 0x23,
  sqlStateBytes: 5,
  connectionIdBytes: 4,
  errorCodeBytes: 2,
} as const;

/** A greeting is ~100 bytes; anything claiming more than this is not a MySQL greeting. */
export const MAX_GREETING_BYTES = 4096;

/** ER_HOST_IS_BLOCKED: too many interrupted handshakes from this address (see the module note). */
const ER_HOST_IS_BLOCKED = 1129;

/** What the greeting says. */
export interface MysqlGreeting {
  protocolVersion: number;
  serverVersion: string;
  /** The server's thread id for this connection (differs on every connection). */
  connectionId: number;
}

/** The bytes are not a MySQL greeting (wrong protocol, truncated, too large). */
export class MysqlGreetingError extends IpdriftError {
  override readonly name = 'MysqlGreetingError';
  readonly code = 'mysql-greeting';
}

/** The server answered with an ERR packet instead of a greeting. */
export class MysqlServerError extends IpdriftError {
  override readonly name = 'MysqlServerError';
  readonly code = 'mysql-server';
  constructor(
    readonly errorCode: number,
    readonly sqlState: string | undefined,
    readonly serverMessage: string,
  ) {
    const hint = errorCode === ER_HOST_IS_BLOCKED ? ' (max_connect_errors reached: FLUSH HOSTS, and raise max_connect_errors)' : '';
    super(`ERROR ${errorCode}${sqlState ? ` (${sqlState})` : ''}: ${serverMessage}${hint}`);
  }
}

/**
 * The first packet's payload from the bytes received so far; undefined while incomplete.
 * Throws MysqlGreetingError when the header announces more than {@link MAX_GREETING_BYTES}.
 */
export function firstPacket(bytes: Buffer): Buffer | undefined {
  if (bytes.length < MYSQL.headerBytes) return undefined;
  const length = bytes.readUIntLE(0, 3);
  if (length > MAX_GREETING_BYTES) throw new MysqlGreetingError(`first packet announces ${length} bytes: not a MySQL greeting`);
  if (bytes.length < MYSQL.headerBytes + length) return undefined;
  return bytes.subarray(MYSQL.headerBytes, MYSQL.headerBytes + length);
}

/** Parses a greeting payload; throws MysqlServerError for an ERR packet, MysqlGreetingError for anything else. */
export function parseGreeting(payload: Buffer): MysqlGreeting {
  const first = payload[0];
  if (first === undefined) throw new MysqlGreetingError('empty first packet');
  if (first === MYSQL.errPacket) throw parseErrPacket(payload);
  if (first !== MYSQL.protocolV10) throw new MysqlGreetingError(`protocol version ${first}, expected ${MYSQL.protocolV10}: not a MySQL server`);
  const end = payload.indexOf(0, 1);
  if (end === -1 || end + 1 + MYSQL.connectionIdBytes > payload.length) throw new MysqlGreetingError('greeting truncated before the connection id');
  return {
    protocolVersion: first,
    serverVersion: payload.toString('latin1', 1, end),
    connectionId: payload.readUInt32LE(end + 1),
  };
}

function parseErrPacket(payload: Buffer): MysqlServerError {
  if (payload.length < 1 + MYSQL.errorCodeBytes) return new MysqlServerError(0, undefined, 'truncated error packet');
  const code = payload.readUInt16LE(1);
  let at = 1 + MYSQL.errorCodeBytes;
  let sqlState: string | undefined;
  // Errors sent before the handshake omit the SQLSTATE; later ones carry "#HY000".
  if (payload[at] === MYSQL.sqlStateMarker && payload.length >= at + 1 + MYSQL.sqlStateBytes) {
    sqlState = payload.toString('latin1', at + 1, at + 1 + MYSQL.sqlStateBytes);
    at += 1 + MYSQL.sqlStateBytes;
  }
  return new MysqlServerError(code, sqlState, payload.toString('utf8', at));
}

/** Connects, reads the greeting, closes. ok with `details` {protocolVersion, serverVersion, connectionId}. */
export const probeMysql: ProbeFn = (address, spec, signal) =>
  abortable<ProbeOutcome>(signal, ({ resolve, reject }) => {
    const socket = connect({ host: address, port: spec.port });
    let received = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      try {
        const payload = firstPacket(received);
        if (!payload) return;
        const g = parseGreeting(payload);
        resolve({ ok: true, identity: `mysql:${g.serverVersion}`, details: { ...g } });
      } catch (err) {
        if (err instanceof MysqlServerError) {
          resolve({
            ok: false,
            error: { code: 'protocol', message: `MySQL at ${address}:${spec.port} refused the session: ${err.message}` },
            details: { errorCode: err.errorCode },
          });
        } else if (err instanceof MysqlGreetingError) {
          resolve({ ok: false, error: { code: 'protocol', message: `${address}:${spec.port}: ${err.message}` } });
        } else reject(err);
      }
    });
    socket.once('end', () =>
      resolve({
        ok: false,
        error: { code: 'protocol', message: `${address}:${spec.port} closed the connection after ${received.length} byte(s), before a complete greeting` },
      }),
    );
    socket.on('error', reject);
    // Nothing is left unread once the greeting is parsed, so closing sends a FIN, not a reset.
    return () => socket.destroy();
  });
