/**
 * The metric table (core/metric-sets.ts) against the engine: `standard` is exactly what assess
 * computes per target type, `minimal` only what the alarms watch, and the sink wrapper sends the
 * config's set and nothing else.
 */
import { describe, expect, it } from 'vitest';
import { assessElb, assessWebTier } from '../../src/core/assess.ts';
import { assessAurora } from '../../src/core/aurora/assess.ts';
import { METRICS } from '../../src/core/report.ts';
import type { CheckReport, MetricName, TargetReport } from '../../src/core/report.ts';
import { reportOf } from './report-fixtures.ts';
import { TARGET_METRICS, alarmedMetrics, emittedMetrics, publishedMetrics, withMetricSet } from '../../src/core/metric-sets.ts';
import type { TargetType } from '../../src/core/metric-sets.ts';
import type { AddressRecord, ProbeResult } from '../../src/core/types.ts';

const NOW = new Date('2026-03-01T03:12:00.000Z');
const AT = NOW.toISOString();
const rec = (address: string, retired = false): AddressRecord => ({ address, firstSeen: AT, lastSeen: AT, ...(retired ? { retiredAt: AT } : {}) });
const ok = (address: string): ProbeResult => ({ ok: true, address, port: 80, protocol: 'http', latencyMs: 3 });
const resolved = {
  ok: true as const,
  host: 'h',
  queried: 'all.h',
  addresses: [{ address: '10.0.0.2', family: 4 as const, ttl: 60 }],
  cname: ['w-1.abc.rds.amazonaws.com'],
  complete: true,
  lookups: 1,
  durationMs: 1,
};
const records = [rec('10.0.0.1', true), rec('10.0.0.2')];
const probes = new Map([ok('10.0.0.1'), ok('10.0.0.2')].map((p) => [p.address, p]));

/** The metric names assess computes per type when it has every observation (healthy web tier, API writer known). */
function assessedMetricNames(): Record<TargetType, string[]> {
  const elb = assessElb({ target: { name: 'a', host: 'h', port: 80 }, resolution: resolved, records, probes });
  const web = assessWebTier({
    target: { name: 'w', url: 'http://w/', upstream: 'a', timeoutMs: 2000 },
    web: { url: 'http://w/', ok: true, status: 200, latencyMs: 5 },
    recentLatencies: [],
    upstream: { records, probes, resolutionOk: true },
    now: new Date(),
  });
  const aurora = assessAurora({
    target: { name: 'db', host: 'h', port: 5432, clusterIdentifier: 'c', dnsLagWarnSeconds: 10 },
    resolution: resolved,
    records,
    probes,
    now: NOW,
    api: { ok: true, writer: 'w-1', members: [{ id: 'w-1', isWriter: true }] },
  });
  return { elb: Object.keys(elb.metrics), 'web-tier': Object.keys(web.metrics), aurora: Object.keys(aurora.metrics) };
}

const report = (targets: TargetReport[]) => reportOf(targets, AT);
const targetReport = (target: string, type: TargetType, metrics: TargetReport['metrics']): TargetReport => ({
  target,
  type,
  probes: [],
  current: [],
  retired: [],
  findings: [],
  metrics,
  completed: true,
});

describe('metric sets', () => {
  it.each(Object.keys(TARGET_METRICS) as TargetType[])('standard for %s is exactly what assess computes', (type) => {
    // Act
    const assessed = assessedMetricNames()[type];
    // Assess
    expect([...assessed].sort()).toEqual([...emittedMetrics(type, 'standard')].sort());
  });

  it.each([
    ['elb', ['ResolutionFailed']],
    ['web-tier', ['StaleConfirmed', 'StaleSuspected']],
    ['aurora', ['ResolutionFailed', 'DnsLagSeconds']],
  ] as const)('minimal for %s is what its alarms watch: %j', (type, expected) => {
    // Act / Assess
    expect(emittedMetrics(type, 'minimal')).toEqual(expected);
    expect(alarmedMetrics(type)).toEqual(expected);
  });

  it('names only metrics the engine knows, alarms a subset of what is emitted', () => {
    for (const spec of Object.values(TARGET_METRICS)) {
      for (const m of spec.emits) expect(Object.keys(METRICS)).toContain(m);
      for (const m of spec.alarms) expect(spec.emits as readonly MetricName[]).toContain(m);
    }
  });

  it('publishedMetrics keeps the report order and drops what the set leaves out', () => {
    // Prepare
    const t = targetReport('app', 'elb', { ResolutionFailed: 0, Addresses: 2, RetiredDead: 1, StaleConfirmed: 1 });
    // Act / Assess: StaleConfirmed is no ELB metric, whatever the set.
    expect(publishedMetrics(t, 'standard')).toEqual({ ResolutionFailed: 0, Addresses: 2, RetiredDead: 1 });
    expect(publishedMetrics(t, 'minimal')).toEqual({ ResolutionFailed: 0 });
  });

  it('withMetricSet passes the rest of the report through unchanged', async () => {
    // Prepare
    const seen: CheckReport[] = [];
    const sink = withMetricSet({ publishMetrics: async (r) => void seen.push(r) }, 'minimal');
    const r = report([
      targetReport('app', 'elb', { Addresses: 2, ResolutionFailed: 0 }),
      targetReport('web', 'web-tier', { WebLatencyMs: 9, StaleSuspected: 0 }),
    ]);
    // Act
    await sink.publishMetrics(r);
    // Assess
    expect(seen).toHaveLength(1);
    expect(seen[0]!.targets.map((t) => t.metrics)).toEqual([{ ResolutionFailed: 0 }, { StaleSuspected: 0 }]);
    expect({ ...seen[0]!, targets: [] }).toEqual({ ...r, targets: [] });
    expect(r.targets[0]!.metrics).toEqual({ Addresses: 2, ResolutionFailed: 0 });
  });
});
