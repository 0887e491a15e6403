import { describe, expect, it } from 'vitest';
import { evaluateAlerts, markDelivered } from '../../src/core/alerts.ts';
import { finding } from '../../src/core/assess.ts';
import type { AlertState, AlertTransition, Finding } from '../../src/core/types.ts';
import { upgradeState } from '../../src/core/state-migration.ts';
import type { StoredAlert } from '../../src/core/state-migration.ts';

/** Alerts an earlier version saved, as the engine reads them: through the one migration at load. */
const loaded = (alerts: Record<string, StoredAlert>) => upgradeState({ schemaVersion: 1, target: 'web', version: 1, addresses: [], alerts }).alerts;

const POLICY = { renotifyMinutes: 60, resolveAfterChecks: 2 };
const T0 = Date.parse('2026-11-25T00:00:00Z');
const at = (minutes: number) => new Date(T0 + minutes * 60_000);
/** A critical alert an earlier version (state version 1) saved under `key`, opened and paged at minute 0. */
const pagedAt0 = (key: string, kind: AlertState['kind'], summary: string): StoredAlert => ({
  key,
  target: key.slice(0, key.indexOf('/')),
  kind,
  severity: 'critical',
  openedAt: at(0).toISOString(),
  lastSeenAt: at(0).toISOString(),
  lastNotifiedAt: at(0).toISOString(),
  notifications: 1,
  absentChecks: 0,
  summary,
});
const stale = finding('web', 'stale-address-confirmed', 'web reached 10.0.0.1', { echoAddress: '10.0.0.1' });
const changed = finding('app', 'address-set-changed', 'app: +10.0.0.2; -10.0.0.1', {});
const answering = finding('app', 'retired-address-answering', 'app: 10.0.0.1 still answers', {});

/** Runs one check's alert step and delivers every transition unless `deliver` says no. */
function step(alerts: Record<string, AlertState>, findings: Finding[], minute: number, deliver = true) {
  const { alerts: next, transitions } = evaluateAlerts(alerts, findings, at(minute), POLICY);
  let out = next;
  if (deliver) for (const t of transitions) out = markDelivered(out, t, at(minute));
  return { alerts: out, types: transitions.map((t: AlertTransition) => `${t.type}:${t.kind}`) };
}

describe('alerts', () => {
  it('opens, reminds every renotifyMinutes, resolves after resolveAfterChecks absent checks', () => {
    // Prepare / Act
    const s1 = step({}, [stale], 0);
    const s2 = step(s1.alerts, [stale], 30);
    const s3 = step(s2.alerts, [stale], 60);
    const s4 = step(s3.alerts, [], 61);
    const s5 = step(s4.alerts, [], 62);
    // Assess
    expect(s1.types).toEqual(['opened:stale-address-confirmed']);
    expect(s2.types).toEqual([]);
    expect(s3.types).toEqual(['reminder:stale-address-confirmed']);
    expect(s4.types).toEqual([]);
    expect(s5.types).toEqual(['resolved:stale-address-confirmed']);
    expect(s5.alerts).toEqual({});
  });

  it('does not alert on info conditions, but notifies events once', () => {
    const s1 = step({}, [answering, changed], 0);
    const s2 = step(s1.alerts, [answering], 1);
    expect(s1.types).toEqual(['event:address-set-changed']);
    expect(s2.types).toEqual([]);
    expect(s2.alerts).toEqual({});
  });

  it('re-sends an undelivered "opened" on the next check (no lost alert)', () => {
    const s1 = step({}, [stale], 0, false);
    const s2 = step(s1.alerts, [stale], 1);
    const s3 = step(s2.alerts, [stale], 2);
    expect(s1.types).toEqual(['opened:stale-address-confirmed']);
    expect(s2.types).toEqual(['opened:stale-address-confirmed']);
    expect(s3.types).toEqual([]);
  });

  it('re-sends an undelivered event', () => {
    const s1 = step({}, [changed], 0, false);
    const s2 = step(s1.alerts, [], 1);
    expect(s2.types).toEqual(['event:address-set-changed']);
    expect(s2.alerts).toEqual({});
  });

  it('folds events that pile up while the notifier is down into one per kind (bounded state)', () => {
    // Prepare / Act: 50 address changes, none delivered.
    let alerts: Record<string, AlertState> = {};
    for (let i = 0; i < 50; i++) alerts = step(alerts, [{ ...changed, summary: `change ${i}` }], i, false).alerts;
    const recovered = evaluateAlerts(alerts, [], at(51), POLICY);
    // Assess
    expect(Object.keys(alerts)).toHaveLength(1);
    expect(recovered.transitions.map((t) => t.summary)).toEqual(['change 49 (+49 earlier undelivered)']);
  });

  it('sends "opened" before "resolved" when the opening was never delivered', () => {
    const s1 = step({}, [stale], 0, false);
    const s2 = step(s1.alerts, [], 1, false);
    const s3 = step(s2.alerts, [], 2);
    expect(s3.types).toEqual(['opened:stale-address-confirmed', 'resolved:stale-address-confirmed']);
    expect(s3.alerts).toEqual({});
  });

  it('keeps retrying "resolved" until delivered, and reopens silently if the finding returns first', () => {
    const s1 = step({}, [stale], 0);
    const s2 = step(s1.alerts, [], 1);
    const s3 = step(s2.alerts, [], 2, false);
    const s4 = step(s3.alerts, [], 3, false);
    const s5 = step(s4.alerts, [stale], 4);
    expect(s3.types).toEqual(['resolved:stale-address-confirmed']);
    expect(s4.types).toEqual(['resolved:stale-address-confirmed']);
    expect(s5.types).toEqual([]);
    expect(s5.alerts[stale.key]?.status).toBe('open');
  });

  it('a finding that flaps back within resolveAfterChecks does not resolve', () => {
    const s1 = step({}, [stale], 0);
    const s2 = step(s1.alerts, [], 1);
    const s3 = step(s2.alerts, [stale], 2);
    const s4 = step(s3.alerts, [], 3);
    expect([s2.types, s3.types, s4.types]).toEqual([[], [], []]);
  });
});

describe('one incident per condition', () => {
  const suspected = (signals: Finding['signals']) => finding('web', 'stale-address-suspected', 'web fails (HTTP 504)', {}, 'restart', signals);
  const confirmed = (signals: Finding['signals']) =>
    finding('web', 'stale-address-confirmed', 'web reached 10.0.0.1', { echoAddress: '10.0.0.1' }, 'restart', signals);

  it('confirmed then suspected is one alert: one "opened", one "updated" when users start failing, one "resolved" after clean checks', () => {
    // Prepare / Act: the tier reaches a draining node (echo), then the node is released (504s), then recovers.
    const s1 = step({}, [confirmed(['echo'])], 0);
    const s2 = step(s1.alerts, [confirmed(['echo'])], 1);
    const s3 = step(s2.alerts, [suspected(['failing'])], 2);
    const s4 = step(s3.alerts, [suspected(['failing'])], 3);
    const s5 = step(s4.alerts, [confirmed(['echo'])], 4);
    const s6 = step(s5.alerts, [], 5);
    const s7 = step(s6.alerts, [], 6);
    // Assess
    expect([s1, s2, s3, s4, s5, s6, s7].map((s) => s.types)).toEqual([
      ['opened:stale-address-confirmed'],
      [],
      ['updated:stale-address-suspected'],
      [],
      [],
      [],
      ['resolved:stale-address-confirmed'],
    ]);
    expect(Object.keys(s4.alerts)).toEqual(['web/stale-upstream']);
  });

  it('re-sends an undelivered "updated" and never repeats a delivered one', () => {
    const s1 = step({}, [suspected(['slow'])], 0);
    const s2 = step(s1.alerts, [suspected(['failing'])], 1, false);
    const s3 = step(s2.alerts, [suspected(['failing'])], 2);
    const s4 = step(s3.alerts, [suspected(['slow'])], 3);
    const s5 = step(s4.alerts, [suspected(['failing'])], 4);
    expect([s1, s2, s3, s4, s5].map((s) => s.types)).toEqual([
      ['opened:stale-address-suspected'],
      ['updated:stale-address-suspected'],
      ['updated:stale-address-suspected'],
      [],
      [],
    ]);
  });

  it('a rising severity is an "updated" notice; the alert keeps the worst severity it reached', () => {
    const warn = finding('app', 'retired-address-reassigned', 'app: 10.0.0.1 answers as another service', {});
    const crit: Finding = { ...warn, severity: 'critical', signals: ['client'] };
    const s1 = step({}, [warn], 0);
    const s2 = step(s1.alerts, [crit], 1);
    const s3 = step(s2.alerts, [warn], 2);
    expect([s1.types, s2.types, s3.types]).toEqual([['opened:retired-address-reassigned'], ['updated:retired-address-reassigned'], []]);
    expect(s3.alerts['app/retired-address-reassigned']?.severity).toBe('critical');
  });

  it('alerts saved under the old per-kind keys join their condition: no second page, no false "resolved"', () => {
    // Prepare: an older version opened (and notified) two alerts for the one stale tier.
    const old = (kind: 'stale-address-confirmed' | 'stale-address-suspected', minute: number): StoredAlert => ({
      key: `web/${kind}`,
      target: 'web',
      kind,
      severity: 'critical',
      openedAt: at(minute).toISOString(),
      lastSeenAt: at(minute).toISOString(),
      lastNotifiedAt: at(minute).toISOString(),
      notifications: 1,
      absentChecks: 0,
      summary: kind,
    });
    // Act
    const s1 = step(
      loaded({ 'web/stale-address-confirmed': old('stale-address-confirmed', 0), 'web/stale-address-suspected': old('stale-address-suspected', 1) }),
      [suspected(['failing'])],
      2,
    );
    // Assess
    expect(s1.types).toEqual([]);
    expect(Object.keys(s1.alerts)).toEqual(['web/stale-upstream']);
    expect(s1.alerts['web/stale-upstream']?.openedAt).toBe(at(0).toISOString());
  });

  it('a flow client saved under its interface id moves to its source address: the same incident, no second page, no "resolved"', () => {
    // Prepare: an older version keyed the client by its interface; it paged.
    const seen = finding('app', 'stale-client-seen', 'app: eni-0abc (10.0.5.7) still sends to retired 10.0.1.5', {
      sourceAddress: '10.0.5.7',
      client: 'eni-0abc',
    });
    const old: StoredAlert = {
      ...pagedAt0('app/stale-client-seen/eni-0abc', 'stale-client-seen', seen.summary),
      finding: { ...seen, key: 'app/stale-client-seen/eni-0abc' },
    };
    // Act: this version names it by its address.
    const s1 = step(loaded({ [old.key]: old }), [{ ...seen, key: 'app/stale-client-seen/10.0.5.7' }], 1);
    // Assess
    expect(s1.types).toEqual([]);
    expect(Object.keys(s1.alerts)).toEqual(['app/stale-client-seen/10.0.5.7']);
    expect(s1.alerts['app/stale-client-seen/10.0.5.7']?.openedAt).toBe(at(0).toISOString());
  });

  it('a risk does not keep an incident open: it resolves, then the risk is told on its own', () => {
    // Prepare: an incident paged; then only a risk of the same condition remains (the cache census still names the host).
    const risk = finding('web', 'dns-cache-at-risk', 'web: caches the name', {});
    const s1 = step({}, [confirmed(['echo'])], 0);
    // Act
    const s2 = step(s1.alerts, [risk], 1);
    const s3 = step(s2.alerts, [risk], 2);
    const s4 = step(s3.alerts, [risk], 3);
    // Assess: no reminder, no open-ended incident; one resolved, then the risk opens (events topic).
    expect([s2.types, s3.types, s4.types]).toEqual([[], ['resolved:stale-address-confirmed'], ['opened:dns-cache-at-risk']]);
    expect(s4.alerts['web/stale-upstream']?.severity).toBe('info');
  });

  it('an "updated" that failed to deliver is re-sent even when the next check shows weaker evidence', () => {
    // Prepare / Act: opened on failures; the echo proves it but SNS is down; next check only failures again.
    const s1 = step({}, [suspected(['failing'])], 0);
    const s2 = step(s1.alerts, [confirmed(['echo', 'failing'])], 1, false);
    const s3 = step(s2.alerts, [suspected(['failing'])], 2);
    const s4 = step(s3.alerts, [suspected(['failing'])], 3);
    // Assess
    expect([s2.types, s3.types, s4.types]).toEqual([['updated:stale-address-confirmed'], ['updated:stale-address-suspected'], []]);
  });

  it('a severity rise that failed to deliver is re-sent after the evidence fell back', () => {
    const warn = finding('app', 'retired-address-reassigned', 'app: 10.0.0.1 answers as another service', {});
    const crit: Finding = { ...warn, severity: 'critical', signals: ['client'] };
    const s1 = step({}, [warn], 0);
    const s2 = step(s1.alerts, [crit], 1, false);
    const s3 = step(s2.alerts, [warn], 2);
    expect([s2.types, s3.types]).toEqual([['updated:retired-address-reassigned'], ['updated:retired-address-reassigned']]);
  });

  it('upgrade: an old notified "suspected" alert escalates when the echo now proves it', () => {
    const old = pagedAt0('web/stale-address-suspected', 'stale-address-suspected', 'old');
    const s1 = step(loaded({ [old.key]: old }), [confirmed(['echo', 'failing'])], 1);
    expect(s1.types).toEqual(['updated:stale-address-confirmed']);
    expect(Object.keys(s1.alerts)).toEqual(['web/stale-upstream']);
  });

  it('upgrade: an old never-announced alert of a kind that is now information is dropped silently', () => {
    const old: StoredAlert = {
      key: 'app/retired-address-dead',
      target: 'app',
      kind: 'retired-address-dead',
      severity: 'warning',
      openedAt: at(0).toISOString(),
      lastSeenAt: at(0).toISOString(),
      notifications: 0,
      absentChecks: 0,
      summary: 'old',
    };
    const s1 = step(loaded({ [old.key]: old }), [], 1);
    const s2 = step(s1.alerts, [], 2);
    expect([s1.types, s2.types]).toEqual([[], []]);
    expect(s2.alerts).toEqual({});
  });

  it('information never opens an alert: a released node is history, not a page', () => {
    const dead = finding('app', 'retired-address-dead', 'app: retired 10.0.0.1 stopped answering', {});
    const s1 = step({}, [dead, answering], 0);
    expect(dead.severity).toBe('info');
    expect(s1.types).toEqual([]);
    expect(s1.alerts).toEqual({});
  });
});

describe('a warning waits openAfterChecks checks in a row; a critical pages at once', () => {
  const DEBOUNCE = { ...POLICY, openAfterChecks: 3 };
  const unhealthy = finding('app', 'current-address-unhealthy', 'app: 10.0.0.2 timed out', {});
  const run = (checks: Finding[][]) => {
    let alerts: Record<string, AlertState> = {};
    const types: string[][] = [];
    checks.forEach((findings, minute) => {
      const { alerts: next, transitions } = evaluateAlerts(alerts, findings, at(minute), DEBOUNCE);
      alerts = next;
      for (const t of transitions) alerts = markDelivered(alerts, t, at(minute));
      types.push(transitions.map((t) => `${t.type}:${t.kind}`));
    });
    return { alerts, types };
  };

  it('opens on the third consecutive check, dated from the first', () => {
    // Prepare / Act
    const r = run([[unhealthy], [unhealthy], [unhealthy], [unhealthy]]);
    // Assess
    expect(r.types).toEqual([[], [], ['opened:current-address-unhealthy'], []]);
    const alert = r.alerts[unhealthy.key]!;
    expect(alert.openedAt).toBe(at(0).toISOString());
    expect(alert.status).toBe('open');
  });

  it('a blip shorter than openAfterChecks never pages and leaves nothing behind: no "resolved" either', () => {
    // Prepare / Act
    const r = run([[unhealthy], [unhealthy], [], [unhealthy], []]);
    // Assess
    expect(r.types.flat()).toEqual([]);
    expect(r.alerts).toEqual({});
  });

  it('the count restarts after a clean check', () => {
    const r = run([[unhealthy], [unhealthy], [], [unhealthy], [unhealthy], [unhealthy]]);
    expect(r.types.flat()).toEqual(['opened:current-address-unhealthy']);
    expect(r.types[5]).toEqual(['opened:current-address-unhealthy']);
  });

  it('a critical opens on its first check', () => {
    const r = run([[stale]]);
    expect(r.types).toEqual([['opened:stale-address-confirmed']]);
  });

  it('a pending warning whose condition turns critical opens at once, as critical', () => {
    // Prepare: one condition key, a warning that escalates (as a reassigned address does when a tier uses it)
    const warn: Finding = { ...unhealthy, key: stale.key, target: stale.target };
    // Act
    const r = run([[warn], [stale]]);
    // Assess
    expect(r.types).toEqual([[], ['opened:stale-address-confirmed']]);
    expect(r.alerts[stale.key]!.severity).toBe('critical');
  });

  it('without openAfterChecks (or 1) a warning opens on its first check', () => {
    const { transitions } = evaluateAlerts({}, [unhealthy], at(0), POLICY);
    expect(transitions.map((t) => t.type)).toEqual(['opened']);
  });
});
