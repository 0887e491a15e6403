import { describe, expect, it } from 'vitest';
import { buildTimeline, isSettled } from '../../src/core/aurora/timeline.ts';
import type { ApiSample, DnsSample, ProbeSample, TimelineInput, TimelineStepKind } from '../../src/core/aurora/timeline.ts';
import { formatStep, formatTimeline, timelineBar, timelineDocument, timelineSummary } from '../../src/core/aurora/format.ts';

const T0 = Date.UTC(2026, 0, 15, 3, 0, 0);
const A = 'orders-instance-1';
const B = 'orders-instance-2';
const ADDR = { [A]: '10.0.1.11', [B]: '10.0.2.12' } as Record<string, string>;

/** DNS samples every 250 ms from `from` to `to` (ms after T0), naming `writer(t)`; null = failed lookup. */
const dnsRun = (from: number, to: number, writer: (t: number) => string | null): DnsSample[] => {
  const out: DnsSample[] = [];
  for (let t = from; t <= to; t += 250) {
    const w = writer(t);
    out.push(
      w === null
        ? { at: T0 + t, ok: false, addresses: [], chain: [], durationMs: 1, error: 'timeout' }
        : { at: T0 + t, ok: true, writer: w, addresses: [ADDR[w]!], chain: [`${w}.abc.rds.test`], durationMs: 1 },
    );
  }
  return out;
};
const apiRun = (from: number, to: number, every: number, writer: (t: number) => string | 'none' | 'error'): ApiSample[] => {
  const out: ApiSample[] = [];
  for (let t = from; t <= to; t += every) {
    const w = writer(t);
    out.push(w === 'none' ? { at: T0 + t, noWriter: true } : w === 'error' ? { at: T0 + t, error: 'Rate exceeded' } : { at: T0 + t, writer: w });
  }
  return out;
};
const probeRun = (from: number, to: number, who: (t: number) => [string, boolean]): ProbeSample[] => {
  const out: ProbeSample[] = [];
  for (let t = from; t <= to; t += 250) {
    const [instance, ok] = who(t);
    out.push({ at: T0 + t, address: ADDR[instance]!, instance, ok, latencyMs: 1, ...(ok ? {} : { error: 'connection refused' }) });
  }
  return out;
};

const input = (parts: Partial<TimelineInput>): TimelineInput => ({
  cluster: 'orders',
  host: 'orders.cluster-abc.rds.test',
  eventAt: T0,
  startedAt: T0,
  endedAt: T0 + 5000,
  endReason: 'settled',
  dns: [],
  api: [],
  probes: [],
  ...parts,
});

/** Offsets (ms from the event) of each step, undefined when not seen. */
const offsets = (t: ReturnType<typeof buildTimeline>) =>
  Object.fromEntries(t.steps.map((s) => [s.step, s.offsetMs])) as Partial<Record<TimelineStepKind, number | undefined>>;

interface Row {
  name: string;
  input: TimelineInput;
  expect: {
    offsets: Partial<Record<TimelineStepKind, number | undefined>>;
    dnsLagMs?: number;
    outageMs?: number;
    outageCause?: string;
    settled: boolean;
    newWriter?: string;
  };
}

const rows: Row[] = [
  {
    name: 'a normal failover: down, API swap, DNS 2.6 s later, new writer answers',
    input: input({
      previousWriter: A,
      dns: dnsRun(0, 4000, (t) => (t >= 3250 ? B : A)),
      api: apiRun(125, 4000, 250, (t) => (t >= 625 ? B : A)),
      probes: probeRun(125, 4000, (t) => (t >= 3375 ? [B, true] : [A, t < 375])),
    }),
    expect: {
      offsets: { event: 0, 'first-probe-failed': 375, 'api-writer-changed': 625, 'dns-names-new-writer': 3250, 'first-probe-ok-new-writer': 3375 },
      dnsLagMs: 2625,
      outageMs: 3000,
      outageCause: 'probe-failed',
      settled: true,
      newWriter: B,
    },
  },
  {
    name: 'a DNS flap: the step is where DNS followed for good',
    input: input({
      previousWriter: A,
      dns: dnsRun(0, 3000, (t) => (t === 1000 ? B : t >= 1500 ? B : A)),
      api: apiRun(125, 3000, 250, (t) => (t >= 625 ? B : A)),
      probes: probeRun(125, 3000, (t) => (t >= 1625 ? [B, true] : [A, true])),
    }),
    expect: {
      offsets: { 'api-writer-changed': 625, 'dns-names-new-writer': 1500, 'first-probe-ok-new-writer': 1625 },
      dnsLagMs: 875,
      outageMs: 1000,
      outageCause: 'writer-demoted',
      settled: true,
    },
  },
  {
    name: 'failed lookups inside the final run do not restart it',
    input: input({
      previousWriter: A,
      dns: dnsRun(0, 3000, (t) => (t === 2000 ? null : t >= 1500 ? B : A)),
      api: apiRun(125, 3000, 250, (t) => (t >= 625 ? B : A)),
      probes: probeRun(125, 3000, (t) => (t >= 1625 ? [B, true] : [A, true])),
    }),
    expect: { offsets: { 'dns-names-new-writer': 1500 }, dnsLagMs: 875, outageMs: 1000, settled: true },
  },
  {
    name: 'the API swapped before sampling began: the writer is taken from the drill',
    input: input({
      previousWriter: A,
      startedAt: T0 + 2000,
      dns: dnsRun(2000, 5000, (t) => (t >= 2500 ? B : A)),
      api: apiRun(2125, 5000, 1000, () => B),
      probes: probeRun(2125, 5000, (t) => (t >= 2625 ? [B, true] : [A, false])),
    }),
    expect: {
      offsets: { 'api-writer-changed': 2125, 'dns-names-new-writer': 2500, 'first-probe-ok-new-writer': 2625 },
      dnsLagMs: 375,
      outageMs: 500,
      settled: true,
    },
  },
  {
    name: 'nothing changes before the deadline',
    input: input({
      previousWriter: A,
      endReason: 'deadline',
      dns: dnsRun(0, 2000, () => A),
      api: apiRun(125, 2000, 1000, () => A),
      probes: probeRun(125, 2000, () => [A, true]),
    }),
    expect: {
      offsets: { event: 0, 'api-writer-changed': undefined, 'dns-names-new-writer': undefined, 'first-probe-ok-new-writer': undefined },
      settled: false,
    },
  },
  {
    name: 'DNS moves before the API says so: a negative lag, reported as such',
    input: input({
      previousWriter: A,
      dns: dnsRun(0, 3000, (t) => (t >= 1000 ? B : A)),
      api: apiRun(125, 3000, 250, (t) => (t >= 1375 ? B : A)),
      probes: probeRun(125, 3000, (t) => (t >= 1125 ? [B, true] : [A, t < 500])),
    }),
    expect: {
      offsets: { 'dns-names-new-writer': 1000, 'api-writer-changed': 1375, 'first-probe-ok-new-writer': 1125 },
      dnsLagMs: -375,
      outageMs: 500,
      settled: true,
    },
  },
  {
    name: 'a moment with no writer, API errors and a later probe failure do not confuse it',
    input: input({
      dns: dnsRun(0, 4000, (t) => (t >= 2000 ? B : A)),
      api: apiRun(125, 4000, 250, (t) => (t < 625 ? A : t < 1125 ? 'none' : t === 1125 ? 'error' : B)),
      probes: probeRun(125, 4000, (t) => (t === 3625 ? [B, false] : t >= 2125 ? [B, true] : [A, t < 875])),
    }),
    expect: {
      offsets: { 'api-no-writer': 625, 'first-probe-failed': 875, 'api-writer-changed': 1375, 'dns-names-new-writer': 2000, 'first-probe-ok-new-writer': 2125 },
      dnsLagMs: 625,
      outageMs: 1250,
      settled: true,
    },
  },
  {
    name: 'no probe ever succeeds on the new writer (a laptop outside the VPC)',
    input: input({
      previousWriter: A,
      endReason: 'deadline',
      dns: dnsRun(0, 3000, (t) => (t >= 1500 ? B : A)),
      api: apiRun(125, 3000, 250, (t) => (t >= 625 ? B : A)),
      probes: probeRun(125, 3000, (t) => [t >= 1625 ? B : A, false]),
    }),
    expect: {
      offsets: { 'first-probe-failed': 125, 'api-writer-changed': 625, 'dns-names-new-writer': 1500, 'first-probe-ok-new-writer': undefined },
      dnsLagMs: 875,
      settled: false,
    },
  },
];

describe('buildTimeline', () => {
  it.each(rows)('$name', (row) => {
    // Prepare: the table row's samples.
    // Act
    const t = buildTimeline(row.input);
    // Assess
    expect(offsets(t)).toMatchObject(row.expect.offsets);
    expect(t.dnsLagMs).toBe(row.expect.dnsLagMs);
    expect(t.outage?.ms).toBe(row.expect.outageMs);
    if (row.expect.outageCause) expect(t.outage?.cause).toBe(row.expect.outageCause);
    expect(t.settled).toBe(row.expect.settled);
    expect(isSettled(row.input)).toBe(row.expect.settled);
    if (row.expect.newWriter) expect(t.newWriter).toBe(row.expect.newWriter);
    // Seen steps in time order, unseen ones last.
    const seen = t.steps.filter((s) => s.at !== undefined).map((s) => s.at!);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    expect(t.steps.slice(seen.length).every((s) => s.at === undefined)).toBe(true);
  });

  it('gives each step the gap to the previous sample of its stream as precision', () => {
    // Prepare
    const row = rows[0]!.input;
    const coarse = { ...row, api: apiRun(125, 4000, 1000, (t) => (t >= 625 ? B : A)) };
    // Act
    const t = buildTimeline(coarse);
    const late = buildTimeline(rows[3]!.input);
    // Assess
    const byKind = Object.fromEntries(t.steps.map((s) => [s.step, s]));
    expect(byKind['api-writer-changed']).toMatchObject({ offsetMs: 1125, precisionMs: 1000 });
    expect(byKind['dns-names-new-writer']).toMatchObject({ precisionMs: 250 });
    expect(late.steps.find((s) => s.step === 'api-writer-changed')?.precisionMs).toBeUndefined();
  });

  it('takes the old writer from the first API answer when not given, and counts samples', () => {
    // Prepare
    const row = { ...rows[0]!.input };
    delete row.previousWriter;
    // Act
    const t = buildTimeline(row);
    // Assess
    expect(t.previousWriter).toBe(A);
    expect(t.counts).toEqual({ dns: 17, dnsFailed: 0, api: 16, apiFailed: 0, probes: 16, probesFailed: 12 });
  });
});

describe('timeline formatting', () => {
  it('prints steps, the figures and a one-line summary', () => {
    // Prepare
    const t = buildTimeline(rows[0]!.input);
    // Act
    const text = formatTimeline(t);
    const summary = timelineSummary(t);
    const doc = timelineDocument(t);
    // Assess
    expect(text).toContain('Failover of orders (orders.cluster-abc.rds.test), event at 2026-01-15T03:00:00.000Z');
    expect(text).toMatch(/\+3250 ms {2}DNS names the new writer {2}\(within 250 ms\)/);
    expect(text).toMatch(/DNS lag \(API -> DNS\) +2625 ms/);
    expect(text).toMatch(/client outage +3000 ms \(from first failed connection\)/);
    expect(summary).toBe('orders: orders-instance-1 -> orders-instance-2; DNS lag 2.63 s; client outage 3.00 s; settled');
    // What a < 1 s target needs: the lag, the 5 s TTL, and the ways round DNS.
    expect(text).toContain('For a failover under 1 s:');
    expect(text).toContain('(here 2625 ms after the API)');
    expect(text).toContain("(the endpoint's TTL is 5 s): up to 8.25 s after the event here.");
    expect(text).toMatch(/cannot be under 1 s with a 5 s TTL\. Take DNS out of the path: the AWS Advanced JDBC\n\s+Wrapper .*\n\s+or RDS Proxy/);
    expect(doc).toMatchObject({ eventAt: '2026-01-15T03:00:00.000Z', dnsLagMs: 2625, settled: true, outage: { ms: 3000, cause: 'probe-failed' } });
    expect(doc.steps.map((s) => s.step)).toEqual(['event', 'first-probe-failed', 'api-writer-changed', 'dns-names-new-writer', 'first-probe-ok-new-writer']);
  });

  it('draws the failover as fixed-width bars for email and chat, the DNS lag named', () => {
    // Prepare
    const t = buildTimeline(rows[0]!.input);
    const unseen = buildTimeline(rows[4]!.input);
    // Act
    const bar = timelineBar(t);
    // Assess: API at +625 ms, DNS at +3250 ms, connect last; bars in proportion, all ending at one column.
    expect(bar).toHaveLength(3);
    expect(bar[0]).toMatch(/^API {6}\|={6}> +\+625 ms$/);
    expect(bar[1]).toMatch(/^DNS {6}\|={33,38}> +\+3250 ms {2}\(DNS lag 2625 ms\)$/);
    expect(bar[2]).toMatch(/^connect {2}\|={39}> {3}\+\d+ ms$/);
    expect(new Set(bar.map((l) => l.indexOf('  +')))).toEqual(new Set([bar[2]!.indexOf('  +')]));
    expect(timelineBar(unseen)[1]).toMatch(/^DNS {6}\| +not seen$/);
  });

  it('says what was not seen', () => {
    // Prepare
    const t = buildTimeline(rows[4]!.input);
    // Act
    const summary = timelineSummary(t);
    const unseen = formatStep(t.steps.find((s) => s.step === 'dns-names-new-writer')!);
    // Assess
    expect(summary).toBe('orders: writer orders-instance-1 did not change; DNS lag not measured; no client outage seen; NOT settled within 5.00 s');
    expect(unseen).toBe('  not seen  DNS names the new writer');
  });
});
