import { afterEach, describe, expect, it } from 'vitest';
import { LIMITS } from '../../src/core/constants.ts';
import { PROBES } from '../../src/core/probe/registry.ts';
import { ABORT_GRACE_MS, runProbe } from '../../src/core/probe/run.ts';
import type { ProbeSpec } from '../../src/core/probe/types.ts';
import { Loopback } from './probe-servers.ts';

const TIMEOUT_MS = 300;
const LONG_TIMEOUT_MS = 5000;
const OUTER_ABORT_MS = 100;
/** Scheduling slack on a loaded 2-core CI machine: a correctness bound, not a benchmark. */
const SLACK_MS = 400;
const CONCURRENT_PROBES = 20;
const CONCURRENT_BOUND_MS = 2000;
const FIRST_SWALLOW_OCTET = 10;

const spec = (protocol: ProbeSpec['protocol'], port: number): ProbeSpec => ({
  protocol,
  host: 'app.internal',
  port,
  path: '/',
  maxBodyBytes: LIMITS.maxBodyBytes,
});

/** The real registrations, restored after tests that replace or remove one. */
const REGISTERED = { ...PROBES };

describe('runProbe', () => {
  const lo = new Loopback();
  afterEach(async () => {
    Object.assign(PROBES, REGISTERED);
    await lo.close();
  });

  it('settles with aborted soon after the outer signal aborts', async () => {
    // Prepare
    const port = await lo.swallow();
    const deadline = new AbortController();
    setTimeout(() => deadline.abort(), OUTER_ABORT_MS);
    const t0 = performance.now();
    // Act
    const r = await runProbe('127.0.0.1', spec('http', port), { timeoutMs: LONG_TIMEOUT_MS, signal: deadline.signal });
    // Assess
    expect(r.ok).toBe(false);
    expect(r.error?.code).toBe('aborted');
    expect(r.error?.message).toMatch(/^check deadline reached after \d+ ms$/);
    expect(performance.now() - t0).toBeLessThan(OUTER_ABORT_MS + ABORT_GRACE_MS + SLACK_MS);
  });

  it('reports aborted at once when the outer signal is already aborted', async () => {
    // Prepare
    const port = await lo.swallow();
    // Act
    const r = await runProbe('127.0.0.1', spec('tcp', port), { timeoutMs: LONG_TIMEOUT_MS, signal: AbortSignal.abort() });
    // Assess
    expect(r.error?.code).toBe('aborted');
    expect(r.latencyMs).toBeLessThan(SLACK_MS);
  });

  it('settles within timeout + grace even when a probe ignores its signal', async () => {
    // Prepare: register a probe that never settles, under a protocol not yet implemented.
    PROBES.mysql = () => new Promise(() => {});
    const t0 = performance.now();
    // Act
    const r = await runProbe('127.0.0.1', spec('mysql', 3306), { timeoutMs: TIMEOUT_MS });
    // Assess
    expect(r.error).toEqual({ code: 'timeout', message: `no answer within ${TIMEOUT_MS} ms` });
    const elapsed = performance.now() - t0;
    expect(elapsed).toBeGreaterThanOrEqual(TIMEOUT_MS + ABORT_GRACE_MS - 1);
    expect(elapsed).toBeLessThan(TIMEOUT_MS + ABORT_GRACE_MS + SLACK_MS);
  });

  it('turns an unregistered protocol into an error result instead of throwing', async () => {
    // Prepare: every configurable protocol has a probe, so take one away.
    delete (PROBES as Partial<typeof PROBES>).postgres;
    const s = spec('postgres', 5432);
    // Act
    const r = await runProbe('127.0.0.1', s, { timeoutMs: TIMEOUT_MS });
    // Assess
    expect(r).toMatchObject({ ok: false, address: '127.0.0.1', port: 5432, protocol: 'postgres' });
    expect(r.error?.code).toBe('error');
    expect(r.error?.message).toContain('no probe for protocol "postgres"');
  });

  it('maps an error thrown synchronously by a probe', async () => {
    // Prepare
    PROBES.mysql = () => {
      throw Object.assign(new Error('nope'), { code: 'ECONNREFUSED' });
    };
    // Act
    const r = await runProbe('127.0.0.1', spec('mysql', 3306), { timeoutMs: TIMEOUT_MS });
    // Assess
    expect(r.error).toEqual({ code: 'refused', message: 'connection refused by 127.0.0.1:3306' });
  });
});

/** Many probes at once, as the check runs them: each with its own timeout, all under one signal. */
const runProbes = (items: readonly { address: string; spec: ProbeSpec; timeoutMs: number }[], signal?: AbortSignal) =>
  Promise.all(items.map((i) => runProbe(i.address, i.spec, { timeoutMs: i.timeoutMs, ...(signal ? { signal } : {}) })));

describe('runProbe, many at once', () => {
  const lo = new Loopback();
  afterEach(() => lo.close());

  it('runs probes concurrently: 20 silent addresses with a 300 ms timeout finish well under 20 x 300 ms', async () => {
    // Prepare
    const addresses = Array.from({ length: CONCURRENT_PROBES }, (_, i) => `127.0.0.${FIRST_SWALLOW_OCTET + i}`);
    const ports = await Promise.all(addresses.map((a) => lo.swallow(a)));
    const items = addresses.map((address, i) => ({ address, spec: spec('http', ports[i]!), timeoutMs: TIMEOUT_MS }));
    const t0 = performance.now();
    // Act
    const results = await runProbes(items);
    // Assess
    expect(performance.now() - t0).toBeLessThan(CONCURRENT_BOUND_MS);
    expect(results.map((r) => r.address)).toEqual(addresses);
    expect(results.every((r) => r.error?.code === 'timeout')).toBe(true);
  });

  it('returns results in input order whatever order they finish in', async () => {
    // Prepare
    const slow = await lo.swallow();
    const refused = await lo.closedPort();
    const open = await lo.swallow('127.0.0.2');
    const items = [
      { address: '127.0.0.1', spec: spec('http', slow), timeoutMs: TIMEOUT_MS },
      { address: '127.0.0.1', spec: spec('tcp', refused), timeoutMs: TIMEOUT_MS },
      { address: '127.0.0.2', spec: spec('tcp', open), timeoutMs: TIMEOUT_MS },
    ];
    // Act
    const results = await runProbes(items);
    // Assess
    expect(results.map((r) => r.error?.code ?? 'ok')).toEqual(['timeout', 'refused', 'ok']);
  });

  it('aborts every probe when the shared signal aborts', async () => {
    // Prepare
    const port = await lo.swallow();
    const deadline = new AbortController();
    const items = [1, 2, 3].map(() => ({ address: '127.0.0.1', spec: spec('http', port), timeoutMs: LONG_TIMEOUT_MS }));
    setTimeout(() => deadline.abort(), OUTER_ABORT_MS);
    // Act
    const results = await runProbes(items, deadline.signal);
    // Assess
    expect(results.map((r) => r.error?.code)).toEqual(['aborted', 'aborted', 'aborted']);
  });
});
