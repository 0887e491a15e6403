/**
 * The one migration of persisted state, at load (core/state.ts checkTargetState; the engine's
 * re-read after a save conflict): whatever an older version saved becomes today's TargetState,
 * so no other code reads an old shape.
 *
 * - Version 1 implied an alert's status by optional fields (`pending`, `resolving`, `event`);
 *   version 2 says it (`status`, and `seenChecks` while pending).
 * - Alerts saved under an older key scheme (one key per kind; a flow client by its interface)
 *   move to their condition's key, so an upgrade neither resolves the old alert nor opens a second.
 */
import { STATE_SCHEMA_VERSION } from './constants.ts';
import { higher, notifiedOf, unionOf } from './alerts.ts';
import { CLIENT_KEY_PART, FINDING_KINDS, RISK_KINDS, conditionKey } from './types.ts';
import type { AlertState, TargetState } from './types.ts';

/** An alert as version 1 saved it: no `status`, the status in optional fields. */
export type StoredAlert = Omit<AlertState, 'status' | 'seenChecks'> &
  Partial<Pick<AlertState, 'status' | 'seenChecks'>> & { pending?: number; resolving?: boolean; event?: boolean };

/** A target state as any readable version saved it. */
export type StoredState = Omit<TargetState, 'schemaVersion' | 'alerts'> & { schemaVersion: number; alerts: Record<string, StoredAlert> };

/** One alert in today's shape. */
export function upgradeAlert(stored: StoredAlert): AlertState {
  const { pending, resolving, event, ...rest } = stored;
  if (rest.status !== undefined) return rest as AlertState;
  if (event) return { ...rest, status: 'event' };
  if (pending !== undefined) return { ...rest, status: 'pending', seenChecks: pending };
  return { ...rest, status: resolving ? 'resolving' : 'open' };
}

/** Today's TargetState from any readable version (a state of today's version passes through unchanged but for old keys). */
export function upgradeState(stored: StoredState): TargetState {
  const alerts = rekeyAlerts(Object.fromEntries(Object.entries(stored.alerts).map(([key, a]) => [key, upgradeAlert(a)])));
  return { ...stored, schemaVersion: STATE_SCHEMA_VERSION, alerts };
}

/** A flow client's alert key by its source address, when it was saved under another name of the client. */
function flowClientKey(key: string, alert: AlertState): string | undefined {
  const at = key.indexOf(CLIENT_KEY_PART);
  const source = alert.finding?.evidence.sourceAddress;
  if (at < 0 || typeof source !== 'string') return undefined;
  return `${key.slice(0, at)}${CLIENT_KEY_PART}${source}`;
}

/**
 * Alerts saved under an older key scheme (one key per kind) moved to their condition's key, so
 * an upgrade neither resolves the old alert nor opens a second one. Two old alerts of one
 * condition merge into the earlier one, notified if either was.
 */
export function rekeyAlerts(previous: Readonly<Record<string, AlertState>>): Record<string, AlertState> {
  const out: Record<string, AlertState> = {};
  for (const [key, alert] of Object.entries(previous)) {
    const event = alert.status === 'event';
    // A kind that became information (retired-address-dead) no longer pages: an alert of it that
    // was never announced is dropped; an announced one resolves as usual (on-call heard "opened").
    if (!event && FINDING_KINDS[alert.kind] === 'info' && !RISK_KINDS.has(alert.kind) && alert.lastNotifiedAt === undefined) continue;
    // Only the old per-kind keys (`<target>/<kind>`) move to their condition's; a key of its own
    // (a flow client's `<elb>/stale-client-seen/<client>`) stays, but for the client's name: it
    // was its instance or interface before one connection seen at both ends was one client, and is
    // its source address since (README, the migration note).
    const want = flowClientKey(key, alert) ?? (event || key !== `${alert.target}/${alert.kind}` ? key : conditionKey(alert.target, alert.kind));
    const other = out[want];
    if (!other) {
      out[want] = want === key ? alert : { ...alert, key: want };
      continue;
    }
    const [first, second] = Date.parse(other.openedAt) <= Date.parse(alert.openedAt) ? [other, { ...alert, key: want }] : [{ ...alert, key: want }, other];
    const merged =
      first.lastNotifiedAt === undefined && second.lastNotifiedAt !== undefined
        ? { ...first, lastNotifiedAt: second.lastNotifiedAt, notifications: second.notifications }
        : { ...first };
    // On-call heard of both: the merged alert counts as having told everything either told.
    const told = [first, second].filter((a) => a.lastNotifiedAt !== undefined).map((a) => notifiedOf(a));
    if (told.length > 0) {
      merged.notifiedSignals = unionOf(...told.map((t) => t.signals));
      merged.notifiedSeverity = told.map((t) => t.severity).reduce(higher);
    }
    out[want] = merged;
  }
  return out;
}
