/**
 * The probe runner: owns the timeout, the timing and the error mapping, so that probe
 * functions stay small and every protocol fails the same way. It never throws.
 */
import { performance } from 'node:perf_hooks';
import type { ProbeErrorCode, ProbeResult } from '../types.ts';
import { probeFor } from './registry.ts';
import type { ProbeOutcome, ProbeSpec } from './types.ts';
import { endpoint } from './util.ts';

/** How long after an abort the runner still waits for a probe before abandoning it. */
export const ABORT_GRACE_MS = 100;

/** Latencies are reported to a tenth of a millisecond (loopback and in-VPC probes are sub-ms). */
const LATENCY_STEPS_PER_MS = 10;

/** Limits of one timed run. */
export interface RunOptions {
  /** This probe's own timeout. */
  timeoutMs: number;
  /** The whole check's deadline: aborting it ends the probe with code 'aborted'. */
  signal?: AbortSignal;
}

/** A probe error as reported: a code and a short sentence for people. */
export type ProbeError = { code: ProbeErrorCode; message: string };

const UNREACHABLE_CODES = new Set(['EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'EHOSTDOWN', 'ENETDOWN']);
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED']);
const NAME_MISMATCH_CODES = new Set(['ERR_TLS_CERT_ALTNAME_INVALID', 'HOSTNAME_MISMATCH']);
/** OpenSSL verification results and Node's TLS errors. */
const TLS_CODE_PREFIXES = ['ERR_TLS_', 'ERR_SSL_', 'ERR_OSSL_', 'CERT_', 'UNABLE_TO_', 'CRL_', 'ERROR_IN_CERT_'];
const TLS_CODES = new Set(['DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'INVALID_CA', 'PATH_LENGTH_EXCEEDED', 'INVALID_PURPOSE', 'EPROTO']);
const RESOLVE_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_NONAME', 'EAI_FAIL']);

/** Errors that are the monitor's own resource limits, never the target's doing. */
const OWN_LIMIT_CODES: ReadonlySet<string> = new Set(['EMFILE', 'ENFILE', 'ENOBUFS']);

/**
 * Maps an error thrown by a probe to a code and a short message. `where` names the endpoint
 * (`10.0.1.5:443`, or a URL's host). Aborts are not seen here: the runner knows why it aborted.
 */
export function classifyError(err: unknown, where: string): ProbeError {
  const e = (typeof err === 'object' && err !== null ? err : {}) as { code?: unknown; name?: unknown; message?: unknown; reason?: unknown; hostname?: unknown };
  const code = typeof e.code === 'string' ? e.code : '';
  // OpenSSL errors carry a readable `reason` ("wrong version number") and a message full of source paths.
  const text = typeof e.reason === 'string' && e.reason !== '' ? e.reason : typeof e.message === 'string' && e.message !== '' ? e.message : String(err);
  const message = text.split('\n')[0]!.trim();
  // Our own process ran out of descriptors or buffers: says nothing about the target. Counted
  // as cut (like the deadline), so the target's alerts stay as they were.
  if (OWN_LIMIT_CODES.has(code))
    return { code: 'aborted', message: `probe of ${where} not made: the monitor ran out of ${code === 'ENOBUFS' ? 'buffers' : 'file descriptors'} (${code})` };
  if (code === 'ECONNREFUSED') return { code: 'refused', message: `connection refused by ${where}` };
  if (RESET_CODES.has(code)) return { code: 'reset', message: `connection reset by ${where}` };
  if (UNREACHABLE_CODES.has(code)) return { code: 'unreachable', message: `${where} is unreachable (${code})` };
  if (code === 'ETIMEDOUT') return { code: 'timeout', message: `connection to ${where} timed out` };
  if (NAME_MISMATCH_CODES.has(code)) return { code: 'cert-name-mismatch', message: `certificate of ${where} does not match the name: ${message}` };
  if (TLS_CODES.has(code) || TLS_CODE_PREFIXES.some((p) => code.startsWith(p))) {
    return { code: 'tls', message: `TLS with ${where} failed: ${message}${message.includes(code) ? '' : ` (${code})`}` };
  }
  if (code.startsWith('HPE_')) return { code: 'protocol', message: `invalid HTTP response from ${where}: ${message}` };
  if (code === 'ABORT_ERR' || e.name === 'AbortError') return { code: 'aborted', message: `probe of ${where} aborted` };
  if (RESOLVE_CODES.has(code)) return { code: 'error', message: `cannot resolve ${typeof e.hostname === 'string' ? e.hostname : where} (${code})` };
  return { code: 'error', message: `probe of ${where} failed: ${message}` };
}

/** Callbacks waiting on each outer signal (the check's deadline). */
const waiters = new WeakMap<AbortSignal, Set<() => void>>();

/**
 * Calls `cb` when `signal` aborts; returns the unsubscribe. One real listener per signal: Node's
 * addEventListener scans its list on every add, which grew with the square of the probe count.
 */
function onAbort(signal: AbortSignal, cb: () => void): () => void {
  let set = waiters.get(signal);
  if (!set) {
    const created = new Set<() => void>();
    waiters.set(signal, created);
    signal.addEventListener(
      'abort',
      () => {
        for (const f of [...created]) f();
        created.clear();
      },
      { once: true },
    );
    set = created;
  }
  const own = set;
  own.add(cb);
  return () => void own.delete(cb);
}

const round = (ms: number) => Math.round(ms * LATENCY_STEPS_PER_MS) / LATENCY_STEPS_PER_MS;

/**
 * Runs `fn` under a timeout and an optional outer signal and times it. Settles within
 * timeoutMs + {@link ABORT_GRACE_MS} even if `fn` ignores its signal; never throws.
 * Shared by {@link runProbe} and the web-tier probe so both fail the same way.
 */
export async function runTimed(
  fn: (signal: AbortSignal) => Promise<ProbeOutcome>,
  opts: RunOptions,
  where: string,
): Promise<{ outcome: ProbeOutcome; latencyMs: number }> {
  const controller = new AbortController();
  let cause: 'timeout' | 'aborted' | undefined;
  let abandon: (reason: unknown) => void = () => {};
  let graceTimer: NodeJS.Timeout | undefined;
  // Rejects a grace period after the abort: the bound for probes that ignore their signal.
  const abandoned = new Promise<never>((_, reject) => (abandon = reject));
  const abort = (why: 'timeout' | 'aborted') => {
    if (cause) return;
    cause = why;
    controller.abort(new Error(`probe ${why}`));
    graceTimer = setTimeout(() => abandon(new Error(`probe ignored its ${why}`)), ABORT_GRACE_MS);
  };
  const onOuterAbort = () => abort('aborted');
  const timer = setTimeout(() => abort('timeout'), opts.timeoutMs);
  const unsubscribe = opts.signal ? onAbort(opts.signal, onOuterAbort) : undefined;
  if (opts.signal?.aborted) abort('aborted');

  const t0 = performance.now();
  let outcome: ProbeOutcome;
  try {
    outcome = await Promise.race([fn(controller.signal), abandoned]);
  } catch (err) {
    outcome = { ok: false, error: classifyError(err, where) };
  } finally {
    clearTimeout(timer);
    clearTimeout(graceTimer);
    unsubscribe?.();
  }
  const elapsed = performance.now() - t0;
  // Whatever the probe made of its abort, the runner knows why it aborted.
  if (cause === 'timeout') outcome = { ok: false, error: { code: 'timeout', message: `no answer within ${opts.timeoutMs} ms` } };
  else if (cause === 'aborted') outcome = { ok: false, error: { code: 'aborted', message: `check deadline reached after ${Math.round(elapsed)} ms` } };
  return { outcome, latencyMs: round(elapsed) };
}

/**
 * Probes one address with the probe registered for `spec.protocol`. Never throws: failures,
 * timeouts (code 'timeout') and the outer deadline (code 'aborted') come back as results.
 * The body (HTTP) is passed through for callers that need it (echo); strip it before storing.
 */
export async function runProbe(address: string, spec: ProbeSpec, opts: RunOptions): Promise<ProbeResult & { body?: string }> {
  const where = endpoint(address, spec.port);
  // probeFor throws for an unregistered protocol: inside fn, so it becomes a result too.
  const { outcome, latencyMs } = await runTimed((signal) => probeFor(spec.protocol)(address, spec, signal), opts, where);
  return { ...outcome, address, port: spec.port, protocol: spec.protocol, latencyMs };
}
