/**
 * Findings of an Aurora target (pure): the address findings an ELB gets (the cluster endpoint's
 * address moves on every failover), plus the writer as the RDS API and as DNS name it:
 * `writer-changed` (info event) when the API names another writer than last check, `dns-lag`
 * (warning) when the cluster endpoint has named another instance than the API's writer for
 * longer than `dnsLagWarnSeconds`, and the `DnsLagSeconds` metric (0 when they agree).
 *
 * With a check every minute, the lag is counted from the first check that saw the mismatch:
 * a lower bound. The failover watcher measures it to the quarter second.
 */
import type { UnusableAddress } from '../address-class.ts';
import type { AuroraTarget } from '../config.ts';
import type { AddressDiff } from '../diff.ts';
import { assessElb, finding } from '../assess.ts';
import type { ClusterMember, SessionAnswer } from '../ports.ts';
import type { MetricName } from '../report.ts';
import type { AddressRecord, Finding, ProbeResult, Resolution, TargetState } from '../types.ts';
import { dnsWriterOf } from './cname.ts';
import { MS_PER_SECOND } from '../time-units.ts';

/** What the state remembers about an Aurora target's writer. */
export type AuroraState = NonNullable<TargetState['aurora']>;

/** The writer lookup of this check: its answer, or why there is none. */
export type WriterObservation = { ok: true; writer: string; members: ClusterMember[] } | { ok: false; code: string; message: string };

/** Everything assessAurora looks at. */
export interface AuroraInput {
  target: Pick<AuroraTarget, 'name' | 'host' | 'port' | 'clusterIdentifier' | 'dnsLagWarnSeconds'>;
  resolution: Resolution;
  /** The reader endpoint's lookup, when `readerHost` is configured (evidence only). */
  reader?: Resolution;
  /** Undefined when the lookup failed or on the target's first check. */
  diff?: AddressDiff;
  records: readonly AddressRecord[];
  probes: ReadonlyMap<string, ProbeResult>;
  /** Addresses the answer named that no instance can have (not probed). */
  unusable?: readonly UnusableAddress[];
  previous?: AuroraState;
  /** Undefined when no writer lookup is configured: no API truth, no dns-lag. */
  api?: WriterObservation;
  /** A login through the endpoint (the target's `login`): whether that session could write. */
  session?: SessionAnswer;
  now: Date;
}

/** Lags are reported to a tenth of a second. */
const round1 = (n: number) => Math.round(n * 10) / 10;

/** The reader endpoint's chain and instance, for evidence. */
function readerEvidence(r: Resolution | undefined) {
  if (!r) return undefined;
  if (!r.ok) return { host: r.host, error: r.message };
  return { host: r.host, instance: dnsWriterOf(r.cname), chain: r.cname, addresses: r.addresses.map((a) => a.address) };
}

/** Findings, metrics and the next writer state of one Aurora target. */
export function assessAurora(input: AuroraInput): { findings: Finding[]; metrics: Partial<Record<MetricName, number>>; aurora: AuroraState } {
  const { target, resolution, api, now } = input;
  const name = target.name;
  const base = assessElb({
    target,
    targetType: 'aurora',
    resolution,
    ...(input.diff ? { diff: input.diff } : {}),
    ...(input.unusable ? { unusable: input.unusable } : {}),
    records: input.records,
    probes: input.probes,
  });
  const findings = base.findings;
  const metrics: Partial<Record<MetricName, number>> = { ...base.metrics };
  const previous = input.previous ?? {};
  const next: AuroraState = { ...previous };

  const dnsWriter = resolution.ok ? dnsWriterOf(resolution.cname) : undefined;
  if (dnsWriter !== undefined) next.dnsWriter = dnsWriter;
  // What a client gets right now: the writer endpoint handing out a read-only session.
  const session = input.session;
  if (session?.readOnly) {
    findings.push(
      finding(name, 'endpoint-reaches-reader', `${name}: a login through ${target.host} landed on a read-only instance (${session.answer})`, {
        host: target.host,
        address: session.address,
        user: session.user,
        answer: session.answer,
        dnsWriter,
        ...(api?.ok ? { apiWriter: api.writer } : {}),
      }),
    );
  }
  if (!api?.ok) return { findings, metrics, aurora: next };

  const members = api.members.map((m) => `${m.id}${m.isWriter ? ' (writer)' : ''}`);
  const reader = readerEvidence(input.reader);
  if (previous.apiWriter !== undefined && previous.apiWriter !== api.writer) {
    next.writerChangedAt = now.toISOString();
    const dnsState = dnsWriter === undefined ? 'DNS writer unknown' : dnsWriter === api.writer ? 'DNS already follows' : `DNS still names ${dnsWriter}`;
    findings.push(
      finding(name, 'writer-changed', `${name}: writer moved ${previous.apiWriter} -> ${api.writer} (${dnsState})`, {
        cluster: target.clusterIdentifier,
        from: previous.apiWriter,
        to: api.writer,
        dnsWriter,
        members,
        ...(reader ? { readerEndpoint: reader } : {}),
      }),
    );
  }
  next.apiWriter = api.writer;
  if (dnsWriter === undefined) return { findings, metrics, aurora: next };

  if (dnsWriter === api.writer) {
    delete next.mismatchSince;
    metrics.DnsLagSeconds = 0;
    return { findings, metrics, aurora: next };
  }
  const since = previous.mismatchSince ?? now.toISOString();
  next.mismatchSince = since;
  const lagSeconds = round1(Math.max(0, now.getTime() - Date.parse(since)) / MS_PER_SECOND);
  metrics.DnsLagSeconds = lagSeconds;
  if (lagSeconds > target.dnsLagWarnSeconds) {
    findings.push(
      finding(name, 'dns-lag', `${name}: ${target.host} still names ${dnsWriter}; the writer is ${api.writer} (for ${lagSeconds} s at least)`, {
        host: target.host,
        dnsWriter,
        apiWriter: api.writer,
        mismatchSince: since,
        lagSeconds,
        warnAfterSeconds: target.dnsLagWarnSeconds,
        chain: resolution.ok ? resolution.cname : [],
        addresses: resolution.ok ? resolution.addresses.map((a) => a.address) : [],
        members,
        ...(reader ? { readerEndpoint: reader } : {}),
      }),
    );
  }
  return { findings, metrics, aurora: next };
}
