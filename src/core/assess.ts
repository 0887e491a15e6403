/**
 * From what one check saw (resolution, probes, address history, web-tier observation) to
 * findings and metrics. Pure: no I/O, `now` is passed in.
 */
import { DEFAULTS, LIMITS } from './constants.ts';
import { adviceFor, serverInfo } from './advice.ts';
import type { AdviceTargetType } from './advice.ts';
import { UNUSABLE_TEXT } from './address-class.ts';
import type { UnusableAddress } from './address-class.ts';
import { currentOf, retiredOf } from './diff.ts';
import type { AddressDiff } from './diff.ts';
import type { ElbTarget, WebTierTarget } from './config.ts';
import type { MetricName } from './report.ts';
import type { AddressRecord, EvidenceSignal, Finding, FindingKind, ProbeResult, Resolution, WebTierObservation } from './types.ts';
import { FINDING_KINDS, conditionKey } from './types.ts';
import { clientEvidence } from './flow-log.ts';
import type { StaleClient } from './flow-log.ts';

/** Builds a finding with its condition's stable key, its kind's severity and advice. */
export function finding(
  target: string,
  kind: FindingKind,
  summary: string,
  evidence: Record<string, unknown>,
  advice = adviceFor(kind),
  signals?: EvidenceSignal[],
): Finding {
  return { key: conditionKey(target, kind), target, kind, severity: FINDING_KINDS[kind], summary, evidence, advice, ...(signals ? { signals } : {}) };
}

type Metrics = Partial<Record<MetricName, number>>;

/** What assess needs to know about an ELB target after this check's diff and probes. */
export interface ElbInput {
  target: Pick<ElbTarget, 'name' | 'host' | 'port'>;
  /** Whose words the advice uses (an Aurora endpoint is not a load balancer); default `elb`. */
  targetType?: AdviceTargetType;
  resolution: Resolution;
  /** Undefined when the lookup failed (history unchanged) or on the target's first check. */
  diff?: AddressDiff;
  /** History after the diff. */
  records: readonly AddressRecord[];
  /** Probe results by address. */
  probes: ReadonlyMap<string, ProbeResult>;
  /** Addresses the answer named that no node can have (screened out before the diff). */
  unusable?: readonly UnusableAddress[];
}

const describeProbe = (p: ProbeResult | undefined) => (p ? (p.ok ? `ok in ${p.latencyMs} ms` : (p.error?.message ?? 'failed')) : 'not probed');

/** True when a failed probe says the address now serves another name or identity. */
function isReassigned(record: AddressRecord, probe: ProbeResult): boolean {
  if (probe.error?.code === 'cert-name-mismatch' || probe.tls?.nameMatches === false) return true;
  return probe.ok && record.identity !== undefined && probe.identity !== undefined && probe.identity !== record.identity;
}

/** Findings and metrics of one ELB target. */
export function assessElb(input: ElbInput): { findings: Finding[]; metrics: Metrics } {
  const { target, resolution, diff, records, probes } = input;
  const name = target.name;
  const findings: Finding[] = [];
  const targetType = input.targetType ?? 'elb';
  const found = (kind: FindingKind, summary: string, evidence: Record<string, unknown>) =>
    finding(name, kind, summary, evidence, adviceFor(kind, { targetType }));
  // An answer of only unusable addresses is one condition: the unusable-address finding says it.
  if (!resolution.ok && resolution.code !== 'unusable') {
    findings.push(
      found('resolution-failed', `${name}: lookup of ${resolution.host} failed (${resolution.code}); address history unchanged`, {
        host: resolution.host,
        code: resolution.code,
        message: resolution.message,
      }),
    );
  }
  const unusable = input.unusable ?? [];
  if (unusable.length > 0) {
    findings.push(
      found(
        'unusable-address',
        `${name}: ${target.host} answered ${unusable.map((u) => u.address).join(', ')}: no node can have ${unusable.length === 1 ? 'that address' : 'those addresses'}; not probed`,
        {
          host: target.host,
          addresses: unusable.map((u) => ({ address: u.address, why: UNUSABLE_TEXT[u.reason] })),
        },
      ),
    );
  }
  if (diff && (diff.added.length > 0 || diff.retired.length > 0)) {
    const parts = [diff.added.length ? `+${diff.added.join(', +')}` : '', diff.retired.length ? `-${diff.retired.join(', -')}` : ''].filter(Boolean);
    findings.push(
      found('address-set-changed', `${name}: addresses changed (${parts.join('; ')})`, {
        host: target.host,
        added: diff.added,
        retired: diff.retired,
        current: currentOf(records).map((r) => r.address),
        complete: resolution.ok ? resolution.complete : undefined,
      }),
    );
  }

  const current = currentOf(records);
  // A probe the check's deadline stopped says nothing about the address: not a failure.
  const unhealthy = current.filter((r) => {
    const p = probes.get(r.address);
    return p?.ok === false && p.error?.code !== 'aborted';
  });
  if (unhealthy.length > 0) {
    findings.push(
      found(
        'current-address-unhealthy',
        `${name}: ${unhealthy.length} of ${current.length} current address(es) fail: ${unhealthy.map((r) => r.address).join(', ')}`,
        {
          addresses: unhealthy.map((r) => ({ address: r.address, error: describeProbe(probes.get(r.address)) })),
        },
      ),
    );
  }

  const answering: AddressRecord[] = [];
  const dead: AddressRecord[] = [];
  const reassigned: AddressRecord[] = [];
  for (const r of retiredOf(records)) {
    const p = probes.get(r.address);
    if (!p || p.error?.code === 'aborted') continue;
    if (isReassigned(r, p)) reassigned.push(r);
    else if (p.ok) answering.push(r);
    else dead.push(r);
  }
  const retiredEvidence = (list: AddressRecord[]) =>
    list.map((r) => ({
      address: r.address,
      retiredAt: r.retiredAt,
      ...(r.released ? { released: r.released } : {}),
      probe: describeProbe(probes.get(r.address)),
    }));
  if (answering.length > 0) {
    findings.push(
      found('retired-address-answering', `${name}: retired ${answering.map((r) => r.address).join(', ')} still answer${answering.length === 1 ? 's' : ''}`, {
        addresses: retiredEvidence(answering),
      }),
    );
  }
  if (dead.length > 0) {
    findings.push(
      found('retired-address-dead', `${name}: retired ${dead.map((r) => r.address).join(', ')} stopped answering${releasedNote(dead)}`, {
        addresses: retiredEvidence(dead),
      }),
    );
  }
  if (reassigned.length > 0) {
    findings.push(
      found(
        'retired-address-reassigned',
        `${name}: retired ${reassigned.map((r) => r.address).join(', ')} now answer${reassigned.length === 1 ? 's' : ''} as another service`,
        {
          addresses: reassigned.map((r) => {
            const p = probes.get(r.address);
            return { address: r.address, retiredAt: r.retiredAt, expectedIdentity: r.identity, seenIdentity: p?.identity, certificate: p?.tls };
          }),
        },
      ),
    );
  }
  const retiredCount = records.length - current.length;
  return {
    findings,
    metrics: {
      Addresses: current.length,
      AddressesRetired: retiredCount,
      RetiredAnswering: answering.length,
      RetiredDead: dead.length + reassigned.length,
      ProbeFailures: unhealthy.length,
      ResolutionFailed: resolution.ok ? 0 : 1,
    },
  };
}

/** What assess needs about a web tier and its upstream ELB. */
export interface WebTierInput {
  target: Pick<WebTierTarget, 'name' | 'url' | 'upstream' | 'timeoutMs' | 'server'>;
  web: WebTierObservation;
  /** Successful latencies of earlier checks (ms), newest last. */
  recentLatencies: readonly number[];
  /** The `Server` header an earlier check saw (used when this check saw none: a stall has no headers). */
  knownServer?: string;
  now: Date;
  upstream: { records: readonly AddressRecord[]; probes: ReadonlyMap<string, ProbeResult>; resolutionOk: boolean };
  /** The tier's stale-upstream alert is open (not resolving): since when. */
  openIncident?: { since: string };
  /** Flow log clients on the upstream's retired addresses whose source is this tier. */
  flowClients?: readonly StaleClient[];
}

/** Median of a list (undefined when empty). */
export function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** `; 2 released by the ELB`: how many of them CloudTrail confirms gone for good. */
const releasedNote = (records: readonly AddressRecord[]) => {
  const n = records.filter((r) => r.released).length;
  return n === 0 ? '' : `; ${n === records.length ? (n === 1 ? 'it was' : 'all were') : `${n} were`} released by the ELB`;
};

/** True once `now` is past the address's retirement plus its TTL and a grace. */
export function pastTtlGrace(record: AddressRecord, now: Date): boolean {
  if (record.retiredAt === undefined) return false;
  const ttlMs = (record.ttl ?? LIMITS.defaultTtlSeconds) * 1000;
  const grace = Math.max(LIMITS.staleGraceMinMs, ttlMs * LIMITS.staleGraceTtlFraction);
  return now.getTime() - Date.parse(record.retiredAt) >= ttlMs + grace;
}

/** Statuses a proxy answers when its upstream connection failed or timed out. */
const GATEWAY_STATUSES: ReadonlySet<number> = new Set([500, 502, 503, 504]);

/** True when a web tier's failure can come from its upstream: a gateway status or a stall. */
function isGatewayFailure(web: WebTierObservation): boolean {
  if (web.error?.code === 'timeout') return true;
  return web.status !== undefined && GATEWAY_STATUSES.has(web.status);
}

/**
 * Findings and metrics of one web tier. The stale-upstream condition is one incident whatever
 * the evidence this check: the echo proves it (confirmed), or the tier fails or slows while its
 * upstream's current addresses are healthy past the TTL after a retirement (suspected). Once the
 * incident is open, any failure or slowness of the tier keeps it open (users still fail), even
 * after the retired addresses went silent or left the history; an echo naming a current address
 * is evidence against staleness, so it never opens one.
 */
export function assessWebTier(input: WebTierInput): { findings: Finding[]; metrics: Metrics } {
  const { target, web, recentLatencies, upstream, now } = input;
  const name = target.name;
  const server = serverInfo(web.server ?? input.knownServer, target.server);
  const staleAdvice = (kind: FindingKind) => adviceFor(kind, server ? { server } : {});
  const findings: Finding[] = [];
  const current = currentOf(upstream.records);
  // Only addresses whose cached answers have expired for every client that honours the TTL:
  // a tier still on an address inside that window is behaving correctly.
  const retired = retiredOf(upstream.records).filter((r) => pastTtlGrace(r, now));
  const echoAddress = web.echo?.ok ? web.echo.address : undefined;
  const echoRetired = echoAddress ? retired.find((r) => r.address === echoAddress) : undefined;
  const echoCurrent = echoAddress !== undefined && current.some((r) => r.address === echoAddress);
  const base = { url: web.url, status: web.status, latencyMs: web.latencyMs, server: web.server, error: web.error?.message };

  const med = recentLatencies.length >= LIMITS.minLatencySamples ? median(recentLatencies) : undefined;
  const slowVsMedian = med !== undefined && web.latencyMs > DEFAULTS.slowFactor * med && web.latencyMs - med > DEFAULTS.slowMinExtraMs;
  const slow = web.ok && (web.latencyMs > target.timeoutMs || slowVsMedian);
  const cut = web.error?.code === 'aborted';
  // Only what a stale upstream cache produces: the tier's own gateway errors, a stall, or slowness.
  // A refused or TLS-failing web tier is broken itself, whatever its upstream did.
  const gatewayFailing = !web.ok && isGatewayFailure(web);
  const signals: EvidenceSignal[] = [];
  if (!web.ok && !cut) signals.push('failing');
  if (slow) signals.push('slow');
  const how = web.ok ? `is slow (${web.latencyMs} ms, recent median ${med} ms)` : `fails (${web.error?.message ?? `HTTP ${web.status}`})`;
  const upstreamHealthy = upstream.resolutionOk && current.length > 0 && current.every((r) => upstream.probes.get(r.address)?.ok === true);
  const retiredEvidence = retired.map((r) => ({ address: r.address, retiredAt: r.retiredAt, probe: describeProbe(upstream.probes.get(r.address)) }));

  let staleSuspected = 0;
  let staleConfirmed = 0;
  if (echoRetired) {
    staleConfirmed = 1;
    const failingNow = signals.length > 0 ? `; the tier ${how}` : '';
    findings.push(
      finding(
        name,
        'stale-address-confirmed',
        `${name}: web tier reached retired ${target.upstream} address ${echoRetired.address}${failingNow}`,
        {
          ...base,
          echoAddress: echoRetired.address,
          retiredAt: echoRetired.retiredAt,
          upstreamCurrent: current.map((r) => r.address),
        },
        staleAdvice('stale-address-confirmed'),
        ['echo', ...signals],
      ),
    );
  } else if ((slow || gatewayFailing) && upstreamHealthy && retired.length > 0 && !echoCurrent) {
    staleSuspected = 1;
    findings.push(
      finding(
        name,
        'stale-address-suspected',
        `${name}: web tier ${how} while every current ${target.upstream} address is healthy and ${retired.length} address(es) retired recently`,
        {
          ...base,
          recentMedianMs: med,
          upstreamCurrent: current.map((r) => r.address),
          upstreamRetired: retiredEvidence,
        },
        staleAdvice('stale-address-suspected'),
        signals,
      ),
    );
  } else if (input.openIncident && signals.length > 0) {
    // The open incident's evidence: users still fail through this tier. It stays one incident.
    staleSuspected = 1;
    findings.push(
      finding(
        name,
        'stale-address-suspected',
        `${name}: web tier still ${how}; stale-upstream incident open since ${input.openIncident.since}`,
        {
          ...base,
          recentMedianMs: med,
          upstreamHealthy,
          upstreamCurrent: current.map((r) => r.address),
          upstreamRetired: retiredEvidence,
          ...(echoAddress !== undefined ? { echoAddress } : {}),
        },
        staleAdvice('stale-address-suspected'),
        signals,
      ),
    );
  } else if (gatewayFailing && upstreamHealthy && retiredOf(upstream.records).some((r) => !pastTtlGrace(r, now))) {
    // Inside the TTL after a retirement: a stale cache is possible but not yet a verdict. Saying
    // "unhealthy" now would page once, then again as stale-upstream, then resolve the first page
    // while users still fail. The next check decides.
  } else if (!web.ok && !cut) {
    findings.push(
      finding(
        name,
        'current-address-unhealthy',
        `${name}: ${web.url} fails (${web.error?.message ?? `HTTP ${web.status}`})`,
        {
          ...base,
          upstreamHealthy,
        },
        adviceFor('current-address-unhealthy', { targetType: 'web-tier' }),
      ),
    );
  }
  // The flow logs name this tier as a client of a retired address: evidence of the same
  // stale-upstream incident (one alert), added to this check's finding or the finding itself.
  const flow = input.flowClients ?? [];
  if (flow.length > 0) {
    const evidence = flow.map(clientEvidence);
    const stale = findings.findIndex((f) => f.key === conditionKey(name, 'stale-client-seen'));
    if (stale >= 0) {
      const f = findings[stale]!;
      findings[stale] = { ...f, evidence: { ...f.evidence, flowClients: evidence }, signals: [...new Set([...(f.signals ?? []), 'client' as const])] };
    } else {
      findings.push(
        finding(
          name,
          'stale-client-seen',
          `${name}: the flow logs show this tier still sending to retired ${target.upstream} address ${flow.map((c) => `${c.address}:${c.port}`).join(', ')}`,
          { ...base, flowClients: evidence, upstreamCurrent: current.map((r) => r.address) },
          staleAdvice('stale-client-seen'),
          ['client'],
        ),
      );
    }
  }
  return {
    findings,
    metrics: {
      StaleSuspected: staleSuspected,
      StaleConfirmed: staleConfirmed,
      ProbeFailures: web.ok ? 0 : 1,
      ...(web.ok ? { WebLatencyMs: web.latencyMs } : {}),
    },
  };
}

/**
 * `retired-address-reassigned` is a warning; it becomes critical only with evidence that a client
 * still sends to the address: a web tier whose echo names it this check. Returns the ELB's
 * findings with that escalation applied (the evidence names the tiers).
 */
export function escalateReassigned(elbFindings: readonly Finding[], tiers: readonly { name: string; web?: WebTierObservation }[]): Finding[] {
  return elbFindings.map((f) => {
    if (f.kind !== 'retired-address-reassigned') return f;
    const addresses = new Set(((f.evidence.addresses ?? []) as { address: string }[]).map((a) => a.address));
    const usedBy = tiers
      .filter((t) => t.web?.echo?.ok && addresses.has(t.web.echo.address))
      .map((t) => ({ tier: t.name, address: (t.web!.echo as { address: string }).address }));
    if (usedBy.length === 0) return f;
    return {
      ...f,
      severity: 'critical',
      summary: `${f.summary}; still used by ${usedBy.map((u) => u.tier).join(', ')}`,
      evidence: { ...f.evidence, usedBy },
      signals: ['client'],
    };
  });
}
