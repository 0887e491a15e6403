/**
 * What users see: a steady trickle of requests through the web tier, one at a time, each
 * bounded, recording the status (or error), the time taken and which node answered (`/whoami`).
 * Real web tiers always carry traffic, and traffic is what makes some of them re-resolve.
 */
import { request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { isIP } from 'node:net';
import type { TrafficSummary } from './layout.ts';
import { TIMING } from './layout.ts';

/** One client request. `at` is performance.now() when it started. */
export interface ClientSample {
  at: number;
  ms: number;
  /** HTTP status as text (`"504"`), or an error code (`"ETIMEDOUT"`, `"ECONNREFUSED"`, `"cut"`). */
  outcome: string;
  /** The node that answered, when the body is one address. */
  upstream?: string;
}

/** GETs `url` on a new connection within `timeoutMs`; `signal` cuts it short (outcome `cut`). Never throws. */
export function clientGet(url: string, timeoutMs: number, signal?: AbortSignal): Promise<Omit<ClientSample, 'at'>> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    let done = false;
    const finish = (outcome: string, body?: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      req.destroy();
      const upstream = body?.trim();
      resolve({ ms: Math.round(performance.now() - t0), outcome, ...(upstream && isIP(upstream) ? { upstream } : {}) });
    };
    const req = request(url, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body = (body + c).slice(0, 256)));
      res.on('end', () => finish(String(res.statusCode ?? 0), body));
      res.on('error', (err: NodeJS.ErrnoException) => finish(err.code ?? 'error'));
    });
    const timer = setTimeout(() => finish('ETIMEDOUT'), timeoutMs);
    const onAbort = () => finish('cut');
    signal?.addEventListener('abort', onAbort, { once: true });
    req.on('error', (err: NodeJS.ErrnoException) => finish(err.code ?? 'error'));
    req.end();
    if (signal?.aborted) onAbort();
  });
}

/** Background clients: each sends requests one at a time with a short pause, until stopped. */
export class Traffic {
  readonly samples: ClientSample[] = [];
  /** Ends the pause between requests. */
  readonly #stopping = new AbortController();
  /** Cuts the request in flight. */
  readonly #cut = new AbortController();
  #loop: Promise<void> | undefined;

  constructor(private readonly url: string) {}

  /** Starts `clients` request loops (once), each one request at a time. */
  start(clients: number = TIMING.clients): void {
    this.#loop ??= Promise.all(
      Array.from({ length: clients }, async () => {
        while (!this.#stopping.signal.aborted) {
          const at = performance.now();
          const sample = await clientGet(this.url, TIMING.clientTimeoutMs, this.#cut.signal);
          this.samples.push({ at, ...sample });
          await sleep(TIMING.clientPauseMs, undefined, { signal: this.#stopping.signal }).catch(() => undefined);
        }
      }),
    ).then(() => undefined);
  }

  /**
   * Stops the loop. The request in flight may finish (bounded by TIMING.clientTimeoutMs), so a
   * stall is seen to its end; with `cut` it is ended at once and recorded as `cut`.
   */
  async stop(opts: { cut?: boolean } = {}): Promise<void> {
    this.#stopping.abort();
    if (opts.cut) this.#cut.abort();
    await this.#loop;
  }

  /** The requests `which` selects, summarised. */
  summary(which: (s: ClientSample) => boolean, oldNodes: readonly string[], newNodes: readonly string[]): TrafficSummary {
    return summarize(this.samples.filter(which), oldNodes, newNodes);
  }
}

/** Counts outcomes, old/new nodes and stalls of `samples`. */
export function summarize(samples: readonly ClientSample[], oldNodes: readonly string[], newNodes: readonly string[]): TrafficSummary {
  const outcomes: TrafficSummary['outcomes'] = {};
  for (const s of samples) {
    const o = (outcomes[s.outcome] ??= { n: 0, maxMs: 0 });
    o.n++;
    o.maxMs = Math.max(o.maxMs, s.ms);
  }
  return {
    requests: samples.length,
    outcomes,
    viaOld: samples.filter((s) => s.upstream !== undefined && oldNodes.includes(s.upstream)).length,
    viaNew: samples.filter((s) => s.upstream !== undefined && newNodes.includes(s.upstream)).length,
    stalls: samples.filter((s) => s.ms > TIMING.stallMs).length,
    maxMs: samples.reduce((m, s) => Math.max(m, s.ms), 0),
  };
}
