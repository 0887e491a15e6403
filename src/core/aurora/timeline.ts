/**
 * The failover timeline, built from samples (pure): what the quality team measured by hand with
 * an nslookup loop, application exceptions and database logs (docs/architecture.md, "The problem").
 *
 *   event -> API names the new writer -> DNS names the new writer -> first good connection to it
 *
 * Times are epoch milliseconds (sub-millisecond when the clock gives them); offsets are from the
 * event. Each step carries its precision: the gap to the previous sample of the same stream,
 * since the change happened somewhere in between.
 */

/** One lookup of the cluster endpoint (a fresh resolver each time). */
export interface DnsSample {
  /** When the query was sent. */
  at: number;
  ok: boolean;
  /** The instance the CNAME chain names (undefined: lookup failed or no alias). */
  writer?: string;
  addresses: string[];
  chain: string[];
  durationMs: number;
  error?: string;
}

/** One DescribeDBClusters (or lab API) call. */
export interface ApiSample {
  at: number;
  /** The writer named; undefined when the call failed or the cluster had no writer. */
  writer?: string;
  /** True when the cluster listed no writer (normal for a moment during a failover). */
  noWriter?: boolean;
  error?: string;
}

/** One probe of the cluster endpoint, as a client would connect: to the address DNS gave last. */
export interface ProbeSample {
  at: number;
  address: string;
  /** The instance DNS named when the address was taken. */
  instance?: string;
  ok: boolean;
  latencyMs: number;
  error?: string;
}

/** Why sampling stopped. */
export type EndReason = 'settled' | 'deadline' | 'aborted';

/** What the builder needs. */
export interface TimelineInput {
  cluster: string;
  host: string;
  /** The trigger: the RDS event's time, or when the drill called FailoverDBCluster. */
  eventAt: number;
  startedAt: number;
  endedAt: number;
  endReason: EndReason;
  /** The writer before the failover, when known (drill: read before failing over; watcher: last check's state). */
  previousWriter?: string;
  dns: readonly DnsSample[];
  api: readonly ApiSample[];
  probes: readonly ProbeSample[];
}

/** Timeline steps, in the order a failover normally shows them. */
export const TIMELINE_STEPS = [
  'event',
  'first-probe-failed',
  'api-no-writer',
  'api-writer-changed',
  'dns-names-new-writer',
  'first-probe-ok-new-writer',
] as const;
/** One of {@link TIMELINE_STEPS}. */
export type TimelineStepKind = (typeof TIMELINE_STEPS)[number];

/** The steps every failover must show; the others appear when observed. */
export const REQUIRED_STEPS: readonly TimelineStepKind[] = ['event', 'api-writer-changed', 'dns-names-new-writer', 'first-probe-ok-new-writer'];

/** One step of the timeline. */
export interface TimelineStep {
  step: TimelineStepKind;
  label: string;
  /** Epoch ms; undefined when not observed before sampling stopped. */
  at?: number;
  /** Milliseconds from the event. */
  offsetMs?: number;
  /** The change happened at most this long before `at` (gap to the previous sample); undefined when it preceded the first sample. */
  precisionMs?: number;
  detail?: string;
}

/** The client-visible outage: first failure (or the old writer's demotion) to the first good connection to the new writer. */
export interface Outage {
  startAt: number;
  /** What started it. */
  cause: 'probe-failed' | 'writer-demoted';
  endAt?: number;
  ms?: number;
}

/** A failover, as one record (CLI output, SNS notice, history). */
export interface FailoverTimeline {
  cluster: string;
  host: string;
  previousWriter?: string;
  newWriter?: string;
  eventAt: number;
  startedAt: number;
  endedAt: number;
  endReason: EndReason;
  /** True when DNS named the API's new writer and a probe of it succeeded. */
  settled: boolean;
  steps: TimelineStep[];
  /** API change -> DNS change (negative if DNS moved first). */
  dnsLagMs?: number;
  outage?: Outage;
  counts: { dns: number; dnsFailed: number; api: number; apiFailed: number; probes: number; probesFailed: number };
}

const LABELS: Record<TimelineStepKind, string> = {
  event: 'failover event',
  'first-probe-failed': 'first failed connection via the cluster endpoint',
  'api-no-writer': 'API lists no writer',
  'api-writer-changed': 'API names the new writer',
  'dns-names-new-writer': 'DNS names the new writer',
  'first-probe-ok-new-writer': 'first good connection to the new writer',
};

const byTime = <T extends { at: number }>(list: readonly T[]) => [...list].sort((a, b) => a.at - b.at);

/** Gap between `list[i]` and the sample before it; undefined for the first. */
function gapBefore<T extends { at: number }>(list: readonly T[], i: number): number | undefined {
  return i > 0 ? list[i]!.at - list[i - 1]!.at : undefined;
}

/** The writer before the failover: given, else the first writer the API named. */
export function oldWriterOf(input: Pick<TimelineInput, 'previousWriter' | 'api'>): string | undefined {
  return input.previousWriter ?? byTime(input.api).find((s) => s.writer !== undefined)?.writer;
}

/** Index of the first API sample naming a writer other than `old`. */
function apiChangeIndex(api: readonly ApiSample[], old: string | undefined): number {
  return old === undefined ? -1 : api.findIndex((s) => s.writer !== undefined && s.writer !== old);
}

/**
 * Start of the final run of DNS samples naming `writer` (failed lookups are neutral): the
 * moment DNS followed for good, not a flap. -1 when the last naming sample names someone else.
 */
function dnsFollowIndex(dns: readonly DnsSample[], writer: string): number {
  let start = -1;
  for (let i = 0; i < dns.length; i++) {
    const w = dns[i]!.writer;
    if (w === undefined) continue;
    if (w === writer) {
      if (start === -1) start = i;
    } else start = -1;
  }
  return start;
}

/** Builds the timeline from the samples. Pure; samples may come in any order. */
export function buildTimeline(input: TimelineInput): FailoverTimeline {
  const dns = byTime(input.dns);
  const api = byTime(input.api);
  const probes = byTime(input.probes);
  const old = oldWriterOf(input);
  const step = (kind: TimelineStepKind, at: number | undefined, precisionMs?: number, detail?: string): TimelineStep => ({
    step: kind,
    label: LABELS[kind],
    ...(at !== undefined ? { at, offsetMs: at - input.eventAt } : {}),
    ...(precisionMs !== undefined ? { precisionMs } : {}),
    ...(detail !== undefined ? { detail } : {}),
  });

  const steps: TimelineStep[] = [step('event', input.eventAt, 0)];

  const apiIdx = apiChangeIndex(api, old);
  const apiChange = api[apiIdx];
  const newWriter = apiChange?.writer;
  steps.push(
    step(
      'api-writer-changed',
      apiChange?.at,
      apiChange ? gapBefore(api, apiIdx) : undefined,
      newWriter ? `${old ?? '?'} -> ${newWriter}` : old ? `still ${old}` : undefined,
    ),
  );

  const noWriterIdx = api.findIndex((s) => s.noWriter === true && (apiChange === undefined || s.at < apiChange.at));
  if (noWriterIdx !== -1) steps.push(step('api-no-writer', api[noWriterIdx]!.at, gapBefore(api, noWriterIdx)));

  const dnsIdx = newWriter !== undefined ? dnsFollowIndex(dns, newWriter) : -1;
  const dnsChange = dns[dnsIdx];
  steps.push(
    step(
      'dns-names-new-writer',
      dnsChange?.at,
      dnsChange ? gapBefore(dns, dnsIdx) : undefined,
      dnsChange ? `${dnsChange.chain[0] ?? ''} -> ${dnsChange.addresses.join(', ')}` : undefined,
    ),
  );

  const okIdx = newWriter === undefined ? -1 : probes.findIndex((p) => p.ok && p.instance === newWriter && (dnsChange === undefined || p.at >= dnsChange.at));
  const okProbe = probes[okIdx];
  steps.push(
    step(
      'first-probe-ok-new-writer',
      okProbe?.at,
      okProbe ? gapBefore(probes, okIdx) : undefined,
      okProbe ? `${okProbe.address} in ${okProbe.latencyMs} ms` : undefined,
    ),
  );

  // Failures after the recovery belong to something else.
  const failIdx = probes.findIndex((p) => !p.ok && p.at < (okProbe?.at ?? Infinity));
  const firstFail = probes[failIdx];
  if (firstFail)
    steps.push(
      step('first-probe-failed', firstFail.at, gapBefore(probes, failIdx), `${firstFail.instance ?? '?'} ${firstFail.address}: ${firstFail.error ?? 'failed'}`),
    );

  // Steps in time order; unobserved ones last, in their usual order.
  const order = (s: TimelineStep) => TIMELINE_STEPS.indexOf(s.step);
  steps.sort((a, b) => (a.at ?? Infinity) - (b.at ?? Infinity) || order(a) - order(b));

  // Outage: a client of the writer endpoint is broken from the first failed connection, or from
  // the old writer's demotion if earlier (connections still succeed, to a reader), until its
  // first good connection to the new writer.
  let outage: Outage | undefined;
  const starts = [
    ...(firstFail ? [{ at: firstFail.at, cause: 'probe-failed' as const }] : []),
    ...(apiChange ? [{ at: apiChange.at, cause: 'writer-demoted' as const }] : []),
  ].sort((a, b) => a.at - b.at);
  const first = starts[0];
  if (first) {
    outage = { startAt: first.at, cause: first.cause };
    if (okProbe && okProbe.at >= first.at) {
      outage.endAt = okProbe.at;
      outage.ms = okProbe.at - first.at;
    }
  }

  const settled = okProbe !== undefined && dnsChange !== undefined;
  return {
    cluster: input.cluster,
    host: input.host,
    ...(old !== undefined ? { previousWriter: old } : {}),
    ...(newWriter !== undefined ? { newWriter } : {}),
    eventAt: input.eventAt,
    startedAt: input.startedAt,
    endedAt: input.endedAt,
    endReason: input.endReason,
    settled,
    steps,
    ...(apiChange && dnsChange ? { dnsLagMs: dnsChange.at - apiChange.at } : {}),
    ...(outage ? { outage } : {}),
    counts: {
      dns: dns.length,
      dnsFailed: dns.filter((s) => !s.ok).length,
      api: api.length,
      apiFailed: api.filter((s) => s.error !== undefined).length,
      probes: probes.length,
      probesFailed: probes.filter((p) => !p.ok).length,
    },
  };
}

/** True once the samples show the failover done: DNS names a new API writer and a probe of it succeeded. */
export function isSettled(input: Pick<TimelineInput, 'previousWriter' | 'api' | 'dns' | 'probes'>): boolean {
  const api = byTime(input.api);
  const old = oldWriterOf(input);
  const latestWriter = [...api].reverse().find((s) => s.writer !== undefined)?.writer;
  if (old === undefined || latestWriter === undefined || latestWriter === old) return false;
  const dns = byTime(input.dns);
  const idx = dnsFollowIndex(dns, latestWriter);
  if (idx === -1) return false;
  const since = dns[idx]!.at;
  return input.probes.some((p) => p.ok && p.instance === latestWriter && p.at >= since);
}
