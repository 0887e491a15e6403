/**
 * The probe contract, after blackbox_exporter's prober/: one signature for every protocol;
 * the runner (./run.ts) owns the timeout, the timing and the error mapping.
 */
import type { ProbeErrorCode, ProbeResult, TlsInfo } from '../types.ts';

/** What a probe needs to know about the target besides the address. */
export interface ProbeSpec {
  protocol: ProbeProtocol;
  /** The name clients use: TLS SNI and certificate check, HTTP Host header. */
  host: string;
  port: number;
  /** HTTP(S) path. */
  path: string;
  /** Healthy HTTP statuses; default 200-399. */
  expectStatus?: readonly number[];
  /** Body bytes read at most. */
  maxBodyBytes: number;
  /** Accept self-signed / private-CA certificates (name is still checked). Lab and tests. */
  insecureTls?: boolean;
}

export const PROBE_PROTOCOLS = ['tcp', 'tls', 'http', 'https', 'mysql', 'postgres'] as const;
export type ProbeProtocol = (typeof PROBE_PROTOCOLS)[number];

/** What a probe function returns; the runner adds address, port, protocol, latency. */
export interface ProbeOutcome {
  ok: boolean;
  error?: { code: ProbeErrorCode; message: string };
  status?: number;
  server?: string;
  identity?: string;
  tls?: TlsInfo;
  /** Response body (bounded by maxBodyBytes), for HTTP probes. */
  body?: string;
  details?: Record<string, unknown>;
}

/**
 * One probe of one address. Must stop work and settle promptly when `signal` aborts
 * (the runner maps that to a timeout); may throw, the runner maps errors to codes.
 */
export type ProbeFn = (address: string, spec: ProbeSpec, signal: AbortSignal) => Promise<ProbeOutcome>;

export type { ProbeResult };
