import { describe, expect, it } from 'vitest';
import { assessAurora } from '../../src/core/aurora/assess.ts';
import type { AuroraInput, AuroraState, WriterObservation } from '../../src/core/aurora/assess.ts';
import type { Resolution } from '../../src/core/types.ts';

const NOW = new Date('2026-01-15T03:00:30.000Z');
const A = 'orders-instance-1';
const B = 'orders-instance-2';
const HOST = 'orders.cluster-abc.ap-northeast-2.rds.amazonaws.com';
const target = { name: 'orders-db', host: HOST, port: 3306, clusterIdentifier: 'orders', dnsLagWarnSeconds: 10 };

const resolved = (writer: string | undefined): Resolution =>
  writer === undefined
    ? { ok: false, host: HOST, code: 'servfail', message: `${HOST}: the resolver answered SERVFAIL`, durationMs: 1 }
    : {
        ok: true,
        host: HOST,
        queried: HOST,
        addresses: [{ address: '10.0.1.11', family: 4, ttl: 5 }],
        cname: [`${writer}.abc.ap-northeast-2.rds.amazonaws.com`],
        complete: true,
        lookups: 1,
        durationMs: 1,
      };
const api = (writer: string): WriterObservation => ({
  ok: true,
  writer,
  members: [
    { id: A, isWriter: writer === A },
    { id: B, isWriter: writer === B },
  ],
});

const input = (dns: string | undefined, apiObs: WriterObservation | undefined, previous?: AuroraState): AuroraInput => ({
  target,
  resolution: resolved(dns),
  records: [],
  probes: new Map(),
  now: NOW,
  ...(apiObs ? { api: apiObs } : {}),
  ...(previous ? { previous } : {}),
});

const ago = (s: number) => new Date(NOW.getTime() - s * 1000).toISOString();

describe('assessAurora: writer truth vs DNS', () => {
  it.each([
    { name: 'first check, agreeing', in: input(A, api(A)), kinds: [], lag: 0, state: { apiWriter: A, dnsWriter: A } },
    { name: 'agreeing, writer unchanged', in: input(A, api(A), { apiWriter: A, dnsWriter: A }), kinds: [], lag: 0, state: { apiWriter: A, dnsWriter: A } },
    {
      name: 'writer moved and DNS already follows',
      in: input(B, api(B), { apiWriter: A, dnsWriter: A }),
      kinds: ['writer-changed'],
      lag: 0,
      state: { apiWriter: B, dnsWriter: B, writerChangedAt: NOW.toISOString() },
    },
    {
      name: 'writer moved, DNS still old: mismatch starts now, no warning yet',
      in: input(A, api(B), { apiWriter: A, dnsWriter: A }),
      kinds: ['writer-changed'],
      lag: 0,
      state: { apiWriter: B, dnsWriter: A, mismatchSince: NOW.toISOString() },
    },
    {
      name: 'mismatch for 10 s: not longer than the threshold',
      in: input(A, api(B), { apiWriter: B, dnsWriter: A, mismatchSince: ago(10) }),
      kinds: [],
      lag: 10,
      state: { mismatchSince: ago(10) },
    },
    {
      name: 'mismatch for 60 s: dns-lag',
      in: input(A, api(B), { apiWriter: B, dnsWriter: A, mismatchSince: ago(60) }),
      kinds: ['dns-lag'],
      lag: 60,
      state: { mismatchSince: ago(60) },
    },
    {
      name: 'DNS caught up: mismatch cleared',
      in: input(B, api(B), { apiWriter: B, dnsWriter: A, mismatchSince: ago(60) }),
      kinds: [],
      lag: 0,
      state: { apiWriter: B, dnsWriter: B },
      cleared: true,
    },
    {
      name: 'no writer lookup configured: no API truth, no metric',
      in: input(A, undefined, { apiWriter: A }),
      kinds: [],
      lag: undefined,
      state: { apiWriter: A, dnsWriter: A },
    },
    {
      name: 'writer lookup failed: state kept, no metric',
      in: input(A, { ok: false, code: 'throttled', message: 'Rate exceeded' }, { apiWriter: B, mismatchSince: ago(60) }),
      kinds: [],
      lag: undefined,
      state: { apiWriter: B, dnsWriter: A, mismatchSince: ago(60) },
    },
    {
      name: 'DNS failed: resolution-failed only, mismatch kept',
      in: input(undefined, api(B), { apiWriter: B, dnsWriter: A, mismatchSince: ago(60) }),
      kinds: ['resolution-failed'],
      lag: undefined,
      state: { apiWriter: B, dnsWriter: A, mismatchSince: ago(60) },
    },
  ])('$name', (row) => {
    // Prepare: the table row.
    // Act
    const { findings, metrics, aurora } = assessAurora(row.in);
    // Assess
    expect(findings.map((f) => f.kind)).toEqual(row.kinds);
    expect(metrics.DnsLagSeconds).toBe(row.lag);
    expect(aurora).toMatchObject(row.state);
    if ('cleared' in row) expect(aurora).not.toHaveProperty('mismatchSince');
  });

  it('says who moved where and what DNS still names, with evidence', () => {
    // Prepare
    const moved = input(A, api(B), { apiWriter: A, dnsWriter: A });
    const lagging = input(A, api(B), { apiWriter: B, dnsWriter: A, mismatchSince: ago(45) });
    // Act
    const changed = assessAurora(moved).findings[0]!;
    const lag = assessAurora(lagging).findings[0]!;
    // Assess
    expect(changed).toMatchObject({
      key: 'orders-db/writer-changed',
      severity: 'info',
      summary: `orders-db: writer moved ${A} -> ${B} (DNS still names ${A})`,
    });
    expect(changed.evidence).toMatchObject({ from: A, to: B, dnsWriter: A, members: [A, `${B} (writer)`] });
    expect(lag).toMatchObject({
      key: 'orders-db/dns-lag',
      severity: 'warning',
      summary: `orders-db: ${HOST} still names ${A}; the writer is ${B} (for 45 s at least)`,
    });
    expect(lag.evidence).toMatchObject({
      dnsWriter: A,
      apiWriter: B,
      lagSeconds: 45,
      warnAfterSeconds: 10,
      chain: [`${A}.abc.ap-northeast-2.rds.amazonaws.com`],
    });
    expect(lag.advice).toContain('cluster endpoint still names the old writer');
  });

  it('words the retired-address advice for a writer endpoint', () => {
    // Prepare: the old writer's address retired and still answering.
    const records = [
      { address: '10.0.2.12', firstSeen: ago(1), lastSeen: NOW.toISOString() },
      { address: '10.0.1.11', firstSeen: ago(600), lastSeen: ago(30), retiredAt: ago(30) },
    ];
    const probes = new Map([
      ['10.0.2.12', { ok: true, address: '10.0.2.12', port: 3306, protocol: 'mysql', latencyMs: 1 }],
      ['10.0.1.11', { ok: true, address: '10.0.1.11', port: 3306, protocol: 'mysql', latencyMs: 1 }],
    ]);
    // Act
    const { findings } = assessAurora({ ...input(B, api(B), { apiWriter: B }), records, probes });
    // Assess
    const answering = findings.find((f) => f.kind === 'retired-address-answering')!;
    expect(answering.advice).toContain('read-only errors');
  });
});

describe('assessAurora: the session check (a login through the writer endpoint)', () => {
  const session = (readOnly: boolean) => ({ address: '10.0.1.11', user: 'app', readOnly, answer: `transaction_read_only = ${readOnly ? 'on' : 'off'}` });

  it('a read-only session is endpoint-reaches-reader (critical), with what the server said and who DNS and the API name', () => {
    // Act
    const r = assessAurora({ ...input(A, api(B)), session: session(true) });
    // Assess
    const f = r.findings.find((x) => x.kind === 'endpoint-reaches-reader');
    expect(f).toMatchObject({
      severity: 'critical',
      summary: `orders-db: a login through ${HOST} landed on a read-only instance (transaction_read_only = on)`,
      evidence: { address: '10.0.1.11', user: 'app', answer: 'transaction_read_only = on', dnsWriter: A, apiWriter: B },
    });
    expect(f?.advice).toContain('read-only transaction');
  });

  it('a writable session, or none, is no finding; without the API it is still judged', () => {
    expect(assessAurora({ ...input(A, api(A)), session: session(false) }).findings.map((x) => x.kind)).toEqual([]);
    expect(assessAurora(input(A, api(A))).findings).toEqual([]);
    expect(assessAurora({ ...input(A, undefined), session: session(true) }).findings.map((x) => x.kind)).toEqual(['endpoint-reaches-reader']);
  });
});
