/**
 * PostgreSQL probe: sends an SSLRequest (what every libpq client sends first) and reads the
 * one-byte answer, 'S' (TLS available) or 'N' (not). It proves "the postmaster accepts
 * connections here" without a startup packet, credentials or a database name, then closes.
 *
 * Server-side trace: after 'N' the server waits for a startup packet and ends silently on our
 * FIN; after 'S' it expects a TLS handshake and may log one "could not accept SSL connection:
 * EOF detected" line per probe.
 */
import { connect } from 'node:net';
import type { ProbeFn, ProbeOutcome } from './types.ts';
import { abortable } from './util.ts';

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
export class PostgresAnswerError extends Error {
  override readonly name = 'PostgresAnswerError';
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
  let at = 0;
  while (at < fields.length && fields[at] !== 0) {
    const type = fields[at]!;
    const end = fields.indexOf(0, at + 1);
    if (end === -1) break;
    if (type === FIELD_MESSAGE) return fields.toString('utf8', at + 1, end);
    at = end + 1;
  }
  return '(no message)';
}

/** Connects, sends SSLRequest, reads 'S' or 'N', closes. ok with `details.ssl`. */
export const probePostgres: ProbeFn = (address, spec, signal) =>
  abortable<ProbeOutcome>(signal, ({ resolve, reject }) => {
    const socket = connect({ host: address, port: spec.port });
    let received = Buffer.alloc(0);
    socket.once('connect', () => socket.write(sslRequest()));
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      try {
        const answer = parseSslAnswer(received);
        if (answer) resolve({ ok: true, identity: `postgres:ssl=${answer.ssl ? 'S' : 'N'}`, details: { ssl: answer.ssl } });
      } catch (err) {
        if (err instanceof PostgresAnswerError) resolve({ ok: false, error: { code: 'protocol', message: `${address}:${spec.port}: ${err.message}` } });
        else reject(err);
      }
    });
    socket.once('end', () =>
      resolve({ ok: false, error: { code: 'protocol', message: `${address}:${spec.port} closed the connection without answering the SSLRequest` } }),
    );
    socket.on('error', reject);
    // We never start TLS or a session: closing here is the whole goodbye.
    return () => socket.destroy();
  });
