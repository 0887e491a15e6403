/**
 * Alert state machine over condition keys (pure). A warning or critical finding opens an alert
 * (notify), escalates it in place ("updated") when its evidence gets worse, reminds every
 * `renotifyMinutes` while it stays, and resolves once every kind of evidence of the condition
 * has been absent for `resolveAfterChecks` checks. Events (address-set-changed, writer-changed)
 * are notified once. A risk (RISK_KINDS, info) is tracked like an alert but told to the events
 * topic only, without reminders; when its condition turns paging, on-call hears "opened", never an
 * "updated" of something it was not told. Nothing counts as notified until the notifier accepted
 * it (markDelivered): a failed delivery is re-sent on the next check, so no alert is lost.
 */
import type { AlertState, AlertTransition, EvidenceSignal, Finding, FindingKind, Severity } from './types.ts';
import { recoverySummary } from './recovery.ts';
import { EVENT_KINDS, PAGING_SEVERITIES, RISK_KINDS, SEVERITIES } from './types.ts';
import { MS_PER_MINUTE } from './time-units.ts';

/** Per-target alert options (config defaults apply). */
export interface AlertPolicy {
  renotifyMinutes: number;
  resolveAfterChecks: number;
  /** Checks in a row a warning must be seen before it opens (criticals open at once); default 1 here, 2 from the config. */
  openAfterChecks?: number;
}

/** True when a finding of this severity waits `openAfterChecks` checks before it pages. */
const waits = (severity: Severity, policy: AlertPolicy) => severity === 'warning' && (policy.openAfterChecks ?? 1) > 1;

const rank = (s: Severity) => SEVERITIES.indexOf(s);
/** The higher of two severities. */
export const higher = (a: Severity, b: Severity): Severity => (rank(a) >= rank(b) ? a : b);

/** What an alert saved before signals existed had told on-call, by its kind. */
const LEGACY_SIGNALS: Partial<Record<FindingKind, EvidenceSignal[]>> = {
  'stale-address-confirmed': ['echo'],
  'stale-address-suspected': ['failing', 'slow'],
};

/** What on-call has been told of an alert: the severity and evidence signals of its delivered notices. */
export function notifiedOf(prev: AlertState): { severity: Severity; signals: EvidenceSignal[] } {
  return { severity: prev.notifiedSeverity ?? prev.severity, signals: prev.notifiedSignals ?? LEGACY_SIGNALS[prev.kind] ?? [] };
}

/** The signals of every list, once each, sorted. */
export const unionOf = (...lists: (readonly EvidenceSignal[] | undefined)[]): EvidenceSignal[] => [...new Set(lists.flatMap((l) => l ?? []))].sort();

/**
 * True when the alert (its worst severity, every signal it has shown) holds more than on-call
 * was told: an "updated" is due, and stays due until one is delivered, whatever this check shows.
 */
function isWorse(alert: AlertState): boolean {
  const told = notifiedOf(alert);
  return rank(alert.severity) > rank(told.severity) || (alert.signals ?? []).some((s) => !told.signals.includes(s));
}

/** Findings that take part in alerting: warnings, criticals and one-off events. */
export const isAlertable = (f: Finding) => f.severity !== 'info' || EVENT_KINDS.has(f.kind) || RISK_KINDS.has(f.kind);

/** True when an alert's transitions reach on-call: warning or critical (the rest go to the events topic). */
export const pages = (s: Severity) => (PAGING_SEVERITIES as readonly Severity[]).includes(s);

/** A risk that turned into the incident: the alert pages now, and on-call has been told nothing yet. */
const firstPageDue = (alert: AlertState, prev: AlertState) => pages(alert.severity) && !pages(notifiedOf(prev).severity);

function transition(type: AlertTransition['type'], alert: AlertState, at: string, finding?: Finding): AlertTransition {
  return {
    type,
    key: alert.key,
    target: alert.target,
    kind: alert.kind,
    severity: alert.severity,
    at,
    summary: type === 'resolved' ? recoverySummary(alert) : (finding?.summary ?? alert.summary),
    ...(type === 'resolved' ? { was: alert.summary } : {}),
    openedAt: alert.openedAt,
    sequence: alert.notifications,
    ...(finding ? { finding } : {}),
  };
}

/**
 * Advances one target's alerts by one check. `findings` are the target's findings of this
 * check; call only when the target's check completed (an unfinished check proves nothing gone).
 */
export function evaluateAlerts(
  previous: Readonly<Record<string, AlertState>>,
  findings: readonly Finding[],
  now: Date,
  policy: AlertPolicy,
): { alerts: Record<string, AlertState>; transitions: AlertTransition[] } {
  const at = now.toISOString();
  const alerts: Record<string, AlertState> = {};
  const transitions: AlertTransition[] = [];
  const present = new Map<string, Finding>();
  for (const f of findings.filter(isAlertable)) {
    // Two findings of one condition in one check (never made by assess; cheap to guard): the worse one speaks.
    const seen = present.get(f.key);
    if (!seen || rank(f.severity) > rank(seen.severity)) present.set(f.key, f);
  }

  // Events not yet delivered, by key; at most one per finding key, so an outage of the notifier
  // cannot grow the state without bound (a newer event absorbs the older ones).
  const pendingEvents = new Map<string, AlertState>();
  for (const [key, prev] of Object.entries(previous)) {
    if (prev.status === 'event') {
      pendingEvents.set(key, prev);
      continue;
    }
    const seen = present.get(key);
    // A risk does not keep an incident open: users no longer fail (README, "What pages, and when").
    // The incident resolves as if its evidence were gone; the risk is told on its own once it has.
    const heldRisk = seen !== undefined && RISK_KINDS.has(seen.kind) && pages(prev.severity);
    if (heldRisk) present.delete(key);
    const f = heldRisk ? undefined : seen;
    if (f && !EVENT_KINDS.has(f.kind)) {
      present.delete(key);
      // The incident keeps the worst severity and every signal it showed; its kind follows the latest evidence.
      const signals = unionOf(prev.signals ?? notifiedOf(prev).signals, f.signals);
      const alert: AlertState = {
        ...prev,
        kind: f.kind,
        severity: higher(prev.severity, f.severity),
        lastSeenAt: at,
        absentChecks: 0,
        summary: f.summary,
        finding: f,
        ...(signals.length ? { signals } : {}),
        status: 'open',
      };
      delete alert.seenChecks;
      alerts[key] = alert;
      if (prev.status === 'pending') {
        const seen = (prev.seenChecks ?? 1) + 1;
        if (waits(alert.severity, policy) && seen < (policy.openAfterChecks ?? 1)) {
          alert.status = 'pending';
          alert.seenChecks = seen;
          continue;
        }
        // Due now: never announced, so the line below opens it.
      }
      // Never told, or told only as a risk (events topic): on-call hears "opened".
      if (alert.lastNotifiedAt === undefined || firstPageDue(alert, prev)) transitions.push(transition('opened', alert, at, f));
      else if (isWorse(alert)) transitions.push(transition('updated', alert, at, f));
      else if (pages(alert.severity) && now.getTime() - Date.parse(alert.lastNotifiedAt) >= policy.renotifyMinutes * MS_PER_MINUTE)
        transitions.push(transition('reminder', alert, at, f));
      continue;
    }
    // Gone before it was due: never announced, so nothing to resolve either.
    if (prev.status === 'pending') continue;
    const absent = prev.absentChecks + 1;
    const alert: AlertState = { ...prev, absentChecks: absent };
    alerts[key] = alert;
    if (absent < policy.resolveAfterChecks && prev.status !== 'resolving') continue;
    alert.status = 'resolving';
    // Never send "resolved" for an alert whose "opened" never went out: send both, in order.
    if (alert.lastNotifiedAt === undefined || firstPageDue(alert, prev)) transitions.push(transition('opened', alert, at, alert.finding));
    transitions.push(transition('resolved', alert, at));
  }

  for (const f of present.values()) {
    const isEvent = EVENT_KINDS.has(f.kind);
    const key = isEvent ? `${f.key}@event` : f.key;
    const earlier = isEvent ? pendingEvents.get(key) : undefined;
    if (earlier) {
      const merged = (earlier.mergedEvents ?? 0) + 1;
      const summary = `${f.summary} (+${merged} earlier undelivered)`;
      pendingEvents.set(key, { ...earlier, lastSeenAt: at, summary, mergedEvents: merged, finding: { ...f, summary } });
      continue;
    }
    const alert: AlertState = {
      status: isEvent ? 'event' : 'open',
      key,
      target: f.target,
      kind: f.kind,
      severity: f.severity,
      openedAt: at,
      lastSeenAt: at,
      notifications: 0,
      absentChecks: 0,
      summary: f.summary,
      finding: f,
    };
    if (isEvent) {
      pendingEvents.set(key, alert);
      continue;
    }
    if (waits(f.severity, policy)) {
      alerts[key] = { ...alert, status: 'pending', seenChecks: 1 };
      continue;
    }
    alerts[key] = alert;
    transitions.push(transition('opened', alert, at, f));
  }
  for (const [key, event] of pendingEvents) {
    alerts[key] = event;
    transitions.push(transition('event', event, at, event.finding));
  }
  return { alerts, transitions };
}

/**
 * Records that the notifier accepted `t`: opened/updated/reminder set lastNotifiedAt and what
 * on-call now knows (signals, severity); resolved and event notices remove the alert. Returns a
 * new map.
 */
export function markDelivered(alerts: Readonly<Record<string, AlertState>>, t: AlertTransition, at: Date): Record<string, AlertState> {
  const prev = alerts[t.key];
  if (!prev) return { ...alerts };
  const next = { ...alerts };
  if (t.type === 'resolved' || t.type === 'event') {
    delete next[t.key];
  } else {
    next[t.key] = {
      ...prev,
      lastNotifiedAt: at.toISOString(),
      notifications: prev.notifications + 1,
      // The notice announced the alert as it stands: everything it has shown so far.
      notifiedSignals: unionOf(prev.notifiedSignals, prev.signals, t.finding?.signals),
      notifiedSeverity: higher(prev.severity, t.severity),
    };
  }
  return next;
}
