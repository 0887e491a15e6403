import { describe, expect, it } from 'vitest';
import { assessElb, assessWebTier, median } from '../../src/core/assess.ts';
import { serverFix } from '../../src/core/advice.ts';
import type { AddressRecord, ProbeResult, WebTierObservation } from '../../src/core/types.ts';

const NOW = '2026-11-25T00:10:00Z';
/** Well past NOW + TTL (60 s default) + grace: retired addresses count as stale by then. */
const LATER = new Date(Date.parse(NOW) + 10 * 60_000);
const rec = (address: string, retired = false, extra: Partial<AddressRecord> = {}): AddressRecord => ({
  address,
  firstSeen: NOW,
  lastSeen: NOW,
  ...(retired ? { retiredAt: NOW } : {}),
  ...extra,
});
const ok = (address: string, extra: Partial<ProbeResult> = {}): ProbeResult => ({
  ok: true,
  address,
  port: 80,
  protocol: 'http',
  latencyMs: 3,
  identity: 'http:awselb/2.0',
  ...extra,
});
const fail = (address: string, code: 'timeout' | 'refused' | 'cert-name-mismatch' = 'timeout'): ProbeResult => ({
  ok: false,
  address,
  port: 80,
  protocol: 'http',
  latencyMs: 2000,
  error: { code, message: code },
});
const probes = (...list: ProbeResult[]) => new Map(list.map((p) => [p.address, p]));
const target = { name: 'app', host: 'app.elb', port: 80 };
const resolved = { ok: true as const, host: 'app.elb', queried: 'all.app.elb', addresses: [], cname: [], complete: true, lookups: 1, durationMs: 1 };

describe('assessElb', () => {
  it.each([
    ['healthy, nothing retired', [rec('10.0.0.2')], probes(ok('10.0.0.2')), []],
    ['a current address fails', [rec('10.0.0.2')], probes(fail('10.0.0.2')), ['current-address-unhealthy']],
    ['a retired address still answers', [rec('10.0.0.1', true), rec('10.0.0.2')], probes(ok('10.0.0.1'), ok('10.0.0.2')), ['retired-address-answering']],
    ['a retired address is dead', [rec('10.0.0.1', true), rec('10.0.0.2')], probes(fail('10.0.0.1', 'refused'), ok('10.0.0.2')), ['retired-address-dead']],
    [
      'a retired address serves another certificate',
      [rec('10.0.0.1', true), rec('10.0.0.2')],
      probes(fail('10.0.0.1', 'cert-name-mismatch'), ok('10.0.0.2')),
      ['retired-address-reassigned'],
    ],
    [
      'a retired address answers with another identity',
      [rec('10.0.0.1', true, { identity: 'http:awselb/2.0' }), rec('10.0.0.2')],
      probes(ok('10.0.0.1', { identity: 'http:nginx' }), ok('10.0.0.2')),
      ['retired-address-reassigned'],
    ],
    [
      'a retired probe cut by the deadline says nothing',
      [rec('10.0.0.1', true), rec('10.0.0.2')],
      probes({ ...fail('10.0.0.1'), error: { code: 'aborted', message: 'aborted' } }, ok('10.0.0.2')),
      [],
    ],
  ])('%s', (_name, records, probeMap, kinds) => {
    // Act
    const { findings } = assessElb({ target, resolution: resolved, records, probes: probeMap });
    // Assess
    expect(findings.map((f) => f.kind)).toEqual(kinds);
  });

  it('reports a failed lookup, never "no addresses"', () => {
    const { findings, metrics } = assessElb({
      target,
      resolution: { ok: false, host: 'app.elb', code: 'servfail', message: 'SERVFAIL', durationMs: 3 },
      records: [rec('10.0.0.2')],
      probes: probes(ok('10.0.0.2')),
    });
    expect(findings.map((f) => [f.kind, f.severity])).toEqual([['resolution-failed', 'warning']]);
    expect(metrics).toMatchObject({ Addresses: 1, ResolutionFailed: 1 });
  });

  it('reports the address change with what came and what left', () => {
    const { findings } = assessElb({
      target,
      resolution: resolved,
      diff: { addresses: [], added: ['10.0.0.3'], retired: ['10.0.0.1'], dropped: [] },
      records: [rec('10.0.0.1', true), rec('10.0.0.3')],
      probes: probes(ok('10.0.0.1'), ok('10.0.0.3')),
    });
    const changed = findings.find((f) => f.kind === 'address-set-changed');
    expect(changed?.summary).toBe('app: addresses changed (+10.0.0.3; -10.0.0.1)');
    expect(changed?.evidence).toMatchObject({ added: ['10.0.0.3'], retired: ['10.0.0.1'], current: ['10.0.0.3'] });
  });
});

describe('assessWebTier', () => {
  const webTarget = { name: 'web', url: 'http://web/', upstream: 'app', timeoutMs: 2000 };
  const up = (records: AddressRecord[], probeMap: Map<string, ProbeResult>) => ({ records, probes: probeMap, resolutionOk: true });
  const web = (extra: Partial<WebTierObservation>): WebTierObservation => ({ url: 'http://web/', ok: true, status: 200, latencyMs: 10, ...extra });
  const retiredUp = up([rec('10.0.0.1', true), rec('10.0.0.2')], probes(fail('10.0.0.1'), ok('10.0.0.2')));

  it.each([
    ['echo names a retired address', web({ echo: { ok: true, address: '10.0.0.1' } }), [], retiredUp, ['stale-address-confirmed']],
    ['echo names a current address', web({ echo: { ok: true, address: '10.0.0.2' } }), [], retiredUp, []],
    [
      'fails while upstream healthy and retired recently',
      web({ ok: false, status: 504, error: { code: 'http-status', message: 'HTTP 504' } }),
      [],
      retiredUp,
      ['stale-address-suspected'],
    ],
    [
      'times out while upstream healthy and retired recently',
      web({ ok: false, latencyMs: 2000, error: { code: 'timeout', message: 'no answer' } }),
      [],
      retiredUp,
      ['stale-address-suspected'],
    ],
    ['slow (over 3x median) while upstream healthy and retired', web({ latencyMs: 400 }), [10, 12, 11], retiredUp, ['stale-address-suspected']],
    ['slow but too few samples for a median', web({ latencyMs: 400 }), [10], retiredUp, []],
    ['over 3x median but only by jitter (< 250 ms more)', web({ latencyMs: 40 }), [10, 12, 11], retiredUp, []],
    [
      'the web tier itself refuses: broken, not stale',
      web({ ok: false, error: { code: 'refused', message: 'refused' } }),
      [],
      retiredUp,
      ['current-address-unhealthy'],
    ],
    [
      'the web tier answers 404: not a gateway failure',
      web({ ok: false, status: 404, error: { code: 'http-status', message: 'HTTP 404' } }),
      [],
      retiredUp,
      ['current-address-unhealthy'],
    ],
    [
      'fails while nothing retired: not stale',
      web({ ok: false, error: { code: 'refused', message: 'refused' } }),
      [],
      up([rec('10.0.0.2')], probes(ok('10.0.0.2'))),
      ['current-address-unhealthy'],
    ],
    [
      'fails while upstream unhealthy: not stale',
      web({ ok: false, error: { code: 'refused', message: 'refused' } }),
      [],
      up([rec('10.0.0.1', true), rec('10.0.0.2')], probes(ok('10.0.0.1'), fail('10.0.0.2'))),
      ['current-address-unhealthy'],
    ],
  ])('%s', (_name, obs, latencies, upstream, kinds) => {
    // Act
    const { findings } = assessWebTier({ target: webTarget, web: obs, recentLatencies: latencies, upstream, now: LATER });
    // Assess
    expect(findings.map((f) => f.kind)).toEqual(kinds);
  });

  it.each([
    ['Apache/2.4.58 (Unix)', undefined, serverFix({ server: 'apache', version: '2.4.58' })],
    ['nginx/1.22.1', undefined, serverFix({ server: 'nginx', version: '1.22.1' })],
    [undefined, 'haproxy' as const, serverFix({ server: 'haproxy' })],
  ])('advice names the fix of the server (%s / hint %s)', (server, hint, advice) => {
    const { findings } = assessWebTier({
      target: { ...webTarget, ...(hint ? { server: hint } : {}) },
      web: web({ ...(server ? { server } : {}), echo: { ok: true, address: '10.0.0.1' } }),
      recentLatencies: [],
      upstream: retiredUp,
      now: LATER,
    });
    expect(findings[0]?.advice).toBe(advice);
    expect(findings[0]?.advice).toMatch(/addressttl|resolver|resolvers/);
  });

  it.each([
    ['10 s after retirement, TTL 60 s: a cache may still hold it', 10_000, 60, []],
    ['65 s after retirement, TTL 60 s: inside the 6 s grace', 65_000, 60, []],
    ['67 s after retirement, TTL 60 s: at risk (the node still answers)', 67_000, 60, ['stale-address-at-risk']],
    ['1.5 s after retirement, TTL 1 s: inside the 1 s floor', 1_500, 1, []],
    ['2.1 s after retirement, TTL 1 s: at risk (the node still answers)', 2_100, 1, ['stale-address-at-risk']],
  ] as const)('TTL grace: %s', (_name, afterMs, ttl, kinds) => {
    // Prepare
    const upstream = up([rec('10.0.0.1', true, { ttl }), rec('10.0.0.2')], probes(ok('10.0.0.1'), ok('10.0.0.2')));
    // Act
    const { findings } = assessWebTier({
      target: webTarget,
      web: web({ echo: { ok: true, address: '10.0.0.1' } }),
      recentLatencies: [],
      upstream,
      now: new Date(Date.parse(NOW) + afterMs),
    });
    // Assess
    expect(findings.map((f) => f.kind)).toEqual(kinds);
  });

  it('advice remembers the server an earlier check named (a stall shows no header)', () => {
    const { findings } = assessWebTier({
      target: webTarget,
      web: web({ ok: false, error: { code: 'timeout', message: 'no answer' } }),
      recentLatencies: [],
      knownServer: 'nginx/1.22.1',
      upstream: retiredUp,
      now: LATER,
    });
    expect(findings[0]?.advice).toBe(serverFix({ server: 'nginx', version: '1.22.1' }));
  });

  it('median', () => {
    expect([median([]), median([3]), median([3, 1, 2]), median([4, 1, 3, 2])]).toEqual([undefined, 3, 2, 2.5]);
  });
});

describe('the stale-upstream incident', () => {
  const webTarget = { name: 'web', url: 'http://web/', upstream: 'app', timeoutMs: 2000 };
  const web = (extra: Partial<WebTierObservation>): WebTierObservation => ({ url: 'http://web/', ok: true, status: 200, latencyMs: 10, ...extra });
  const gateway = web({ ok: false, status: 504, latencyMs: 3000, error: { code: 'http-status', message: 'HTTP 504' } });
  const open = { since: NOW };

  it.each([
    // [name, observation, upstream records, probes, open incident, kinds, signals]
    [
      'open, the retired addresses left the history, the tier still fails: still evidence',
      gateway,
      [rec('10.0.0.2')],
      probes(ok('10.0.0.2')),
      open,
      ['stale-address-suspected'],
      ['failing'],
    ],
    [
      'open, the upstream fails too, the tier still fails: still evidence (users fail)',
      gateway,
      [rec('10.0.0.2')],
      probes(fail('10.0.0.2')),
      open,
      ['stale-address-suspected'],
      ['failing'],
    ],
    [
      'open, the tier refuses: still the same incident, not a second alert',
      web({ ok: false, error: { code: 'refused', message: 'refused' } }),
      [rec('10.0.0.2')],
      probes(ok('10.0.0.2')),
      open,
      ['stale-address-suspected'],
      ['failing'],
    ],
    [
      'open, the tier answers and the echo names a current address: no evidence',
      web({ echo: { ok: true, address: '10.0.0.2' } }),
      [rec('10.0.0.1', true), rec('10.0.0.2')],
      probes(fail('10.0.0.1'), ok('10.0.0.2')),
      open,
      [],
      undefined,
    ],
    [
      'not open, the upstream fails too: the tier itself is unhealthy',
      gateway,
      [rec('10.0.0.2')],
      probes(fail('10.0.0.2')),
      undefined,
      ['current-address-unhealthy'],
      undefined,
    ],
    [
      'slow, but the echo names a current address: evidence against staleness',
      web({ latencyMs: 400, echo: { ok: true, address: '10.0.0.2' } }),
      [rec('10.0.0.1', true), rec('10.0.0.2')],
      probes(ok('10.0.0.1'), ok('10.0.0.2')),
      undefined,
      [],
      undefined,
    ],
    [
      'inside the TTL after a retirement the tier fails: no verdict yet (neither unhealthy nor stale)',
      gateway,
      [rec('10.0.0.1', true, { retiredAt: new Date(LATER.getTime() - 5_000).toISOString() }), rec('10.0.0.2')],
      probes(ok('10.0.0.1'), ok('10.0.0.2')),
      undefined,
      [],
      undefined,
    ],
    [
      'echo names a retired address while the tier fails: confirmed, with both signals',
      { ...gateway, echo: { ok: true as const, address: '10.0.0.1' } },
      [rec('10.0.0.1', true), rec('10.0.0.2')],
      probes(fail('10.0.0.1'), ok('10.0.0.2')),
      undefined,
      ['stale-address-confirmed'],
      ['echo', 'failing'],
    ],
  ] as const)('%s', (_name, obs, records, probeMap, openIncident, kinds, signals) => {
    // Act
    const { findings } = assessWebTier({
      target: webTarget,
      web: obs,
      recentLatencies: [10, 11, 12],
      upstream: { records: [...records], probes: probeMap, resolutionOk: true },
      now: LATER,
      ...(openIncident ? { openIncident } : {}),
    });
    // Assess
    expect(findings.map((f) => f.kind)).toEqual(kinds);
    expect(findings[0]?.signals).toEqual(signals);
    if (kinds[0]?.startsWith('stale')) expect(findings[0]?.key).toBe('web/stale-upstream');
  });
});

describe('severities: address lifecycle is information', () => {
  it.each([
    ['a retired address is dead', probes(fail('10.0.0.1', 'refused'), ok('10.0.0.2')), 'retired-address-dead', 'info'],
    ['a retired address still answers', probes(ok('10.0.0.1'), ok('10.0.0.2')), 'retired-address-answering', 'info'],
    ['a retired address serves another certificate', probes(fail('10.0.0.1', 'cert-name-mismatch'), ok('10.0.0.2')), 'retired-address-reassigned', 'warning'],
  ] as const)('%s: %s is %s', (_name, probeMap, kind, severity) => {
    const { findings } = assessElb({ target, resolution: resolved, records: [rec('10.0.0.1', true), rec('10.0.0.2')], probes: probeMap });
    expect(findings.map((f) => [f.kind, f.severity])).toEqual([[kind, severity]]);
  });

  it("advice per target type: an Aurora endpoint's failing address is an instance, not a load balancer node", () => {
    const elb = assessElb({ target, resolution: resolved, records: [rec('10.0.0.2')], probes: probes(fail('10.0.0.2')) });
    const aurora = assessElb({ target, targetType: 'aurora', resolution: resolved, records: [rec('10.0.0.2')], probes: probes(fail('10.0.0.2')) });
    expect(elb.findings[0]?.advice).toContain('load balancer node');
    expect(aurora.findings[0]?.advice).not.toContain('load balancer');
    expect(aurora.findings[0]?.advice).toContain('instance');
  });
});
