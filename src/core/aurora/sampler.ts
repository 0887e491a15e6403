/**
 * Samples a failover as it happens, from its trigger until it settles or a deadline: three
 * streams on their own ticks, each sample timed when it was sent, then one timeline
 * ({@link buildTimeline}).
 *
 * - DNS of the cluster endpoint every 250 ms, a fresh resolver each time (some Node releases
 *   cache answers per Resolver);
 * - the writer from the RDS API every 1 s, and every 250 ms until the writer change has been
 *   seen: "API change -> DNS change" is only as precise as the coarser of the two streams, and
 *   the lag the quality team cares about is below a second. That is at most 4 DescribeDBClusters
 *   a second for the seconds before the swap; RDS allows a burst of 300 and 12 a second sustained;
 * - a probe of the cluster endpoint every 250 ms, to the address the latest DNS answer gave,
 *   as a client with no DNS cache would connect.
 *
 * The API stream runs half a tick after the DNS stream: with both on the same grid, a lag that
 * is a whole number of ticks would be measured either exactly or a full tick off, depending on
 * timer jitter; interleaved, the error stays near half a tick either way.
 *
 * Clock and sleep are injected, so tests can run it on virtual time.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { performance } from 'node:perf_hooks';
import { LIMITS } from '../constants.ts';
import { createResolver, resolveName } from '../resolve.ts';
import { runProbe } from '../probe/run.ts';
import type { WriterLookup } from '../ports.ts';
import type { ProbeResult, Resolution } from '../types.ts';
import { dnsWriterOf } from './cname.ts';
import { NoWriterError } from './errors.ts';
import { buildTimeline, isSettled, oldWriterOf } from './timeline.ts';
import type { ApiSample, DnsSample, EndReason, FailoverTimeline, ProbeSample, TimelineStep, TimelineStepKind } from './timeline.ts';
import { errorMessage } from '../error-text.ts';

/** Cadences and limits of the sampler. */
export const SAMPLER_DEFAULTS = {
  deadlineMs: 120_000,
  dnsEveryMs: 250,
  probeEveryMs: 250,
  apiEveryMs: 1000,
  /** API cadence until the writer change is seen. */
  apiFastEveryMs: 250,
  /** Offsets of the API and probe ticks from the DNS ticks (see the module note). */
  apiPhaseMs: 125,
  probePhaseMs: 125,
  /** Samples of one stream in flight at once: a lost DNS packet or a black-holed address must not stall the stream. */
  maxInFlight: { dns: 4, probe: 4, api: 1 },
  /** Per-sample bounds: short, as a sample older than a few ticks says little. */
  dnsTimeoutMs: 1000,
  probeTimeoutMs: 1000,
} as const;

/** Milliseconds since the epoch, sub-millisecond when the clock allows. */
export interface SamplerClock {
  now(): number;
}

/** Waits `ms`, or less if `signal` aborts; never rejects. */
export type Sleep = (ms: number, signal: AbortSignal) => Promise<void>;

/** The wall clock, monotonic within a process (performance.now() on the epoch origin). */
export const systemSamplerClock: SamplerClock = { now: () => performance.timeOrigin + performance.now() };

/** A real sleep that ends early, without rejecting, when `signal` aborts. */
export const systemSleep: Sleep = (ms, signal) => delay(Math.max(0, ms), undefined, { signal }).catch(() => undefined);

/** The outside world of the sampler. */
export interface SamplerDeps {
  /** One lookup of `host` with a fresh resolver; never throws. */
  lookupDns(host: string, signal: AbortSignal): Promise<Resolution>;
  /** The RDS API (or the lab's stand-in). */
  writers: WriterLookup;
  /** One probe of `address`; never throws. */
  probe(address: string, signal: AbortSignal): Promise<ProbeResult>;
  clock: SamplerClock;
  sleep: Sleep;
}

/** What to sample. */
export interface SamplerOptions {
  cluster: string;
  region?: string;
  /** The cluster (writer) endpoint. */
  host: string;
  /** The trigger time (epoch ms). */
  eventAt: number;
  /** The writer before the failover, when known; else the first writer the API names. */
  previousWriter?: string;
  deadlineMs?: number;
  intervals?: Partial<Pick<typeof SAMPLER_DEFAULTS, 'dnsEveryMs' | 'probeEveryMs' | 'apiEveryMs' | 'apiFastEveryMs' | 'apiPhaseMs' | 'probePhaseMs'>>;
  signal?: AbortSignal;
  /** Called once per step as soon as it is observed (live output). */
  onStep?: (step: TimelineStep, timeline: FailoverTimeline) => void;
}

type StreamName = 'dns' | 'api' | 'probe';

/** Samples a failover until settled, the deadline, or `signal`; resolves with the timeline. Never rejects for a sample's failure. */
export async function sampleFailover(opts: SamplerOptions, deps: SamplerDeps): Promise<FailoverTimeline> {
  const iv = { ...SAMPLER_DEFAULTS, ...opts.intervals };
  const deadlineMs = opts.deadlineMs ?? SAMPLER_DEFAULTS.deadlineMs;
  const { clock } = deps;
  const startedAt = clock.now();
  const dns: DnsSample[] = [];
  const api: ApiSample[] = [];
  const probes: ProbeSample[] = [];
  const emitted = new Set<TimelineStepKind>();
  const stop = new AbortController();
  let endReason: EndReason = 'deadline';
  let endedAt: number | undefined;
  let latestDns: DnsSample | undefined;
  const inFlight: Record<StreamName, Set<Promise<void>>> = { dns: new Set(), api: new Set(), probe: new Set() };

  const end = (why: EndReason) => {
    if (stop.signal.aborted) return;
    endReason = why;
    endedAt = clock.now();
    stop.abort();
  };
  const onOuterAbort = () => end('aborted');
  opts.signal?.addEventListener('abort', onOuterAbort, { once: true });
  if (opts.signal?.aborted) end('aborted');

  const input = () => ({
    cluster: opts.cluster,
    host: opts.host,
    eventAt: opts.eventAt,
    startedAt,
    endedAt: endedAt ?? clock.now(),
    endReason,
    dns,
    api,
    probes,
    ...(opts.previousWriter !== undefined ? { previousWriter: opts.previousWriter } : {}),
  });
  // After each sample: report new steps, stop once settled.
  const recorded = () => {
    if (opts.onStep) {
      const t = buildTimeline(input());
      for (const s of t.steps) {
        if (s.at === undefined || emitted.has(s.step)) continue;
        emitted.add(s.step);
        opts.onStep(s, t);
      }
    }
    if (isSettled(input())) end('settled');
  };
  const apiChangeSeen = () => {
    const old = oldWriterOf({ api, ...(opts.previousWriter !== undefined ? { previousWriter: opts.previousWriter } : {}) });
    return old !== undefined && api.some((s) => s.writer !== undefined && s.writer !== old);
  };

  const sampleDns = async () => {
    const at = clock.now();
    const r = await deps.lookupDns(opts.host, stop.signal);
    if (stop.signal.aborted) return;
    const sample: DnsSample = r.ok
      ? { at, ok: true, addresses: r.addresses.map((a) => a.address), chain: r.cname, durationMs: r.durationMs, ...optional('writer', dnsWriterOf(r.cname)) }
      : { at, ok: false, addresses: [], chain: [], durationMs: r.durationMs, error: r.message };
    dns.push(sample);
    if (sample.ok && sample.addresses.length > 0 && (!latestDns || at > latestDns.at)) latestDns = sample;
    recorded();
  };

  const sampleApi = async () => {
    const at = clock.now();
    let sample: ApiSample;
    try {
      const w = await raceAbort(deps.writers.writer(opts.cluster, opts.region), stop.signal);
      if (w === undefined) return;
      sample = { at, writer: w.writer };
    } catch (err) {
      sample = err instanceof NoWriterError ? { at, noWriter: true } : { at, error: errorMessage(err) };
    }
    if (stop.signal.aborted) return;
    api.push(sample);
    recorded();
  };

  const sampleProbe = async () => {
    const target = latestDns;
    if (!target) return; // nothing to connect to before the first answer
    const at = clock.now();
    const address = target.addresses[0]!;
    const p = await deps.probe(address, stop.signal);
    if (stop.signal.aborted) return;
    probes.push({ at, address, ok: p.ok, latencyMs: p.latencyMs, ...optional('instance', target.writer), ...optional('error', p.error?.message) });
    recorded();
  };

  const stream = async (name: StreamName, phaseMs: number, every: () => number, max: number, sample: () => Promise<void>) => {
    let next = startedAt + phaseMs;
    while (!stop.signal.aborted) {
      const wait = next - clock.now();
      if (wait > 0) await deps.sleep(wait, stop.signal);
      if (stop.signal.aborted) break;
      if (inFlight[name].size < max) {
        const job: Promise<void> = sample()
          .catch(() => undefined) // a sample's own failure is data, recorded inside; anything else must not end the run
          .finally(() => inFlight[name].delete(job));
        inFlight[name].add(job);
        // A one-at-a-time stream waits for its sample: its next interval may depend on the answer.
        if (max === 1) await job;
      }
      const now = clock.now();
      next += every();
      while (next <= now) next += every(); // late: skip the missed ticks, keep the grid
    }
  };

  const deadline = async () => {
    await deps.sleep(deadlineMs, stop.signal);
    end('deadline');
  };

  await Promise.all([
    stream('dns', 0, () => iv.dnsEveryMs, SAMPLER_DEFAULTS.maxInFlight.dns, sampleDns),
    stream('api', iv.apiPhaseMs, () => (apiChangeSeen() ? iv.apiEveryMs : iv.apiFastEveryMs), SAMPLER_DEFAULTS.maxInFlight.api, sampleApi),
    stream('probe', iv.probePhaseMs, () => iv.probeEveryMs, SAMPLER_DEFAULTS.maxInFlight.probe, sampleProbe),
    deadline(),
  ]);
  // Samples still in flight were told to stop; wait so nothing outlives the call.
  await Promise.all([...inFlight.dns, ...inFlight.api, ...inFlight.probe]);
  opts.signal?.removeEventListener('abort', onOuterAbort);
  return buildTimeline(input());
}

/** `{ [key]: value }` when value is defined, else `{}` (exactOptionalPropertyTypes-friendly spreads). */
function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

/** `promise`, or undefined as soon as `signal` aborts (calls that take no signal). */
function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T | undefined> {
  if (signal.aborted) return Promise.resolve(undefined);
  return new Promise<T | undefined>((resolve, reject) => {
    const onAbort = () => resolve(undefined);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

/** Where the default dependencies look and what they probe. */
export interface DefaultSamplerDepsOptions {
  /** The cluster endpoint (the name a client uses; TLS-free probes only report it). */
  host: string;
  /** DNS servers (`host[:port]`); the system's when absent. */
  resolvers?: readonly string[];
  engine: 'mysql' | 'postgres' | 'tcp';
  port: number;
  writers: WriterLookup;
  dnsTimeoutMs?: number;
  probeTimeoutMs?: number;
  clock?: SamplerClock;
  sleep?: Sleep;
}

/** Real DNS (fresh resolver per sample), real probes, the wall clock. */
export function defaultSamplerDeps(o: DefaultSamplerDepsOptions): SamplerDeps {
  return {
    lookupDns: (host, signal) => {
      const resolver = createResolver({
        ...(o.resolvers ? { resolvers: o.resolvers } : {}),
        timeoutMs: o.dnsTimeoutMs ?? SAMPLER_DEFAULTS.dnsTimeoutMs,
        tries: 1,
      });
      const cancel = () => resolver.cancel();
      signal.addEventListener('abort', cancel, { once: true });
      return resolveName(host, resolver).finally(() => signal.removeEventListener('abort', cancel));
    },
    writers: o.writers,
    probe: (address, signal) =>
      runProbe(
        address,
        { protocol: o.engine, host: o.host, port: o.port, path: '/', maxBodyBytes: LIMITS.maxBodyBytes },
        { timeoutMs: o.probeTimeoutMs ?? SAMPLER_DEFAULTS.probeTimeoutMs, signal },
      ),
    clock: o.clock ?? systemSamplerClock,
    sleep: o.sleep ?? systemSleep,
  };
}
