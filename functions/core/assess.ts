/**
 * From what one check saw (resolution, probes, address history, web-tier observation) to
 * findings and metrics. Pure: no I/O, `now` is passed in.
 */
import { DEFAULTS, LIMITS } from './constants.ts';
import { adviceFor, detectServer } from './advice.ts';
import { currentOf, retiredOf } from './diff.ts';
import type { AddressDiff } from './diff.ts';
import type { ElbTarget, WebTierTarget } from './config.ts';
import type { MetricName } from './report.ts';
import type { AddressRecord, Finding, FindingKind, ProbeResult, Resolution, WebTierObservation } from './types.ts';
import { FINDING_KINDS } from './types.ts';

/** Builds a finding with its stable key, severity and advice. */
export function finding(target: string, kind: FindingKind, summary: string, evidence: Record<string, unknown>, advice = adviceFor(kind)): Finding {
  return { key: `${target}/${kind}`, target, kind, severity: FINDING_KINDS[kind], summary, evidence, advice };
}

type Metrics = Partial<Record<MetricName, number>>;

/** What assess needs to know about an ELB target after this check's diff and probes. */
export interface ElbInput {
  target: Pick<ElbTarget, 'name' | 'host' | 'port'>;
  resolution: Resolution;
  /** Undefined when the lookup failed (history unchanged) or on the target's first check. */
  diff?: AddressDiff;
  /** History after the diff. */
  records: readonly AddressRecord[];
  /** Probe results by address. */
  probes: ReadonlyMap<string, ProbeResult>;
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
  if (!resolution.ok) {
    findings.push(
      finding(name, 'resolution-failed', `${name}: lookup of ${resolution.host} failed (${resolution.code}); address history unchanged`, {
        host: resolution.host,
        code: resolution.code,
        message: resolution.message,
      }),
    );
  }
  if (diff && (diff.added.length > 0 || diff.retired.length > 0)) {
    const parts = [diff.added.length ? `+${diff.added.join(', +')}` : '', diff.retired.length ? `-${diff.retired.join(', -')}` : ''].filter(Boolean);
    findings.push(
      finding(name, 'address-set-changed', `${name}: addresses changed (${parts.join('; ')})`, {
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
      finding(name, 'current-address-unhealthy', `${name}: ${unhealthy.length} of ${current.length} current address(es) fail: ${unhealthy.map((r) => r.address).join(', ')}`, {
        addresses: unhealthy.map((r) => ({ address: r.address, error: describeProbe(probes.get(r.address)) })),
      }),
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
    list.map((r) => ({ address: r.address, retiredAt: r.retiredAt, probe: describeProbe(probes.get(r.address)) }));
  if (answering.length > 0) {
    findings.push(finding(name, 'retired-address-answering', `${name}: retired ${answering.map((r) => r.address).join(', ')} still answer${answering.length === 1 ? 's' : ''}`, { addresses: retiredEvidence(answering) }));
  }
  if (dead.length > 0) {
    findings.push(finding(name, 'retired-address-dead', `${name}: retired ${dead.map((r) => r.address).join(', ')} stopped answering`, { addresses: retiredEvidence(dead) }));
  }
  if (reassigned.length > 0) {
    findings.push(
      finding(name, 'retired-address-reassigned', `${name}: retired ${reassigned.map((r) => r.address).join(', ')} now answer${reassigned.length === 1 ? 's' : ''} as another service`, {
        addresses: reassigned.map((r) => {
          const p = probes.get(r.address);
          return { address: r.address, retiredAt: r.retiredAt, expectedIdentity: r.identity, seenIdentity: p?.identity, certificate: p?.tls };
        }),
      }),
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
}

/** Median of a list (undefined when empty). */
export function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

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

/** Findings and metrics of one web tier: stale-address confirmed (echo) or suspected (correlation). */
export function assessWebTier(input: WebTierInput): { findings: Finding[]; metrics: Metrics } {
  const { target, web, recentLatencies, upstream, now } = input;
  const name = target.name;
  const server = detectServer(web.server ?? input.knownServer, target.server);
  const findings: Finding[] = [];
  const current = currentOf(upstream.records);
  // Only addresses whose cached answers have expired for every client that honours the TTL:
  // a tier still on an address inside that window is behaving correctly.
  const retired = retiredOf(upstream.records).filter((r) => pastTtlGrace(r, now));
  const echoAddress = web.echo?.ok ? web.echo.address : undefined;
  const echoRetired = echoAddress ? retired.find((r) => r.address === echoAddress) : undefined;
  const base = { url: web.url, status: web.status, latencyMs: web.latencyMs, server: web.server, error: web.error?.message };

  let staleSuspected = 0;
  let staleConfirmed = 0;
  if (echoRetired) {
    staleConfirmed = 1;
    findings.push(
      finding(name, 'stale-address-confirmed', `${name}: web tier reached retired ${target.upstream} address ${echoRetired.address}`, {
        ...base,
        echoAddress: echoRetired.address,
        retiredAt: echoRetired.retiredAt,
        upstreamCurrent: current.map((r) => r.address),
      }, adviceFor('stale-address-confirmed', server)),
    );
  } else {
    const med = recentLatencies.length >= LIMITS.minLatencySamples ? median(recentLatencies) : undefined;
    const slowVsMedian = med !== undefined && web.latencyMs > DEFAULTS.slowFactor * med && web.latencyMs - med > DEFAULTS.slowMinExtraMs;
    const slow = web.ok && (web.latencyMs > target.timeoutMs || slowVsMedian);
    // Only what a stale upstream cache produces: the tier's own gateway errors, a stall, or slowness.
    // A refused or TLS-failing web tier is broken itself, whatever its upstream did.
    const failing = slow || (!web.ok && isGatewayFailure(web));
    const upstreamHealthy = upstream.resolutionOk && current.length > 0 && current.every((r) => upstream.probes.get(r.address)?.ok === true);
    if (failing && upstreamHealthy && retired.length > 0) {
      staleSuspected = 1;
      const how = web.ok ? `is slow (${web.latencyMs} ms, recent median ${med} ms)` : `fails (${web.error?.message ?? `HTTP ${web.status}`})`;
      findings.push(
        finding(name, 'stale-address-suspected', `${name}: web tier ${how} while every current ${target.upstream} address is healthy and ${retired.length} address(es) retired recently`, {
          ...base,
          recentMedianMs: med,
          upstreamCurrent: current.map((r) => r.address),
          upstreamRetired: retired.map((r) => ({ address: r.address, retiredAt: r.retiredAt, probe: describeProbe(upstream.probes.get(r.address)) })),
        }, adviceFor('stale-address-suspected', server)),
      );
    } else if (!web.ok && web.error?.code !== 'aborted') {
      findings.push(
        finding(name, 'current-address-unhealthy', `${name}: ${web.url} fails (${web.error?.message ?? `HTTP ${web.status}`})`, {
          ...base,
          upstreamHealthy,
        }),
      );
    }
  }
  return {
    findings,
    metrics: { StaleSuspected: staleSuspected, StaleConfirmed: staleConfirmed, ProbeFailures: web.ok ? 0 : 1, ...(web.ok ? { WebLatencyMs: web.latencyMs } : {}) },
  };
}
