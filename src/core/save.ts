/**
 * Saving one target's state with optimistic locking, for every writer (a check, the failover
 * watcher): on a version conflict, nothing was written; re-read the state another writer saved
 * and re-apply on it. Pure apart from the Store it is given.
 */
import { STATE_SCHEMA_VERSION } from './constants.ts';
import type { Store } from './ports.ts';
import { VersionConflictError } from './ports.ts';
import { loadStates } from './state.ts';
import type { ChangeRecord, TargetState } from './types.ts';

/** A fresh, never-saved state. */
export function emptyState(target: string): TargetState {
  return { schemaVersion: STATE_SCHEMA_VERSION, target, version: 0, addresses: [], alerts: {} };
}

/** One try at a save: the state to write (its version is set here), on top of `expected`. */
export interface SaveAttempt {
  state: TargetState;
  expected: number;
  changes: readonly ChangeRecord[];
}

/** How hard to try. */
export interface SaveRetry {
  /** Each conflict means another writer landed: N writers at once need up to N attempts. */
  attempts: number;
  /** Random pause before a retry, so writers do not collide in step. */
  jitterMs: number;
  updatedAt: string;
}

/**
 * Saves `first` (or, when it is undefined, what `redo` makes of the stored state) and, after
 * each conflict, what `redo` makes of the fresh state; `redo` returning undefined gives up
 * quietly (false). Throws the store's error, or the last conflict after `attempts`.
 */
export async function saveWithRetry(
  store: Store,
  target: string,
  first: SaveAttempt | undefined,
  redo: (fresh: TargetState) => SaveAttempt | undefined,
  retry: SaveRetry,
): Promise<boolean> {
  const fromStore = async () => redo((await loadStates(store, [target])).get(target) ?? emptyState(target));
  let attempt = first ?? (await fromStore());
  for (let n = 1; ; n++) {
    if (!attempt) return false;
    try {
      await store.save({ ...attempt.state, version: attempt.expected + 1, updatedAt: retry.updatedAt }, attempt.expected, attempt.changes);
      return true;
    } catch (err) {
      if (!(err instanceof VersionConflictError) || n >= retry.attempts) throw err;
      if (retry.jitterMs > 0) await new Promise((r) => setTimeout(r, Math.random() * retry.jitterMs));
      attempt = await fromStore();
    }
  }
}

/**
 * How long a target's state may go unwritten when nothing material changed: its last-seen and
 * last-probe times, recent latencies and alerts' last-seen times are refreshed at least this
 * often, not every check (each write is a DynamoDB transaction, or a lock and a rename).
 */
export const QUIET_WRITE_EVERY_MS = 5 * 60_000;

/** A state without what changes every check but decides nothing (times, latencies, the version). */
function material(s: TargetState): unknown {
  const { version: _v, updatedAt: _u, latencies: _l, ...rest } = s;
  return {
    ...rest,
    addresses: s.addresses.map(({ lastSeen: _s, lastProbe, ...a }) => ({ ...a, ...(lastProbe ? { probeOk: lastProbe.ok, probeError: lastProbe.error } : {}) })),
    alerts: Object.fromEntries(Object.entries(s.alerts).map(([k, { lastSeenAt: _a, ...alert }]) => [k, alert])),
  };
}

/** The keys of `o` whose values JSON would write (an undefined property is an absent one). */
const writtenKeys = (o: Record<string, unknown>) => Object.keys(o).filter((k) => o[k] !== undefined);

/**
 * Equality as the stored JSON sees it: key order ignored, undefined properties absent. (A
 * loaded state and one built this check differ in both; sorting and serialising both to
 * compare them was a top frame of a 1,000-target check.)
 */
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null || Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const other = b as unknown[];
    return a.length === other.length && a.every((x, i) => sameJson(x, other[i]));
  }
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  const keys = writtenKeys(x);
  return keys.length === writtenKeys(y).length && keys.every((k) => sameJson(x[k], y[k]));
}

/** FNV-1a of a name: a stable, well-spread number per target. */
function nameHash(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/**
 * The refresh slot `t` falls in for `target`: slots are QUIET_WRITE_EVERY_MS long and each
 * target's are shifted by its own offset, so targets first saved together (every target on the
 * first check) are refreshed spread over the interval, not all in one check every 5 minutes.
 */
export function refreshSlot(target: string, t: number): number {
  return Math.floor((t + (nameHash(target) % QUIET_WRITE_EVERY_MS)) / QUIET_WRITE_EVERY_MS);
}

/**
 * True when saving `next` would record nothing new: no history, the same material state as
 * `previous`, and `previous` written in the target's current refresh slot (so never more than
 * QUIET_WRITE_EVERY_MS before `at`).
 */
export function isQuiet(previous: TargetState, next: TargetState, changes: readonly unknown[], at: Date): boolean {
  if (changes.length > 0 || previous.version === 0 || previous.updatedAt === undefined) return false;
  const written = Date.parse(previous.updatedAt);
  if (!(at.getTime() - written < QUIET_WRITE_EVERY_MS) || refreshSlot(previous.target, at.getTime()) !== refreshSlot(previous.target, written)) return false;
  return sameJson(material(previous), material(next));
}
