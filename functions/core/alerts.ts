/**
 * Alert state machine over finding keys (pure). A warning or critical finding opens an alert
 * (notify), reminds every `renotifyMinutes` while it stays, and resolves once it has been absent
 * for `resolveAfterChecks` checks. Events (address-set-changed, writer-changed) are notified once.
 * Nothing counts as notified until the notifier accepted it (markDelivered): a failed delivery is
 * re-sent on the next check, so no alert is lost.
 */
import type { AlertState, AlertTransition, Finding } from './types.ts';
import { EVENT_KINDS } from './types.ts';

/** Per-target alert options (config defaults apply). */
export interface AlertPolicy {
  renotifyMinutes: number;
  resolveAfterChecks: number;
}

const MS_PER_MINUTE = 60_000;

/** Findings that take part in alerting: warnings, criticals and one-off events. */
export const isAlertable = (f: Finding) => f.severity !== 'info' || EVENT_KINDS.has(f.kind);

function transition(type: AlertTransition['type'], alert: AlertState, at: string, finding?: Finding): AlertTransition {
  return {
    type,
    key: alert.key,
    target: alert.target,
    kind: alert.kind,
    severity: alert.severity,
    at,
    summary: finding?.summary ?? alert.summary,
    openedAt: alert.openedAt,
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
  const present = new Map(findings.filter(isAlertable).map((f) => [f.key, f]));

  // Events not yet delivered, by key; at most one per finding key, so an outage of the notifier
  // cannot grow the state without bound (a newer event absorbs the older ones).
  const pendingEvents = new Map<string, AlertState>();
  for (const [key, prev] of Object.entries(previous)) {
    if (prev.event) {
      pendingEvents.set(key, prev);
      continue;
    }
    const f = present.get(key);
    if (f && !EVENT_KINDS.has(f.kind)) {
      present.delete(key);
      const alert: AlertState = { ...prev, severity: f.severity, lastSeenAt: at, absentChecks: 0, summary: f.summary, finding: f };
      delete alert.resolving;
      alerts[key] = alert;
      if (alert.lastNotifiedAt === undefined) transitions.push(transition('opened', alert, at, f));
      else if (now.getTime() - Date.parse(alert.lastNotifiedAt) >= policy.renotifyMinutes * MS_PER_MINUTE) transitions.push(transition('reminder', alert, at, f));
      continue;
    }
    const absent = prev.absentChecks + 1;
    const alert: AlertState = { ...prev, absentChecks: absent };
    alerts[key] = alert;
    if (absent < policy.resolveAfterChecks && !prev.resolving) continue;
    alert.resolving = true;
    // Never send "resolved" for an alert whose "opened" never went out: send both, in order.
    if (alert.lastNotifiedAt === undefined) transitions.push(transition('opened', alert, at, alert.finding));
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
      ...(isEvent ? { event: true } : {}),
    };
    if (isEvent) {
      pendingEvents.set(key, alert);
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
 * Records that the notifier accepted `t`: opened/reminder set lastNotifiedAt, resolved and event
 * notices remove the alert. Returns a new map.
 */
export function markDelivered(alerts: Readonly<Record<string, AlertState>>, t: AlertTransition, at: Date): Record<string, AlertState> {
  const prev = alerts[t.key];
  if (!prev) return { ...alerts };
  const next = { ...alerts };
  if (t.type === 'resolved' || t.type === 'event') {
    delete next[t.key];
  } else {
    next[t.key] = { ...prev, lastNotifiedAt: at.toISOString(), notifications: prev.notifications + 1 };
  }
  return next;
}
