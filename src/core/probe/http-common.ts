/**
 * One bounded HTTP(S) GET, shared by the http and https probes and the web-tier probe.
 * Never follows redirects (a 3xx is just a status), reads at most maxBodyBytes of the body.
 */
import { isIP, connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { TLSSocket } from 'node:tls';
import type { TlsInfo } from '../types.ts';
import { insecureTlsRejection, nameMismatchError, tlsClientOptions, tlsInfoOf } from './tls.ts';
import { ResponseReader, requestHead } from './http-wire.ts';
import type { WireResponse } from './http-wire.ts';
import type { ProbeOutcome, ProbeSpec } from './types.ts';
import { abortable, failOnClose } from './util.ts';

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

/** Builds the outcome of a complete (or deliberately truncated) response. */
function responseOutcome(t: HttpGetTarget, res: WireResponse, tls: TlsInfo | undefined): ProbeOutcome {
  const { status, server, body, truncated } = res;
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

/**
 * GETs `t.path` from `t.connect:t.port` on a fresh connection, presenting `t.host`. Rejects on
 * network, TLS and protocol errors. The socket is destroyed as soon as the response is complete
 * or its body reached the cap: nothing waits for a peer that keeps sending.
 */
export function httpGet(t: HttpGetTarget, signal: AbortSignal): Promise<ProbeOutcome> {
  return abortable<ProbeOutcome>(signal, ({ resolve, reject }) => {
    const head = requestHead(t.path, hostHeader(t.host, t.port, t.secure), USER_AGENT);
    const reader = new ResponseReader(t.maxBodyBytes);
    let tls: TlsInfo | undefined;
    const answer = (res: WireResponse) => resolve(responseOutcome(t, res, tls));
    const socket = t.secure
      ? tlsConnect({ host: t.connect, port: t.port, ...tlsClientOptions(t.host, t.insecureTls) }, function (this: TLSSocket) {
          tls = tlsInfoOf(this.getPeerCertificate(), t.host);
          // A certificate --insecure-tls does not forgive: the answer is known, no request is sent.
          const rejected = insecureTlsRejection(this, t.insecureTls);
          if (rejected) return resolve({ ok: false, error: rejected, tls });
          this.write(head, 'latin1');
        })
      : netConnect({ host: t.connect, port: t.port }, () => void socket.write(head, 'latin1'));
    socket.on('data', (bytes: Buffer) => {
      try {
        const res = reader.push(bytes);
        if (res) answer(res);
      } catch (err) {
        reject(err);
      }
    });
    socket.once('end', () => {
      try {
        answer(reader.end());
      } catch (err) {
        reject(err);
      }
    });
    socket.on('error', reject);
    // Closed without an error or an end (destroyed mid-handshake): never wait for the timeout.
    return failOnClose(socket, reject, 'connection closed before any response');
  });
}
