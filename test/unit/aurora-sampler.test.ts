/**
 * The failover sampler on virtual time: a scripted world (API swap, DNS move, a restarting old
 * writer) answers instantly, and the clock only moves when every stream is asleep. Results are
 * exact, so cadences, the phase of the API ticks and the stop conditions can be asserted.
 */
import { describe, expect, it } from 'vitest';
import { sampleFailover, SAMPLER_DEFAULTS } from '../../src/core/aurora/sampler.ts';
import type { SamplerDeps, Sleep } from '../../src/core/aurora/sampler.ts';
import { NoWriterError, WriterLookupError } from '../../src/core/aurora/errors.ts';
import type { ProbeResult, Resolution } from '../../src/core/types.ts';

const T0 = Date.UTC(2026, 0, 15, 3, 0, 0);
const A = 'orders-instance-1';
const B = 'orders-instance-2';
const HOST = 'orders.cluster-abc.ap-northeast-2.rds.amazonaws.com';
const ADDR: Record<string, string> = { [A]: '10.0.1.11', [B]: '10.0.2.12' };

/** A clock that moves only when every waiter sleeps; `run` drives it to the end of `work`. */
class VirtualTime {
  now = T0;
  readonly #waiters: { at: number; seq: number; wake: () => void }[] = [];
  #seq = 0;
  readonly clock = { now: () => this.now };
  readonly sleep: Sleep = (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal.aborted) return resolve();
      const w = { at: this.now + Math.max(0, ms), seq: this.#seq++, wake: resolve };
      this.#waiters.push(w);
      signal.addEventListener(
        'abort',
        () => {
          const i = this.#waiters.indexOf(w);
          if (i !== -1) this.#waiters.splice(i, 1);
          resolve();
        },
        { once: true },
      );
    });

  async run<T>(work: Promise<T>): Promise<T> {
    let done = false;
    void work.finally(() => (done = true)).catch(() => undefined);
    for (;;) {
      await new Promise((r) => setImmediate(r)); // every promise chain settles before this
      if (done) return work;
      if (this.#waiters.length === 0) throw new Error('virtual time is stuck: nothing sleeps and nothing finished');
      this.#waiters.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.#waiters.shift()!;
      this.now = next.at;
      next.wake();
    }
  }
}

/** A failover world on the virtual clock; times in ms after T0. */
interface World {
  swapAt?: number;
  dnsMoveAt?: number;
  /** The old writer refuses connections in [downFrom, downUntil). */
  downFrom?: number;
  downUntil?: number;
  /** The API lists no writer in [noWriterFrom, swapAt). */
  noWriterFrom?: number;
  apiErrorsAt?: number[];
  /** DNS lookups fail in this window. */
  dnsFailFrom?: number;
  dnsFailUntil?: number;
}

function deps(vt: VirtualTime, w: World, calls = { api: [] as number[], dns: 0, probes: [] as string[] }): SamplerDeps {
  const t = () => vt.now - T0;
  const dnsWriter = () => (w.dnsMoveAt !== undefined && t() >= w.dnsMoveAt ? B : A);
  return {
    clock: vt.clock,
    sleep: vt.sleep,
    lookupDns: async (host): Promise<Resolution> => {
      calls.dns++;
      if (w.dnsFailFrom !== undefined && t() >= w.dnsFailFrom && t() < (w.dnsFailUntil ?? Infinity)) {
        return { ok: false, host, code: 'timeout', message: `${host}: no answer from the resolver (timeout)`, durationMs: 0 };
      }
      const writer = dnsWriter();
      return {
        ok: true,
        host,
        queried: host,
        addresses: [{ address: ADDR[writer]!, family: 4, ttl: 5 }],
        cname: [`${writer}.abc.ap-northeast-2.rds.amazonaws.com`],
        complete: true,
        lookups: 1,
        durationMs: 0,
      };
    },
    writers: {
      writer: async (cluster) => {
        calls.api.push(t());
        if (w.apiErrorsAt?.includes(t())) throw new WriterLookupError('throttled', cluster, 'Rate exceeded');
        const swapped = w.swapAt !== undefined && t() >= w.swapAt;
        const members = [
          { id: A, isWriter: !swapped },
          { id: B, isWriter: swapped },
        ];
        if (!swapped && w.noWriterFrom !== undefined && t() >= w.noWriterFrom)
          throw new NoWriterError(
            cluster,
            members.map((m) => ({ ...m, isWriter: false })),
          );
        return { writer: swapped ? B : A, members };
      },
    },
    probe: async (address): Promise<ProbeResult> => {
      calls.probes.push(address);
      const down = address === ADDR[A] && w.downFrom !== undefined && t() >= w.downFrom && t() < (w.downUntil ?? Infinity);
      return {
        ok: !down,
        address,
        port: 3306,
        protocol: 'mysql',
        latencyMs: 0.4,
        ...(down ? { error: { code: 'refused', message: `connection refused by ${address}:3306` } } : {}),
      };
    },
  };
}

const opts = { cluster: 'orders', host: HOST, eventAt: T0, previousWriter: A };

describe('sampleFailover on virtual time', () => {
  it.each([
    [500, 375],
    [3000, 2875],
    [10_000, 9875],
    [1130, 1125],
  ])('measures an injected DNS lag of %i ms as %i ms (within half a tick)', async (lag, measured) => {
    // Prepare: the old writer goes down at once, the API swaps at 1000 ms, DNS follows `lag` later.
    const vt = new VirtualTime();
    const world = deps(vt, { swapAt: 1000, dnsMoveAt: 1000 + lag, downFrom: 0, downUntil: 2500 });
    // Act
    const t = await vt.run(sampleFailover(opts, world));
    // Assess
    expect(t.settled).toBe(true);
    expect(t.endReason).toBe('settled');
    expect(t.dnsLagMs).toBe(measured);
    expect(Math.abs(t.dnsLagMs! - lag)).toBeLessThanOrEqual(SAMPLER_DEFAULTS.dnsEveryMs / 2);
    expect(t.newWriter).toBe(B);
    expect(t.steps.find((s) => s.step === 'api-writer-changed')).toMatchObject({ offsetMs: 1125, precisionMs: 250 });
  });

  it('polls the API every 250 ms until the swap, then every second; probes follow DNS', async () => {
    // Prepare
    const vt = new VirtualTime();
    const calls = { api: [] as number[], dns: 0, probes: [] as string[] };
    const world = deps(vt, { swapAt: 1000, dnsMoveAt: 4000, downFrom: 0, downUntil: 1500 }, calls);
    // Act
    const t = await vt.run(sampleFailover(opts, world));
    // Assess
    expect(calls.api).toEqual([125, 375, 625, 875, 1125, 2125, 3125, 4125]);
    expect(t.steps.map((s) => [s.step, s.offsetMs])).toEqual([
      ['event', 0],
      ['first-probe-failed', 125],
      ['api-writer-changed', 1125],
      ['dns-names-new-writer', 4000],
      ['first-probe-ok-new-writer', 4125],
    ]);
    expect(t.outage).toMatchObject({ ms: 4000, cause: 'probe-failed' });
    expect(calls.probes.at(-1)).toBe(ADDR[B]);
    expect(t.endedAt - T0).toBe(4125);
  });

  it('stops at the deadline when the writer never changes', async () => {
    // Prepare
    const vt = new VirtualTime();
    const calls = { api: [] as number[], dns: 0, probes: [] as string[] };
    // Act
    const t = await vt.run(sampleFailover({ ...opts, deadlineMs: 5000 }, deps(vt, {}, calls)));
    // Assess
    expect(t.settled).toBe(false);
    expect(t.endReason).toBe('deadline');
    expect(t.endedAt - T0).toBe(5000);
    expect(calls.dns).toBe(20); // 0, 250, ..., 4750
    expect(calls.api).toHaveLength(20); // still waiting for a change: the fast cadence throughout
    expect(t.counts.probes).toBe(20);
  });

  it('records no-writer answers and API errors as samples, not failures of the run', async () => {
    // Prepare
    const vt = new VirtualTime();
    const world = deps(vt, { noWriterFrom: 625, swapAt: 1375, apiErrorsAt: [1375], dnsMoveAt: 2000, downFrom: 500, downUntil: 5000 });
    // Act
    const t = await vt.run(sampleFailover(opts, world));
    // Assess
    expect(t.settled).toBe(true);
    expect(t.steps.find((s) => s.step === 'api-no-writer')?.offsetMs).toBe(625);
    expect(t.steps.find((s) => s.step === 'api-writer-changed')?.offsetMs).toBe(1625);
    expect(t.counts.apiFailed).toBe(1);
  });

  it('keeps sampling through failed lookups and probes the last address DNS gave', async () => {
    // Prepare
    const vt = new VirtualTime();
    const world = deps(vt, { swapAt: 500, dnsMoveAt: 1000, dnsFailFrom: 250, dnsFailUntil: 1500 });
    // Act
    const t = await vt.run(sampleFailover(opts, world));
    // Assess
    expect(t.counts.dnsFailed).toBe(5); // 250 .. 1250
    expect(t.steps.find((s) => s.step === 'dns-names-new-writer')?.offsetMs).toBe(1500);
    expect(t.dnsLagMs).toBe(1500 - 625);
  });

  it('ends as aborted when its signal aborts', async () => {
    // Prepare
    const vt = new VirtualTime();
    const stop = new AbortController();
    const world = deps(vt, {});
    const probe = world.probe;
    world.probe = async (address, signal) => {
      if (vt.now - T0 >= 2000) stop.abort();
      return probe(address, signal);
    };
    // Act
    const t = await vt.run(sampleFailover({ ...opts, signal: stop.signal }, world));
    // Assess
    expect(t.endReason).toBe('aborted');
    expect(t.settled).toBe(false);
    expect(t.endedAt - T0).toBe(2125);
  });

  it('reports each step once, as soon as it is seen', async () => {
    // Prepare
    const vt = new VirtualTime();
    const seen: [string, number][] = [];
    // Act
    await vt.run(
      sampleFailover({ ...opts, onStep: (s) => seen.push([s.step, vt.now - T0]) }, deps(vt, { swapAt: 1000, dnsMoveAt: 1500, downFrom: 0, downUntil: 3000 })),
    );
    // Assess
    expect(seen).toEqual([
      ['event', 0],
      ['first-probe-failed', 125],
      ['api-writer-changed', 1125],
      ['dns-names-new-writer', 1500],
      ['first-probe-ok-new-writer', 1625],
    ]);
  });
});
