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

/** Failing addresses named in a summary, each with why; the evidence lists them all. */
const SUMMARY_ADDRESSES = 5;

/** `10.0.1.5 (connection refused), 10.0.1.6 (no answer within 2000 ms) +3 more`: the text output says why. */
function whyEach(records: readonly AddressRecord[], probes: ReadonlyMap<string, ProbeResult>): string {
  const shown = records.slice(0, SUMMARY_ADDRESSES).map((r) => `${r.address} (${describeProbe(probes.get(r.address))})`);
  const more = records.length - shown.length;
  return `${shown.join(', ')}${more > 0 ? ` +${more} more` : ''}`;
}

/** True when a failed probe says the address now serves another name or identity. */
function isReassigned(record: AddressRecord, probe: ProbeResult): boolean {
  if (probe.error?.code === 'cert-name-mismatch' || probe.tls?.nameMatches === false) return true;
  return probe.ok && record.identity !== undefined && probe.identity !== undefined && probe.identity !== record.identity;
}

/**
 * What a retired address is now, for a client seen reaching it: `answering` (the node drains: a
 * pooled connection there moves by itself when it goes, so only a risk), or gone for that client
 * in one of three ways (`silent`, `released` by the ELB, `reassigned` to another service): a client
 * that still reaches it did not move when it should have. `unknown`: not probed this check.
 */
export type RetiredState = 'answering' | 'silent' | 'released' | 'reassigned' | 'unknown';

/** The state of a retired address from its record (none: not in the history) and this check's probe. */
export function retiredStateOf(record: AddressRecord | undefined, probe: ProbeResult | undefined): RetiredState {
  if (!record) return 'unknown';
  if (record.released) return 'released';
  if (!probe || probe.error?.code === 'aborted') return 'unknown';
  if (isReassigned(record, probe)) return 'reassigned';
  return probe.ok ? 'answering' : 'silent';
}

/** A retired address gone for its clients: not draining, not unknown. */
export type GoneState = Exclude<RetiredState, 'answering' | 'unknown'>;

/** The way a retired address is gone for a client that still reaches it, or undefined while it drains (or was not probed). */
export const goneOf = (state: RetiredState): GoneState | undefined => (state === 'answering' || state === 'unknown' ? undefined : state);

/**
 * True when a flow client still tries a node after it went (released: CloudTrail's time; else the
 * first check that found it gone), so it did not move. With `tcp-flags`: it opened a connection
 * after (a record with SYN that started then): a pool reconnects to what DNS says now. Without:
 * a record that started past the horizon of what a pooled connection still sends after its node
 * went (keep-alive probes, its FIN at the idle timeout, retransmits). Records only from before are
 * a client that rode the node while it drained. Not yet known to have gone (this check is the
 * first to see it): not after.
 */
export function sentAfterGone(record: AddressRecord | undefined, client: { last: number; opened?: number; lastOpened?: number }): boolean {
  const at = record?.released?.at ?? record?.goneSince;
  if (at === undefined) return false;
  const since = Date.parse(at);
  if (client.opened !== undefined) return client.lastOpened !== undefined && client.lastOpened >= since;
  return client.last >= since + LIMITS.flowGoneHorizonSeconds * 1000;
}

/** How a summary says a retired address is gone. */
export const GONE_TEXT: Record<GoneState, string> = {
  silent: 'which stopped answering',
  released: 'which the ELB released',
  reassigned: 'which now answers as another service',
};

/** What a loopback answer's advice says first. */
export const LOOPBACK_LAB_ADVICE =
  'If this is a lab on this machine (a DNS server on loopback answering 127.x addresses), set "allowLoopback": true in the config: then loopback answers are probed. Otherwise:';

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
    const f = found(
      'unusable-address',
      `${name}: ${target.host} answered ${unusable.map((u) => u.address).join(', ')}: no node can have ${unusable.length === 1 ? 'that address' : 'those addresses'}; not probed`,
      {
        host: target.host,
        addresses: unusable.map((u) => ({ address: u.address, why: UNUSABLE_TEXT[u.reason] })),
      },
    );
    // A loopback answer is most often a lab on this machine: the config key that allows it comes first.
    findings.push(unusable.some((u) => u.reason === 'loopback') ? { ...f, advice: `${LOOPBACK_LAB_ADVICE} ${f.advice}` } : f);
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
      found('current-address-unhealthy', `${name}: ${unhealthy.length} of ${current.length} current address(es) fail: ${whyEach(unhealthy, probes)}`, {
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
  /**
   * Proof that the tier will not move by itself: its host has not asked for the upstream's name
   * since the addresses changed (Route 53 Resolver query logs). With it, reaching a draining node
   * pages at once; without it, that is only a risk (a pooled connection moves when the node goes).
   */
  proof?: { source: string; detail: string };
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
 * Findings and metrics of one web tier: the decision table of the stale-upstream condition (one
 * incident whatever the evidence this check; README, "What pages, and when"). A page needs
 * evidence that users fail, or proof that the tier will not move:
 *
 * - the echo names a retired address (past its TTL) that is gone (silent, released, reassigned),
 *   or one that drains with `proof` that the tier never re-resolved: confirmed (critical);
 * - the tier fails or slows while its upstream's current addresses are healthy, past the TTL
 *   after a retirement, and the echo names no current address: suspected (critical);
 * - an open incident stays open while the tier fails or slows in any way (users still fail);
 * - the echo names a retired address that still answers, and users do not fail: at risk (info,
 *   never a page): a cached answer fails when the node goes (and pages then), a pooled keep-alive
 *   connection moves by itself.
 *
 * An echo naming a current address is evidence against staleness, so it never opens one.
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
  const echoState = echoRetired ? retiredStateOf(echoRetired, upstream.probes.get(echoRetired.address)) : undefined;
  const gone = echoState ? goneOf(echoState) : undefined;
  const failingNow = signals.length > 0 ? `; the tier ${how}` : '';
  // Users fail through the tier while its upstream's current addresses are fine: the incident's own evidence.
  const usersFail = (slow || gatewayFailing) && upstreamHealthy;
  const echoEvidence = echoRetired ? { echoAddress: echoRetired.address, retiredAt: echoRetired.retiredAt, echoAddressState: echoState } : {};
  if (echoRetired && (gone || input.proof)) {
    // The node is gone for this tier (or the resolver logs prove it never asked again): it did not move and will not.
    staleConfirmed = 1;
    const why = gone ? `, ${GONE_TEXT[gone]}` : `; ${input.proof!.detail}`;
    findings.push(
      finding(
        name,
        'stale-address-confirmed',
        `${name}: web tier still reaches retired ${target.upstream} address ${echoRetired.address}${why}${failingNow}`,
        { ...base, ...echoEvidence, ...(input.proof ? { proof: input.proof } : {}), upstreamCurrent: current.map((r) => r.address) },
        staleAdvice('stale-address-confirmed'),
        ['echo', ...signals],
      ),
    );
  } else if (usersFail && retired.length > 0 && !echoCurrent) {
    staleSuspected = 1;
    const onRetired = echoRetired ? `; the echo names retired ${echoRetired.address}` : '';
    findings.push(
      finding(
        name,
        'stale-address-suspected',
        `${name}: web tier ${how} while every current ${target.upstream} address is healthy and ${retired.length} address(es) retired recently${onRetired}`,
        {
          ...base,
          ...echoEvidence,
          recentMedianMs: med,
          upstreamCurrent: current.map((r) => r.address),
          upstreamRetired: retiredEvidence,
        },
        staleAdvice('stale-address-suspected'),
        echoRetired ? ['echo', ...signals] : signals,
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
  } else if (echoRetired) {
    // The node drains and the tier still reaches it: a cached answer or a pooled connection. Not a
    // page: a pooled one moves by itself when the node goes; a cached one fails then, and pages.
    findings.push(
      finding(
        name,
        'stale-address-at-risk',
        `${name}: web tier still reaches retired ${target.upstream} address ${echoRetired.address}, which still answers (drains): at risk when it goes${failingNow}`,
        { ...base, ...echoEvidence, upstreamCurrent: current.map((r) => r.address) },
        staleAdvice('stale-address-at-risk'),
        ['echo', ...signals],
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
  // stale-upstream condition (one alert). A client of a draining address is a risk; of one that is
  // gone (silent, released, reassigned), the incident.
  const flow = input.flowClients ?? [];
  if (flow.length > 0) {
    const byAddress = new Map(upstream.records.map((r) => [r.address, r]));
    const isGone = (c: StaleClient) =>
      goneOf(retiredStateOf(byAddress.get(c.address), upstream.probes.get(c.address))) !== undefined && sentAfterGone(byAddress.get(c.address), c);
    // With proof the tier will not move, a client of a draining node is the incident too.
    const goneClients = flow.filter((c) => isGone(c) || input.proof !== undefined);
    const evidence = flow.map(clientEvidence);
    const key = conditionKey(name, 'stale-client-seen');
    const stale = findings.findIndex((f) => f.key === key);
    const atRisk = stale >= 0 && findings[stale]!.kind === 'stale-address-at-risk';
    const addresses = (list: readonly StaleClient[]) => list.map((c) => `${c.address}:${c.port}`).join(', ');
    if (stale >= 0 && !(atRisk && goneClients.length > 0)) {
      const f = findings[stale]!;
      findings[stale] = { ...f, evidence: { ...f.evidence, flowClients: evidence }, signals: [...new Set([...(f.signals ?? []), 'client' as const])] };
    } else {
      const kind = goneClients.length > 0 ? 'stale-client-seen' : 'stale-address-at-risk';
      const summary =
        goneClients.length > 0
          ? `${name}: the flow logs show this tier still sending to retired ${target.upstream} address ${addresses(goneClients)}${goneClients.some(isGone) ? ', no longer its node' : `; ${input.proof!.detail}`}`
          : `${name}: the flow logs show this tier still sending to retired ${target.upstream} address ${addresses(flow)}, which still answers (drains): at risk when it goes`;
      const f = finding(
        name,
        kind,
        summary,
        { ...base, flowClients: evidence, ...(input.proof ? { proof: input.proof } : {}), upstreamCurrent: current.map((r) => r.address) },
        staleAdvice(kind),
        ['client'],
      );
      // A risk the echo saw, made the incident by the flow logs: the flow finding speaks, with the echo's evidence too.
      if (stale >= 0)
        findings[stale] = { ...f, evidence: { ...findings[stale]!.evidence, ...f.evidence }, signals: ['client', ...(findings[stale]!.signals ?? [])] };
      else findings.push(f);
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
