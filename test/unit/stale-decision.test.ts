/**
 * The stale-upstream decision table (src/core/assess.ts assessWebTier; README, "What pages, and
 * when"): a page needs evidence that users fail, or proof that the tier will not move. Reaching a
 * draining node is a risk (info, events topic); the same condition escalates in place and on-call
 * hears "opened" when it turns into the incident.
 */
import { describe, expect, it } from 'vitest';
import { evaluateAlerts, markDelivered } from '../../src/core/alerts.ts';
import { assessWebTier } from '../../src/core/assess.ts';
import { unconfiguredClientFindings } from '../../src/core/flow-evidence.ts';
import type { StaleClient } from '../../src/core/flow-log.ts';
import { audienceOf } from '../../src/core/notice.ts';
import type { AddressRecord, AlertState, Finding, ProbeResult, WebTierObservation } from '../../src/core/types.ts';

const RETIRED_AT = '2026-12-01T00:00:00Z';
/** Well past the retirement plus the 60 s TTL and its grace. */
const NOW = new Date(Date.parse(RETIRED_AT) + 5 * 60_000);
const OLD = '10.0.0.1';
const NEW = '10.0.0.2';
const policy = { renotifyMinutes: 60, resolveAfterChecks: 2, openAfterChecks: 2 };

const record = (address: string, extra: Partial<AddressRecord> = {}): AddressRecord => ({ address, firstSeen: RETIRED_AT, lastSeen: RETIRED_AT, ...extra });
const probe = (address: string, ok: boolean, extra: Partial<ProbeResult> = {}): ProbeResult => ({
  ok,
  address,
  port: 80,
  protocol: 'http',
  latencyMs: ok ? 3 : 800,
  identity: 'http:awselb/2.0',
  ...(ok ? {} : { error: { code: 'refused' as const, message: 'refused' } }),
  ...extra,
});

/** What the retired node is now. */
type Node = 'answering' | 'silent' | 'released' | 'reassigned';
/** What the tier does for users. */
type Tier = 'ok' | 'failing';

function upstreamOf(node: Node) {
  const old = record(OLD, {
    retiredAt: RETIRED_AT,
    ttl: 60,
    identity: 'http:awselb/2.0',
    ...(node === 'released' ? { released: { at: RETIRED_AT, interfaceId: 'eni-0abc' } } : {}),
    // A check found the silent or reassigned node gone a minute after it retired.
    ...(node === 'silent' || node === 'reassigned' ? { goneSince: new Date(Date.parse(RETIRED_AT) + 60_000).toISOString() } : {}),
  });
  const oldProbe =
    node === 'answering' || node === 'released'
      ? probe(OLD, true)
      : node === 'reassigned'
        ? probe(OLD, true, { identity: 'http:someone-else' })
        : probe(OLD, false);
  return { records: [old, record(NEW)], probes: new Map([oldProbe, probe(NEW, true)].map((p) => [p.address, p])), resolutionOk: true };
}

function webOf(tier: Tier, echo: string | undefined): WebTierObservation {
  const base: WebTierObservation =
    tier === 'ok'
      ? { url: 'http://web/', ok: true, status: 200, latencyMs: 10 }
      : { url: 'http://web/', ok: false, status: 502, latencyMs: 10, error: { code: 'http-status', message: 'HTTP 502' } };
  return echo ? { ...base, echo: { ok: true, address: echo } } : base;
}

const target = { name: 'web', url: 'http://web/', upstream: 'app', timeoutMs: 2000 };
const proof = { source: 'resolver-query-logs' as const, detail: 'its host has not asked for the name since the change' };

describe('stale-upstream decision table', () => {
  // node x what the tier reaches x users x proof -> the one finding of the condition
  it.each([
    // The tier reaches the retired node by its echo.
    ['answering', 'ok', OLD, false, 'stale-address-at-risk', 'info'],
    ['answering', 'ok', OLD, true, 'stale-address-confirmed', 'critical'],
    ['answering', 'failing', OLD, false, 'stale-address-suspected', 'critical'],
    ['silent', 'ok', OLD, false, 'stale-address-confirmed', 'critical'],
    ['released', 'ok', OLD, false, 'stale-address-confirmed', 'critical'],
    ['reassigned', 'ok', OLD, false, 'stale-address-confirmed', 'critical'],
    // The tier reaches a current node: evidence against staleness.
    ['answering', 'ok', NEW, false, undefined, undefined],
    ['silent', 'ok', NEW, false, undefined, undefined],
    // No echo answer: only the users' failures speak.
    ['silent', 'failing', undefined, false, 'stale-address-suspected', 'critical'],
    ['answering', 'failing', undefined, false, 'stale-address-suspected', 'critical'],
    ['silent', 'ok', undefined, false, undefined, undefined],
  ] as const)('node %s, tier %s, echo %s, proof %s -> %s', (node, tier, echo, withProof, kind, severity) => {
    // Prepare
    const upstream = upstreamOf(node);

    // Act
    const { findings } = assessWebTier({ target, web: webOf(tier, echo), recentLatencies: [], upstream, now: NOW, ...(withProof ? { proof } : {}) });

    // Assess
    const stale = findings.filter((f) => f.key === 'web/stale-upstream');
    expect(stale.map((f) => [f.kind, f.severity])).toEqual(kind ? [[kind, severity]] : []);
  });

  it('a draining node reached through the tier is at risk with the server fix named for a tier that caches', () => {
    // Act
    const { findings } = assessWebTier({
      target: { ...target, server: 'apache' },
      web: webOf('ok', OLD),
      recentLatencies: [],
      upstream: upstreamOf('answering'),
      now: NOW,
    });

    // Assess
    expect(findings[0]?.summary).toBe('web: web tier still reaches retired app address 10.0.0.1, which still answers (drains): at risk when it goes');
    expect(findings[0]?.advice).toMatch(/^No page yet: .*If this tier caches: Apache httpd .*addressttl/);
    expect(findings[0]?.evidence).toMatchObject({ echoAddress: OLD, echoAddressState: 'answering' });
  });
});

/** Runs one check's findings through the alerts, delivering every transition. */
function step(alerts: Record<string, AlertState>, findings: Finding[], at: Date) {
  const { alerts: next, transitions } = evaluateAlerts(alerts, findings, at, policy);
  let delivered = next;
  for (const t of transitions) delivered = markDelivered(delivered, t, at);
  return { alerts: delivered, said: transitions.map((t) => `${t.type}:${t.severity}:${audienceOf(t)}`) };
}

const minutes = (n: number) => new Date(NOW.getTime() + n * 60_000);

describe('the risk through the alerts', () => {
  const assessAt = (node: Node, tier: Tier, echo: string | undefined, at: Date, alerts: Record<string, AlertState>) => {
    const open = alerts['web/stale-upstream'];
    return assessWebTier({
      target,
      web: webOf(tier, echo),
      recentLatencies: [],
      upstream: upstreamOf(node),
      now: at,
      ...(open && open.severity !== 'info' ? { openIncident: { since: open.openedAt } } : {}),
    }).findings;
  };

  it('a pooled tier: at risk while the node drains, then on current addresses: two events, no page, no reminder', () => {
    // Prepare
    let alerts: Record<string, AlertState> = {};
    const said: string[][] = [];

    // Act: the node drains for 90 minutes (past renotifyMinutes), then the pool moves to a current node.
    for (const m of [0, 30, 61, 90]) {
      const r = step(alerts, assessAt('answering', 'ok', OLD, minutes(m), alerts), minutes(m));
      alerts = r.alerts;
      said.push(r.said);
    }
    for (const m of [91, 92]) {
      const r = step(alerts, assessAt('silent', 'ok', NEW, minutes(m), alerts), minutes(m));
      alerts = r.alerts;
      said.push(r.said);
    }

    // Assess
    expect(said).toEqual([['opened:info:events'], [], [], [], [], ['resolved:info:events']]);
    expect(alerts).toEqual({});
  });

  it('a caching tier: at risk while the node drains, then the node goes and it still reaches it: one "opened" page at once, resolved only after recovery', () => {
    // Prepare
    let alerts: Record<string, AlertState> = {};
    const said: string[][] = [];
    const run = (node: Node, tier: Tier, echo: string | undefined, m: number) => {
      const r = step(alerts, assessAt(node, tier, echo, minutes(m), alerts), minutes(m));
      alerts = r.alerts;
      said.push(r.said);
    };

    // Act
    run('answering', 'ok', OLD, 0);
    run('answering', 'ok', OLD, 1);
    run('silent', 'failing', undefined, 2); // the node went: users fail
    run('silent', 'failing', undefined, 3);
    run('silent', 'ok', OLD, 4); // still reaching it (a refusing node the echo got through before): still the incident
    run('silent', 'ok', NEW, 5); // restarted: on current addresses
    run('silent', 'ok', NEW, 6);

    // Assess
    expect(said).toEqual([['opened:info:events'], [], ['opened:critical:on-call'], [], [], [], ['resolved:critical:on-call']]);
  });

  it('a page that could not be delivered before the condition cleared is still sent before its "resolved"', () => {
    // Prepare: the risk was told to the events topic; the critical "opened" failed to go out.
    let { alerts } = step({}, assessAt('answering', 'ok', OLD, minutes(0), {}), minutes(0));
    alerts = evaluateAlerts(alerts, assessAt('silent', 'failing', undefined, minutes(1), alerts), minutes(1), policy).alerts;

    // Act: two clean checks.
    const first = step(alerts, [], minutes(2));
    const second = step(first.alerts, [], minutes(3));

    // Assess
    expect([first.said, second.said]).toEqual([[], ['opened:critical:on-call', 'resolved:critical:on-call']]);
  });
});

/** A flow-log client of the retired node, as the flow logs name it. */
const FLOW_CLIENT: StaleClient = {
  client: 'i-0123456789abcdef0',
  clientKind: 'instance',
  sourceAddress: '10.0.9.9',
  address: OLD,
  port: 80,
  packets: 12,
  records: 2,
  first: NOW.getTime() - 60_000,
  last: NOW.getTime(),
  actions: ['ACCEPT'],
};

describe('flow-log clients nobody configured', () => {
  const client = FLOW_CLIENT;

  it.each([
    ['answering', 'stale-address-at-risk', 'info'],
    ['silent', 'stale-client-seen', 'critical'],
    ['released', 'stale-client-seen', 'critical'],
    ['reassigned', 'stale-client-seen', 'critical'],
  ] as const)('a client of a retired node that is %s: %s (%s), one key per client', (node, kind, severity) => {
    // Prepare
    const { records, probes } = upstreamOf(node);

    // Act
    const [f] = unconfiguredClientFindings('app', { queriedAt: NOW.toISOString(), clients: [client] }, new Set(), { records, probes });

    // Assess
    expect([f?.kind, f?.severity, f?.key]).toEqual([kind, severity, 'app/stale-client-seen/10.0.9.9']);
  });
});

describe('a flow-log client of a node that went: only records after it went are the incident', () => {
  it('records only from before the node went: it rode the draining node (at risk), not the incident', () => {
    // Prepare: the node went silent; the client's last record is from the minute before.
    const { records, probes } = upstreamOf('silent');
    const rode: StaleClient = { ...FLOW_CLIENT, last: Date.parse(records[0]!.goneSince!) - 1_000 };
    // Act
    const [before] = unconfiguredClientFindings('app', { queriedAt: NOW.toISOString(), clients: [rode] }, new Set(), { records, probes });
    const [after] = unconfiguredClientFindings('app', { queriedAt: NOW.toISOString(), clients: [FLOW_CLIENT] }, new Set(), { records, probes });
    // Assess
    expect([before?.kind, before?.severity]).toEqual(['stale-address-at-risk', 'info']);
    expect(before?.summary).toContain('which stopped answering, with no record of it since: it rode the node while it drained');
    expect([after?.kind, after?.severity]).toEqual(['stale-client-seen', 'critical']);
  });

  it('what a pool still sends after its node went is no incident: without tcp-flags, records within the horizon; with them, no connection opened since', () => {
    // Prepare
    const { records, probes } = upstreamOf('silent');
    const went = Date.parse(records[0]!.goneSince!);
    const keepAlive: StaleClient = { ...FLOW_CLIENT, last: went + 60_000 };
    const rodeThenReset: StaleClient = { ...FLOW_CLIENT, last: went + 600_000, opened: 1, lastOpened: went - 300_000 };
    const reopened: StaleClient = { ...FLOW_CLIENT, last: went + 30_000, opened: 2, lastOpened: went + 30_000 };
    // Act
    const kinds = [keepAlive, rodeThenReset, reopened].map(
      (c) => unconfiguredClientFindings('app', { queriedAt: NOW.toISOString(), clients: [c] }, new Set(), { records, probes })[0]?.kind,
    );
    // Assess
    expect(kinds).toEqual(['stale-address-at-risk', 'stale-address-at-risk', 'stale-client-seen']);
  });
});

describe('resolver proof on flow-log clients: a client of a draining node that will not move is the incident at once', () => {
  const client: StaleClient = { ...FLOW_CLIENT, client: '10.0.9.9', clientKind: 'address' };
  const flow = { queriedAt: NOW.toISOString(), clients: [client] };

  it('an unconfigured client with proof: stale-client-seen (critical), the proof in its evidence; without: at risk', () => {
    // Prepare
    const { records, probes } = upstreamOf('answering');
    // Act
    const [proven] = unconfiguredClientFindings('app', flow, new Set(), { records, probes }, () => proof);
    const [risk] = unconfiguredClientFindings('app', flow, new Set(), { records, probes }, () => undefined);
    // Assess
    expect([proven?.kind, proven?.severity, proven?.key, proven?.evidence.proof]).toEqual([
      'stale-client-seen',
      'critical',
      'app/stale-client-seen/10.0.9.9',
      proof,
    ]);
    expect(proven?.summary).toContain(`which still answers (drains); ${proof.detail}`);
    expect([risk?.kind, risk?.severity]).toEqual(['stale-address-at-risk', 'info']);
  });

  it('a web tier seen only in the flow logs, with proof: stale-client-seen on its condition key', () => {
    // Prepare
    const upstream = upstreamOf('answering');
    const target = { name: 'web', url: 'http://web/', upstream: 'app', timeoutMs: 2000 } as Parameters<typeof assessWebTier>[0]['target'];
    // Act
    const { findings } = assessWebTier({ target, web: webOf('ok', undefined), recentLatencies: [], upstream, now: NOW, flowClients: [client], proof });
    // Assess
    expect(findings.map((f) => [f.key, f.kind, f.severity])).toEqual([['web/stale-upstream', 'stale-client-seen', 'critical']]);
    expect(findings[0]!.summary).toContain(proof.detail);
  });
});
