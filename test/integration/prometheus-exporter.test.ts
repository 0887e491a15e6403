/**
 * The Prometheus exporter (README, "With Prometheus"): the series a check moves, read back with a
 * real text-format parser; the text linted by promtool; and the shipped rule file and Grafana
 * dashboard, which must use only series the exporter serves.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parser } from '@prometheus-io/lezer-promql';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { finding } from '../../src/core/assess.ts';
import type { CheckReport, TargetReport } from '../../src/core/report.ts';
import { PromExporter, STALE_EVIDENCE_KINDS } from '../../src/adapters/local/prometheus.ts';
import type { SinkFlush } from '../../src/adapters/local/notify/delivery.ts';
import { reportOf } from '../unit/report-fixtures.ts';
import { Scrape } from './prom-scrape.ts';

const ROOT = join(import.meta.dirname, '../..');
const PROMTOOL = '/usr/bin/promtool';
const IN_CI = !!process.env.CI && !['false', '0'].includes(process.env.CI);
const AT = '2026-12-06T03:00:00.000Z';

const probe = (address: string, ok: boolean) => ({ address, ok, port: 80, protocol: 'http', latencyMs: 3 });
const elb = (over: Partial<TargetReport> = {}): TargetReport => ({
  target: 'app-alb',
  type: 'elb',
  probes: [probe('10.0.1.21', true), probe('10.0.1.22', true), probe('10.0.1.11', true), probe('10.0.1.12', false)],
  current: ['10.0.1.21', '10.0.1.22'],
  retired: ['10.0.1.11', '10.0.1.12'],
  findings: [],
  metrics: { Addresses: 2, AddressesRetired: 2, ProbeFailures: 0, ResolutionFailed: 0 },
  completed: true,
  ...over,
});
const suspected = finding('web-stale', 'stale-address-suspected', 'web-stale fails; upstream healthy', {});
const web = (over: Partial<TargetReport> = {}): TargetReport => ({
  target: 'web-stale',
  type: 'web-tier',
  probes: [],
  current: [],
  retired: [],
  findings: [suspected],
  metrics: { StaleSuspected: 1, ProbeFailures: 1, WebLatencyMs: 1500 },
  completed: true,
  ...over,
});
const db: TargetReport = {
  target: 'orders-db',
  type: 'aurora',
  probes: [probe('10.0.2.5', true)],
  current: ['10.0.2.5'],
  retired: [],
  findings: [],
  metrics: { Addresses: 1, DnsLagSeconds: 12 },
  completed: true,
};
const TARGETS = [{ name: 'app-alb' }, { name: 'web-stale' }, { name: 'orders-db' }];
const flush = (over: Partial<SinkFlush>): SinkFlush => ({ sink: 'hook', delivered: 0, queued: 0, refused: 0, failed: false, errors: [], ...over });

/** A check in which web-stale's critical incident is open. */
const incident = (): CheckReport => ({
  ...reportOf([elb(), web(), db], AT),
  durationMs: 420,
  openPaging: [
    { key: 'web-stale/stale-upstream', severity: 'critical', target: 'web-stale', kind: 'stale-address-suspected', openedAt: AT, summary: suspected.summary },
  ],
});

function run(cmd: string, args: string[], input?: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { timeout: 20_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 99) : 0, out: `${stdout}${stderr}` }),
    );
    if (input !== undefined) child.stdin!.end(input);
  });
}

describe('the Prometheus exporter', () => {
  it('serves each target and kind as a series: addresses, answering, stale evidence, open alerts, DNS lag, duration, last success', async () => {
    // Prepare
    const exporter = new PromExporter(TARGETS, ['hook']);
    const before = new Scrape(await exporter.metrics());
    // Act
    exporter.record(incident(), [flush({ delivered: 1 })]);
    const during = new Scrape(await exporter.metrics());
    // The tier recovers; one lookup of the ELB fails; the notice waits.
    exporter.record(
      {
        ...reportOf([elb({ metrics: { ResolutionFailed: 1 } }), web({ findings: [], metrics: {} }), { ...db, metrics: { Addresses: 1 } }], AT),
        durationMs: 380,
      },
      [flush({ queued: 1, failed: true })],
    );
    const after = new Scrape(await exporter.metrics());
    // Assess: every series exists, at 0, before the first check.
    expect(before.value('ipdrift_alerts_open', { target: 'web-stale', severity: 'critical' })).toBe(0);
    expect(before.value('ipdrift_stale_evidence', { target: 'web-stale', kind: 'stale-address-suspected' })).toBe(0);
    expect(before.value('ipdrift_notices_total', { sink: 'hook', result: 'failed' })).toBe(0);
    expect(before.value('ipdrift_checks_total', { result: 'complete' })).toBe(0);
    // During the incident.
    expect(during.value('ipdrift_addresses', { target: 'app-alb', state: 'current' })).toBe(2);
    expect(during.value('ipdrift_addresses', { target: 'app-alb', state: 'retired' })).toBe(2);
    expect(during.value('ipdrift_addresses_answering', { target: 'app-alb', state: 'retired' })).toBe(1);
    expect(during.value('ipdrift_stale_evidence', { target: 'web-stale', kind: 'stale-address-suspected' })).toBe(1);
    expect(during.value('ipdrift_findings', { target: 'web-stale', kind: 'stale-address-suspected', severity: 'critical' })).toBe(1);
    expect(during.value('ipdrift_alerts_open', { target: 'web-stale', severity: 'critical' })).toBe(1);
    expect(during.value('ipdrift_alerts_open', { target: 'web-stale', severity: 'warning' })).toBe(0);
    expect(during.value('ipdrift_alerts_open', { target: 'app-alb', severity: 'critical' })).toBe(0);
    expect(during.value('ipdrift_dns_lag_seconds', { target: 'orders-db' })).toBe(12);
    expect(during.value('ipdrift_web_latency_seconds', { target: 'web-stale' })).toBe(1.5);
    expect(during.value('ipdrift_probe_failures_total', { target: 'web-stale' })).toBe(1);
    expect(during.value('ipdrift_last_success_timestamp_seconds')).toBe(Date.parse(AT) / 1000);
    expect(during.value('ipdrift_check_duration_seconds')).toBe(1);
    expect(during.value('ipdrift_notices_total', { sink: 'hook', result: 'delivered' })).toBe(1);
    // After: the finding reads 0 (not a missing series), counters add up, the gauge follows.
    expect(after.value('ipdrift_findings', { target: 'web-stale', kind: 'stale-address-suspected', severity: 'critical' })).toBe(0);
    expect(after.value('ipdrift_stale_evidence', { target: 'web-stale', kind: 'stale-address-suspected' })).toBe(0);
    expect(after.value('ipdrift_alerts_open', { target: 'web-stale', severity: 'critical' })).toBe(0);
    // A figure this check did not have is gone, not yesterday's: the Aurora writer unknown, the tier's answer missing.
    expect(after.value('ipdrift_dns_lag_seconds', { target: 'orders-db' })).toBeUndefined();
    expect(after.value('ipdrift_web_latency_seconds', { target: 'web-stale' })).toBeUndefined();
    expect(after.value('ipdrift_resolution_failures_total', { target: 'app-alb' })).toBe(1);
    expect(after.value('ipdrift_probe_failures_total', { target: 'web-stale' })).toBe(1);
    expect(after.value('ipdrift_checks_total', { result: 'complete' })).toBe(2);
    expect(after.value('ipdrift_check_duration_seconds')).toBe(2);
    expect(after.value('ipdrift_notices_total', { sink: 'hook', result: 'failed' })).toBe(1);
    expect(after.value('ipdrift_notices_queued', { sink: 'hook' })).toBe(1);
    // Never a label per address.
    for (const f of after.families) for (const m of f.metrics) expect(Object.keys(m.labels ?? {})).not.toContain('address');
    expect(STALE_EVIDENCE_KINDS).toEqual([
      'stale-address-at-risk',
      'stale-address-suspected',
      'stale-address-confirmed',
      'stale-client-seen',
      'dns-cache-at-risk',
    ]);
  });

  it('an incomplete check (the deadline cut a target) counts as incomplete and leaves the last success where it was', async () => {
    // Prepare
    const exporter = new PromExporter(TARGETS, []);
    exporter.record(incident());
    // Act
    exporter.record({ ...reportOf([elb({ completed: false })], '2026-12-06T03:01:00.000Z') });
    const s = new Scrape(await exporter.metrics());
    // Assess
    expect(s.value('ipdrift_checks_total', { result: 'incomplete' })).toBe(1);
    expect(s.value('ipdrift_last_success_timestamp_seconds')).toBe(Date.parse(AT) / 1000);
  });

  describe.skipIf(!existsSync(PROMTOOL) && !IN_CI)('with promtool (Debian prometheus)', () => {
    it('promtool check metrics finds nothing to say about the text', async () => {
      // Prepare
      const exporter = new PromExporter(TARGETS, ['hook']);
      exporter.record(incident(), [flush({ delivered: 1 })]);
      // Act
      const r = await run(PROMTOOL, ['check', 'metrics'], await exporter.metrics());
      // Assess
      expect(r).toEqual({ code: 0, out: '' });
    });

    it('the shipped rules pass promtool check rules and their own unit tests (promtool test rules)', async () => {
      // Act
      const check = await run(PROMTOOL, ['check', 'rules', join(ROOT, 'examples/prometheus/ipdrift.rules.yml')]);
      const tests = await run(PROMTOOL, ['test', 'rules', join(ROOT, 'examples/prometheus/ipdrift.rules.test.yml')]);
      // Assess
      expect(check.out).toContain('SUCCESS: 5 rules found');
      expect(check.code).toBe(0);
      expect(tests.out).toContain('SUCCESS');
      expect(tests.code).toBe(0);
    });
  });

  it('the rules and the Grafana dashboard name only series the exporter serves, in PromQL that parses', async () => {
    // Prepare: every series the exporter serves after a check of each target type, with a sink.
    const exporter = new PromExporter(TARGETS, ['hook']);
    exporter.record(incident(), [flush({ delivered: 1 })]);
    const served = new Scrape(await exporter.metrics()).seriesNames();
    const rules = parseYaml(readFileSync(join(ROOT, 'examples/prometheus/ipdrift.rules.yml'), 'utf8')) as { groups: { rules: { expr: string }[] }[] };
    const dashboard = JSON.parse(readFileSync(join(ROOT, 'examples/grafana/ipdrift-dashboard.json'), 'utf8')) as {
      panels: { title: string; targets: { expr: string }[] }[];
      templating: { list: { query: { query: string } }[] };
    };
    const exprs = [
      ...rules.groups.flatMap((g) => g.rules.map((r) => r.expr)),
      ...dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr)),
      ...dashboard.templating.list.map((v) => v.query.query.replace(/^label_values\(([^,]+),.*$/, '$1')),
    ];
    // Act: each expression's metric names, from the PromQL grammar Prometheus' own UI uses.
    const names = new Set<string>();
    const errors: string[] = [];
    for (const e of exprs) {
      // Grafana's variables, as Grafana would fill them in.
      const promql = e.replaceAll('$__rate_interval', '5m').replaceAll('$target', '.*');
      const tree = parser.parse(promql);
      tree.iterate({
        enter(n) {
          if (n.type.isError) errors.push(`${e}: syntax error at ${n.from}`);
          if (n.name === 'Identifier' && n.node.parent?.name === 'VectorSelector') names.add(promql.slice(n.from, n.to));
        },
      });
    }
    // Assess
    expect(errors).toEqual([]);
    expect(exprs.length).toBeGreaterThanOrEqual(18);
    expect([...names].filter((n) => !served.has(n))).toEqual([]);
    // And the dashboard shows each of the figures.
    for (const n of [
      'ipdrift_addresses',
      'ipdrift_addresses_answering',
      'ipdrift_probe_failures_total',
      'ipdrift_stale_evidence',
      'ipdrift_alerts_open',
      'ipdrift_dns_lag_seconds',
      'ipdrift_check_duration_seconds_bucket',
      'ipdrift_last_success_timestamp_seconds',
    ])
      expect(names).toContain(n);
  });
});
