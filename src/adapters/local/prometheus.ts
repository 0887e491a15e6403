/**
 * The check's figures in Prometheus' text format (prom-client), for `watch --metrics-listen` and
 * `--metrics-file` (README, "With Prometheus"). Names follow Prometheus' conventions: `ipdrift_`
 * prefix, base units (`_seconds`), `_total` counters. Labels are the target, the finding kind,
 * the severity, the sink: never an address. An ELB's addresses change with every scaling event,
 * so a series per address would make a new series every change, and the store would keep each
 * dead one (blackbox_exporter's maintainers keep addresses out of labels for the same reason);
 * the addresses are in `check --json` and the notices.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { CheckReport } from '../../core/report.ts';
import { CONDITION_OF, FINDING_KINDS, PAGING_SEVERITIES } from '../../core/types.ts';
import type { FindingKind } from '../../core/types.ts';
import { MS_PER_SECOND } from '../../core/time-units.ts';
import { TARGET_TYPE_DESCRIPTORS } from '../../core/target-types.ts';
import type { SinkFlush } from './notify/delivery.ts';

/** Finding kinds that say a client may be on a retired address: the stale-upstream condition's evidence. */
export const STALE_EVIDENCE_KINDS = (Object.keys(FINDING_KINDS) as FindingKind[]).filter((k) => CONDITION_OF[k] === 'stale-upstream');

/** Buckets of the check duration, seconds: a healthy check takes well under a second; the deadline is 25 s by default. */
const CHECK_DURATION_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 60];

/** The exporter's registry and the series it keeps. */
export class PromExporter {
  readonly registry = new Registry();
  private readonly addresses = this.gauge('ipdrift_addresses', 'Addresses of a name: current (in the answer) and retired (kept after they left it).', [
    'target',
    'state',
  ]);
  private readonly answering = this.gauge('ipdrift_addresses_answering', 'Addresses whose probe succeeded this check, current and retired.', [
    'target',
    'state',
  ]);
  private readonly probeFailures = this.counter('ipdrift_probe_failures_total', 'Probes that failed (current addresses, or the web tier).', ['target']);
  private readonly resolutionFailures = this.counter(
    'ipdrift_resolution_failures_total',
    'Checks whose lookup of the name failed (timeout, SERVFAIL, NXDOMAIN).',
    ['target'],
  );
  private readonly findings = this.gauge('ipdrift_findings', 'Findings of the last check, by kind and severity.', ['target', 'kind', 'severity']);
  private readonly staleEvidence = this.gauge(
    'ipdrift_stale_evidence',
    `Findings of the last check that say a client may be on a retired address (${STALE_EVIDENCE_KINDS.join(', ')}).`,
    ['target', 'kind'],
  );
  private readonly alertsOpen = this.gauge(
    'ipdrift_alerts_open',
    'Paging incidents open after the last check (opened, not resolved), by target and severity.',
    ['target', 'severity'],
  );
  private readonly dnsLag = this.gauge(
    'ipdrift_dns_lag_seconds',
    'How long an Aurora cluster endpoint has named the old writer since the writer changed (0: it follows).',
    ['target'],
  );
  private readonly webLatency = this.gauge('ipdrift_web_latency_seconds', "The web tier's answer time in the last check.", ['target']);
  private readonly duration = new Histogram({
    name: 'ipdrift_check_duration_seconds',
    help: 'How long a check took.',
    buckets: CHECK_DURATION_BUCKETS,
    registers: [this.registry],
  });
  private readonly checks = this.counter(
    'ipdrift_checks_total',
    'Checks run: complete, or incomplete (the deadline cut a target, or a state could not be saved).',
    ['result'],
  );
  private readonly lastSuccess = this.gauge('ipdrift_last_success_timestamp_seconds', 'When the last complete check finished (Unix time).', []);
  private readonly notices = this.counter(
    'ipdrift_notices_total',
    'Notices by sink: delivered, or set aside (refused); failed counts the checks whose delivery to the sink failed (the notices stay queued).',
    ['sink', 'result'],
  );
  /** Per target, the kind and severity pairs seen so far (`kind\0severity`). */
  private readonly seenFindings = new Map<string, Set<string>>();
  private readonly queued = this.gauge('ipdrift_notices_queued', 'Notices waiting for delivery, by sink.', ['sink']);

  constructor(targets: readonly { name: string }[], sinks: readonly string[]) {
    // Every series from the start, at 0: a rule on "increase" or "> 0" sees the first change.
    for (const { name } of targets) {
      for (const severity of PAGING_SEVERITIES) this.alertsOpen.set({ target: name, severity }, 0);
      this.probeFailures.inc({ target: name }, 0);
      this.resolutionFailures.inc({ target: name }, 0);
      for (const kind of STALE_EVIDENCE_KINDS) this.staleEvidence.set({ target: name, kind }, 0);
    }
    for (const result of ['complete', 'incomplete']) this.checks.inc({ result }, 0);
    for (const sink of sinks) {
      for (const result of ['delivered', 'refused', 'failed']) this.notices.inc({ sink, result }, 0);
      this.queued.set({ sink }, 0);
    }
  }

  private gauge<L extends string>(name: string, help: string, labelNames: L[]) {
    return new Gauge<L>({ name, help, labelNames, registers: [this.registry] });
  }

  private counter<L extends string>(name: string, help: string, labelNames: L[]) {
    return new Counter<L>({ name, help, labelNames, registers: [this.registry] });
  }

  /** Takes in one check's report and what the delivery after it did. */
  record(report: CheckReport, flushes: readonly SinkFlush[] = []): void {
    for (const t of report.targets) {
      const target = t.target;
      const ok = new Set(t.probes.filter((p) => p.ok).map((p) => p.address));
      if (TARGET_TYPE_DESCRIPTORS[t.type].hasAddresses) {
        this.addresses.set({ target, state: 'current' }, t.current.length);
        this.addresses.set({ target, state: 'retired' }, t.retired.length);
        this.answering.set({ target, state: 'current' }, t.current.filter((a) => ok.has(a)).length);
        this.answering.set({ target, state: 'retired' }, t.retired.filter((a) => ok.has(a)).length);
      }
      this.probeFailures.inc({ target }, t.metrics.ProbeFailures ?? 0);
      this.resolutionFailures.inc({ target }, t.metrics.ResolutionFailed ?? 0);
      // A check without the figure (the writer unknown, the tier failed) removes it: an old value would read as today's.
      if (t.metrics.DnsLagSeconds !== undefined) this.dnsLag.set({ target }, t.metrics.DnsLagSeconds);
      else this.dnsLag.remove({ target });
      if (t.metrics.WebLatencyMs !== undefined) this.webLatency.set({ target }, t.metrics.WebLatencyMs / MS_PER_SECOND);
      else this.webLatency.remove({ target });
      // A kind seen before and gone now reads 0, not a missing series.
      const counts = new Map<string, number>();
      for (const f of t.findings) counts.set(`${f.kind}\0${f.severity}`, (counts.get(`${f.kind}\0${f.severity}`) ?? 0) + 1);
      const seen = this.seenFindings.get(target) ?? new Set<string>();
      this.seenFindings.set(target, seen);
      for (const k of counts.keys()) seen.add(k);
      for (const k of seen) {
        const [kind, severity] = k.split('\0') as [string, string];
        this.findings.set({ target, kind, severity }, counts.get(k) ?? 0);
      }
      for (const kind of STALE_EVIDENCE_KINDS) this.staleEvidence.set({ target, kind }, t.findings.filter((f) => f.kind === kind).length);
    }
    // A target the check did not finish keeps its incidents (openPaging has them too).
    for (const t of report.targets)
      for (const severity of PAGING_SEVERITIES)
        this.alertsOpen.set({ target: t.target, severity }, report.openPaging.filter((a) => a.target === t.target && a.severity === severity).length);
    this.duration.observe(report.durationMs / MS_PER_SECOND);
    const complete = report.unsaved.length === 0 && report.targets.every((t) => t.completed);
    this.checks.inc({ result: complete ? 'complete' : 'incomplete' });
    if (complete) this.lastSuccess.set(Date.parse(report.finishedAt) / MS_PER_SECOND);
    for (const f of flushes) {
      this.notices.inc({ sink: f.sink, result: 'delivered' }, f.delivered);
      this.notices.inc({ sink: f.sink, result: 'refused' }, f.refused);
      if (f.failed) this.notices.inc({ sink: f.sink, result: 'failed' });
      this.queued.set({ sink: f.sink }, f.queued);
    }
  }

  /** The text format. */
  metrics(): Promise<string> {
    return this.registry.metrics();
  }
}
