/**
 * Small client helpers for driving the lab from tests, the demo and benchmarks: one HTTP GET
 * with a hard deadline, one TCP connection from a given address, and a bounded poll instead of fixed sleeps.
 */
import { request } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';

/** What a lab GET returns. */
export interface LabResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** Wall time from request to the end of the body. */
  ms: number;
}

/** Defaults of the helpers, short on purpose: the lab lives on loopback. */
export const LAB_CLIENT_DEFAULTS = { timeoutMs: 2000, pollTimeoutMs: 3000, pollIntervalMs: 25 } as const;

/**
 * GETs `url` on a new connection; rejects with code `ETIMEDOUT` when the whole exchange takes
 * longer than `timeoutMs`, with the connect error (e.g. `ECONNREFUSED`) otherwise.
 */
export function labGet(url: string, timeoutMs: number = LAB_CLIENT_DEFAULTS.timeoutMs): Promise<LabResponse> {
  const start = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8'), ms: performance.now() - start });
      });
      res.on('error', reject);
    });
    const timer = setTimeout(() => {
      req.destroy(Object.assign(new Error(`GET ${url}: no complete answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' }));
    }, timeoutMs);
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.end();
  });
}

/**
 * Calls `probe` until it returns something other than `undefined`/`false`, at most `timeoutMs`;
 * resolves with that value, rejects with the last value/error described when time runs out.
 */
export async function waitFor<T>(
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  opts: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<T> {
  const { timeoutMs = LAB_CLIENT_DEFAULTS.pollTimeoutMs, intervalMs = LAB_CLIENT_DEFAULTS.pollIntervalMs, what = 'condition' } = opts;
  const deadline = performance.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
      last = value;
    } catch (err) {
      last = err;
    }
    if (performance.now() >= deadline) throw new Error(`${what} not met within ${timeoutMs} ms (last: ${last instanceof Error ? last.message : String(last)})`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** One TCP connection from `from` (a loopback address of this host) to `to`, closed at once: a client that cached `to`. */
export function labConnectFrom(from: string, to: string, port: number, timeoutMs: number = LAB_CLIENT_DEFAULTS.timeoutMs): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: to, port, localAddress: from });
    s.setTimeout(timeoutMs, () => s.destroy(Object.assign(new Error(`connect to ${to}:${port} timed out`), { code: 'ETIMEDOUT' })));
    s.once('connect', () => {
      s.destroy();
      resolve();
    });
    s.once('error', reject);
  });
}
