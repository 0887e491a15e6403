/**
 * The web-tier probe: a GET of a full URL through the web tier (connecting to the URL's
 * host as any client would), and the parser for the application's echo answer.
 */
import { isIP } from 'node:net';
import type { ProbeErrorCode } from '../types.ts';
import { DEFAULT_PORT, httpGet } from './http-common.ts';
import { runTimed } from './run.ts';

/** A URL's host as sockets and certificate checks want it: an IPv6 literal without its brackets. */
export function bareHost(url: string | URL): string {
  return (typeof url === 'string' ? new URL(url) : url).hostname.replace(/^\[(.*)\]$/, '$1');
}

/** Options of one web-tier GET. */
export interface ProbeUrlOptions {
  timeoutMs: number;
  /** The whole check's deadline. */
  signal?: AbortSignal;
  maxBodyBytes: number;
  insecureTls?: boolean;
  /**
   * The address to connect to, already resolved by the caller (the check resolves URL hosts
   * with its own cancellable resolvers, never getaddrinfo). The Host header and the TLS name
   * stay the URL's host. Absent: the URL's host must be an IP literal.
   */
  connect?: string;
}

/** What one web-tier GET saw. */
export interface UrlProbeResult {
  ok: boolean;
  status?: number;
  latencyMs: number;
  server?: string;
  /** Body text, at most maxBodyBytes. */
  body?: string;
  /** The body was longer than maxBodyBytes: `body` is only its start. */
  truncated?: boolean;
  error?: { code: ProbeErrorCode; message: string };
}

/** GETs `url` (http or https, redirects not followed) under the runner's timeout and error mapping. Never throws. */
export async function probeUrl(url: string, opts: ProbeUrlOptions): Promise<UrlProbeResult> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return { ok: false, latencyMs: 0, error: { code: 'error', message: `invalid URL: ${url}` } };
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    return { ok: false, latencyMs: 0, error: { code: 'error', message: `unsupported URL scheme ${u.protocol} in ${url}` } };
  }
  const secure = u.protocol === 'https:';
  const host = bareHost(u);
  if (opts.connect === undefined && isIP(host) === 0) {
    return { ok: false, latencyMs: 0, error: { code: 'error', message: `${host} is a name: resolve it first (probeUrl never uses the system resolver)` } };
  }
  const target = {
    connect: opts.connect ?? host,
    port: u.port ? Number(u.port) : secure ? DEFAULT_PORT.https : DEFAULT_PORT.http,
    host,
    path: `${u.pathname}${u.search}`,
    secure,
    maxBodyBytes: opts.maxBodyBytes,
    ...(opts.insecureTls ? { insecureTls: opts.insecureTls } : {}),
  };
  const { outcome, latencyMs } = await runTimed((signal) => httpGet(target, signal), opts, u.host);
  return {
    ok: outcome.ok,
    ...(outcome.status !== undefined ? { status: outcome.status } : {}),
    latencyMs,
    ...(outcome.server !== undefined ? { server: outcome.server } : {}),
    ...(outcome.body !== undefined ? { body: outcome.body } : {}),
    ...(outcome.details?.truncated === true ? { truncated: true } : {}),
    ...(outcome.error ? { error: outcome.error } : {}),
  };
}

/** An IPv4 address a dual-stack server reports as IPv4-mapped IPv6 (`::ffff:10.0.1.5`). */
const IPV4_MAPPED = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i;

/** The address if `text` is exactly one IP address; IPv4-mapped IPv6 becomes plain IPv4. */
function asAddress(text: unknown): string | undefined {
  if (typeof text !== 'string') return undefined;
  const trimmed = text.trim();
  if (!isIP(trimmed)) return undefined;
  // Resolved ELB addresses are plain IPv4; a mapped form must compare equal to them.
  return IPV4_MAPPED.exec(trimmed)?.[1] ?? trimmed;
}

/**
 * The upstream address from an echo answer: plain text that is one IP address, or JSON
 * with an `address` field. Undefined for anything else (an error page, an empty body).
 */
export function parseEcho(body: string): string | undefined {
  const trimmed = body.trim();
  if (trimmed.startsWith('{')) {
    try {
      const parsed: unknown = JSON.parse(trimmed);
      return typeof parsed === 'object' && parsed !== null ? asAddress((parsed as { address?: unknown }).address) : undefined;
    } catch {
      return undefined;
    }
  }
  return asAddress(trimmed);
}
