/**
 * One bounded HTTP(S) GET, shared by the http and https probes and the web-tier probe.
 * Never follows redirects (a 3xx is just a status), reads at most maxBodyBytes of the body.
 */
import { request as httpRequest } from 'node:http';
import type { IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { TlsInfo } from '../types.ts';
import { insecureTlsRejection, nameMismatchError, tlsClientOptions, tlsInfoOf } from './tls.ts';
import type { ProbeOutcome, ProbeSpec } from './types.ts';
import { abortable } from './util.ts';

/** Sent as User-Agent so that server logs show who is probing. */
export const USER_AGENT = 'ipdrift/0.1';

/** Default ports, left out of the Host header as browsers do. */
export const DEFAULT_PORT = { http: 80, https: 443 } as const;

/** Healthy statuses when the target names none: success and redirects. */
const DEFAULT_OK_STATUS = { min: 200, max: 399 } as const;

/** One GET: where to connect and what name to present. */
export interface HttpGetTarget {
  /** Where to connect: an address (address probes) or a host name (web-tier URLs). */
  connect: string;
  port: number;
  /** The name clients use: Host header, SNI and certificate check. */
  host: string;
  /** Path and query. */
  path: string;
  secure: boolean;
  maxBodyBytes: number;
  expectStatus?: readonly number[];
  insecureTls?: boolean;
}

/** The Host header for `host` on `port`: port only when not the scheme's default, IPv6 bracketed. */
export function hostHeader(host: string, port: number, secure: boolean): string {
  const name = isIP(host) === 6 ? `[${host}]` : host;
  return port === (secure ? DEFAULT_PORT.https : DEFAULT_PORT.http) ? name : `${name}:${port}`;
}

/** The GET an http(s) probe of `address` makes for `spec`. */
export function probeTarget(address: string, spec: ProbeSpec, secure: boolean): HttpGetTarget {
  return {
    connect: address,
    port: spec.port,
    host: spec.host,
    path: spec.path,
    secure,
    maxBodyBytes: spec.maxBodyBytes,
    ...(spec.expectStatus ? { expectStatus: spec.expectStatus } : {}),
    ...(spec.insecureTls ? { insecureTls: spec.insecureTls } : {}),
  };
}

/** Whether `status` is healthy: in `expect` when given (and not empty), else 200-399. */
export function statusOk(status: number, expect: readonly number[] | undefined): boolean {
  return expect && expect.length > 0 ? expect.includes(status) : status >= DEFAULT_OK_STATUS.min && status <= DEFAULT_OK_STATUS.max;
}

/** Reads a response body up to `max` bytes; more than that stops the read (destroys the response). */
function readBounded(res: IncomingMessage, max: number): Promise<{ body: string; truncated: boolean }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (truncated: boolean) => {
      done = true;
      resolve({ body: Buffer.concat(chunks).toString('utf8'), truncated });
    };
    res.on('data', (chunk: Buffer) => {
      if (done) return;
      if (size + chunk.length > max) {
        chunks.push(chunk.subarray(0, max - size));
        finish(true);
        // Bounded memory: do not wait for the rest (it may never end).
        res.destroy();
        return;
      }
      chunks.push(chunk);
      size += chunk.length;
    });
    res.once('end', () => {
      if (!done) finish(false);
    });
    res.on('error', (err) => {
      if (!done) reject(err);
    });
    res.once('close', () => {
      if (!done && !res.complete) reject(Object.assign(new Error('connection closed before the response ended'), { code: 'ECONNRESET' }));
    });
  });
}

/** Builds the outcome of a complete (or deliberately truncated) response. */
function responseOutcome(t: HttpGetTarget, res: IncomingMessage, body: string, truncated: boolean, tls: TlsInfo | undefined): ProbeOutcome {
  const status = res.statusCode ?? 0;
  const header = res.headers.server;
  const server = Array.isArray(header) ? header.join(', ') : header;
  const seen: ProbeOutcome = {
    ok: true,
    status,
    ...(server !== undefined ? { server } : {}),
    identity: `http:${server ?? ''}`,
    ...(tls ? { tls } : {}),
    body,
    ...(truncated ? { details: { truncated: true } } : {}),
  };
  // A certificate for someone else outranks the status: it is the reassignment signal.
  if (tls && !tls.nameMatches) return { ...seen, ok: false, error: nameMismatchError(t.host, tls) };
  if (!statusOk(status, t.expectStatus)) {
    const expected = t.expectStatus && t.expectStatus.length > 0 ? t.expectStatus.join(', ') : `${DEFAULT_OK_STATUS.min}-${DEFAULT_OK_STATUS.max}`;
    return { ...seen, ok: false, error: { code: 'http-status', message: `HTTP ${status} (expected ${expected})` } };
  }
  return seen;
}

/** GETs `t.path` from `t.connect:t.port`, presenting `t.host`. Rejects on network, TLS and protocol errors. */
export function httpGet(t: HttpGetTarget, signal: AbortSignal): Promise<ProbeOutcome> {
  return abortable<ProbeOutcome>(signal, ({ resolve, reject }) => {
    const options = {
      host: t.connect,
      port: t.port,
      path: t.path,
      method: 'GET',
      headers: { Host: hostHeader(t.host, t.port, t.secure), 'User-Agent': USER_AGENT, Connection: 'close' },
      // A fresh connection per probe: a pooled one would hide a dead address.
      agent: false,
      signal,
    };
    const req = t.secure ? httpsRequest({ ...options, ...tlsClientOptions(t.host, t.insecureTls) }) : httpRequest(options);
    req.on('error', reject);
    req.once('response', (res) => {
      const tls = t.secure ? tlsInfoOf((res.socket as TLSSocket).getPeerCertificate(), t.host) : undefined;
      const rejected = t.secure ? insecureTlsRejection(res.socket as TLSSocket, t.insecureTls) : undefined;
      if (rejected) {
        res.destroy();
        return resolve({ ok: false, status: res.statusCode ?? 0, error: rejected, ...(tls ? { tls } : {}) });
      }
      readBounded(res, t.maxBodyBytes).then(({ body, truncated }) => resolve(responseOutcome(t, res, body, truncated, tls)), reject);
    });
    req.end();
    return () => req.destroy();
  });
}
