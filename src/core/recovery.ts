/**
 * What a RESOLVED notice says: what recovered, since when, and how long the incident lasted,
 * never the last failure as its headline (at 3 a.m. that reads as a new failure; README,
 * "Incidents"). The last failure rides along as `was`.
 */
import { kindColumn } from './finding-catalogue.ts';
import type { AlertState, FindingKind } from './types.ts';
import { MINUTES_PER_HOUR, MS_PER_SECOND, SECONDS_PER_MINUTE } from './time-units.ts';

/** The healthy state each kind's resolution stands for, as a clause. */
const RECOVERED: Record<FindingKind, string> = kindColumn('recovered');

/** "45 s", "4 min 10 s", "2 h 5 min": a span for a person, to the second under an hour. */
export function spanText(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / MS_PER_SECOND));
  if (seconds < SECONDS_PER_MINUTE) return `${seconds} s`;
  const minutes = Math.floor(seconds / SECONDS_PER_MINUTE);
  if (minutes < MINUTES_PER_HOUR) return `${minutes} min${seconds % SECONDS_PER_MINUTE ? ` ${seconds % SECONDS_PER_MINUTE} s` : ''}`;
  return `${Math.floor(minutes / MINUTES_PER_HOUR)} h ${minutes % MINUTES_PER_HOUR} min`;
}

/** `12:15:29 UTC` of an ISO time (the date is in the notice's own fields). */
const clockTime = (iso: string) => `${iso.slice(11, 19)} UTC`;

/**
 * `web: recovered: the web tier answers, on healthy upstream addresses (2 clean checks after
 * 12:15:29 UTC); the incident lasted 1 min 30 s`. Lasted: from its opening to its last evidence.
 */
export function recoverySummary(alert: AlertState): string {
  const lasted = Date.parse(alert.lastSeenAt) - Date.parse(alert.openedAt);
  const checks = `${alert.absentChecks} clean check${alert.absentChecks === 1 ? '' : 's'} after ${clockTime(alert.lastSeenAt)}`;
  return `${alert.target}: recovered: ${RECOVERED[alert.kind]} (${checks}); the incident lasted ${Number.isFinite(lasted) ? spanText(lasted) : 'an unknown time'}`;
}
