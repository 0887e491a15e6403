/**
 * Validation of persisted target state, whatever store it came from. A state file or item that
 * was edited by hand, truncated by a full disk or written by something else must stop the check
 * with a clear error (the store leaves it untouched), never be read half-right and saved back
 * with the damage spread, nor crash the engine with a TypeError.
 */
import * as z from 'zod';
import { isIP } from 'node:net';
import { formatPath } from './config.ts';
import { StateError } from './ports.ts';
import type { Store } from './ports.ts';
import { ALERT_STATUSES, FINDING_KINDS, SEVERITIES } from './types.ts';
import type { EvidenceSignal, FindingKind, TargetState } from './types.ts';
import { READABLE_STATE_VERSIONS } from './constants.ts';
import { upgradeState } from './state-migration.ts';
import type { StoredState } from './state-migration.ts';

/** Problems listed in one error before "... and N more". */
const ISSUES_SHOWN = 5;

const isoTime = z.string({ error: 'expected an ISO-8601 time' }).refine((s) => !Number.isNaN(Date.parse(s)), 'expected an ISO-8601 time');
const count = z.number({ error: 'expected a whole number >= 0' }).int('expected a whole number >= 0').nonnegative('expected a whole number >= 0');
const kinds = Object.keys(FINDING_KINDS) as [FindingKind, ...FindingKind[]];

// Loose objects: fields added by later versions (or by adapters) pass; the ones the engine reads are checked.
const addressRecord = z.looseObject({
  address: z.string({ error: 'expected an IP address' }).refine((a) => isIP(a) !== 0, 'expected an IP address'),
  firstSeen: isoTime,
  lastSeen: isoTime,
  retiredAt: isoTime.optional(),
  missingChecks: count.optional(),
  identity: z.string().optional(),
  lastProbe: z.looseObject({ at: isoTime, ok: z.boolean(), latencyMs: z.number(), error: z.string().optional() }).optional(),
  released: z.looseObject({ at: isoTime, interfaceId: z.string() }).optional(),
});

const staleClient = z.looseObject({
  client: z.string(),
  address: z.string(),
  port: z.number(),
  packets: z.number(),
  records: z.number(),
  first: z.number(),
  last: z.number(),
});

const findingSchema = z.looseObject({
  key: z.string(),
  target: z.string(),
  kind: z.enum(kinds),
  severity: z.enum(SEVERITIES),
  summary: z.string(),
  evidence: z.record(z.string(), z.unknown()),
  advice: z.string(),
});

const signal = z.enum(['echo', 'failing', 'slow', 'client'] as const satisfies readonly EvidenceSignal[]);

const alertState = z.looseObject({
  key: z.string().min(1),
  target: z.string(),
  kind: z.enum(kinds),
  severity: z.enum(SEVERITIES),
  openedAt: isoTime,
  lastSeenAt: isoTime,
  lastNotifiedAt: isoTime.optional(),
  notifications: count,
  absentChecks: count,
  // Version 2 says where the alert stands; version 1 implied it by the three fields after.
  status: z.enum(ALERT_STATUSES).optional(),
  seenChecks: count.optional(),
  pending: count.optional(),
  resolving: z.boolean().optional(),
  event: z.boolean().optional(),
  summary: z.string(),
  finding: findingSchema.optional(),
  signals: z.array(signal).optional(),
  notifiedSignals: z.array(signal).optional(),
  notifiedSeverity: z.enum(SEVERITIES).optional(),
});

const targetStateSchema = z
  .looseObject({
    schemaVersion: z.literal(READABLE_STATE_VERSIONS, {
      error: `expected a schema version ipdrift reads (${READABLE_STATE_VERSIONS.join(', ')})`,
    }),
    target: z.string(),
    version: count,
    updatedAt: isoTime.optional(),
    addresses: z.array(addressRecord),
    latencies: z.array(z.number().nonnegative()).optional(),
    aurora: z.looseObject({}).optional(),
    flow: z.looseObject({ queriedAt: isoTime, clients: z.array(staleClient) }).optional(),
    alerts: z.record(z.string(), alertState),
  })
  .superRefine((s, ctx) => {
    const seen = new Set<string>();
    s.addresses.forEach((a, i) => {
      if (seen.has(a.address)) ctx.addIssue({ code: 'custom', path: ['addresses', i, 'address'], message: `address ${a.address} listed twice` });
      seen.add(a.address);
    });
    for (const [key, alert] of Object.entries(s.alerts)) {
      if (alert.key !== key) ctx.addIssue({ code: 'custom', path: ['alerts', key, 'key'], message: `alert stored under "${key}" has key "${alert.key}"` });
    }
  });

/**
 * The states of `targets` from `store`, each checked and in today's shape: the engine's only way
 * to read state (a damaged one stops the check before anything is probed or saved).
 */
export async function loadStates(store: Pick<Store, 'load'>, targets: readonly string[]): Promise<Map<string, TargetState | undefined>> {
  const loaded = await store.load(targets);
  return new Map([...loaded].map(([name, state]) => [name, state === undefined ? undefined : checkTargetState(state, name, `state of target "${name}"`)]));
}

/**
 * Checks that `value` is the persisted state of `target` as the engine reads it. Throws a
 * StateError at `location` (a file path, a table key) listing the first problems with their
 * paths (`addresses[2].firstSeen: expected an ISO-8601 time`). Returns it in today's shape
 * (core/state-migration.ts: the one migration, at load).
 */
export function checkTargetState(value: unknown, target: string, location: string): TargetState {
  const result = targetStateSchema.safeParse(value);
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${formatPath(i.path)}: ${i.message}`);
    const more = issues.length > ISSUES_SHOWN ? `; ... and ${issues.length - ISSUES_SHOWN} more` : '';
    throw new StateError(`corrupt state (left untouched): ${issues.slice(0, ISSUES_SHOWN).join('; ')}${more}`, location);
  }
  const state = value as StoredState;
  if (state.target !== target) throw new StateError(`state belongs to target "${state.target}", not "${target}" (left untouched)`, location);
  return upgradeState(state);
}
