/**
 * The checkers of the fault tests, checked: each invariant must flag the breakage it exists
 * for (a checker that never fails would make the soak prove nothing), and the PRNG must replay.
 */
import { describe, expect, it } from 'vitest';
import type { AlertState, AlertTransition, TargetState } from '../../src/core/types.ts';
import { Rng, alertViolations, credentialsIn, stateViolations } from './harness.ts';
import { STATE_SCHEMA_VERSION } from '../../src/core/constants.ts';

const AT = '2026-11-25T00:00:00.000Z';
const LATER = '2026-11-25T00:05:00.000Z';
const KEY = 'app/current-address-unhealthy';

const notice = (type: AlertTransition['type'], openedAt = AT): AlertTransition => ({
  type,
  key: KEY,
  target: 'app',
  kind: 'current-address-unhealthy',
  severity: 'warning',
  at: LATER,
  summary: 'app: 1 of 1 current address(es) fail',
  openedAt,
});

const alert = (extra: Partial<AlertState> = {}): AlertState => ({
  status: 'open',
  key: KEY,
  target: 'app',
  kind: 'current-address-unhealthy',
  severity: 'warning',
  openedAt: AT,
  lastSeenAt: AT,
  notifications: 0,
  absentChecks: 0,
  summary: 's',
  ...extra,
});

const state = (alerts: AlertState[], addresses: TargetState['addresses'] = []): TargetState => ({
  schemaVersion: STATE_SCHEMA_VERSION,
  target: 'app',
  version: 1,
  addresses,
  alerts: Object.fromEntries(alerts.map((a) => [a.key, a])),
});

describe('fault-test invariants catch what they are for', () => {
  it.each([
    ['opened then resolved', [notice('opened'), notice('resolved')], [], undefined, 0],
    ['resolved without an opened', [notice('resolved')], [], undefined, 1],
    ['resolved after the opened of an earlier lifecycle', [notice('opened', AT), notice('resolved', LATER)], [], undefined, 1],
    ['reminder without an opened', [notice('reminder')], [], undefined, 1],
    ['notified in state, never delivered', [], [alert({ lastNotifiedAt: LATER, notifications: 1 })], undefined, 1],
    ['lastNotifiedAt without a notification count', [notice('opened')], [alert({ lastNotifiedAt: LATER })], undefined, 1],
    ['two "opened" with at most one allowed', [notice('opened'), notice('opened')], [], 1, 1],
    ['two "opened" within at-least-once for two invocations', [notice('opened'), notice('opened')], [], 2, 0],
  ] as const)('alertViolations: %s', (_name, delivered, alerts, max, expected) => {
    // Act
    const found = alertViolations([...delivered], [state([...alerts])], max);
    // Assess
    expect(found).toHaveLength(expected);
  });

  it('stateViolations: duplicate addresses and time running backwards', () => {
    // Prepare
    const a = { address: '10.0.0.1', firstSeen: LATER, lastSeen: AT };
    // Act / Assess
    expect(stateViolations(state([], [a, a]), 'app')).toHaveLength(3);
    expect(stateViolations(state([], [{ address: '10.0.0.1', firstSeen: AT, lastSeen: LATER }]), 'app')).toEqual([]);
  });

  it.each([
    ['GET /x?key=AKIAIOSFODNN7EXAMPLE', true],
    ['password=hunter2', true],
    ['see http://admin:hunter2@web.internal/health', true],
    ['Authorization: Bearer abcdefghijklmnop', true],
    ['http://10.0.0.1/status?region=eu-west-1&build=2024.06', false],
    ['author: Jane; authority ok', false],
  ])('credentialsIn(%s) finds something: %s', (text, expected) => {
    expect(credentialsIn(text).length > 0).toBe(expected);
  });

  it('the seeded PRNG replays: same seed, same choices', () => {
    // Prepare
    const draw = (seed: number) => {
      const rng = new Rng(seed);
      return Array.from({ length: 20 }, () => [rng.int(0, 9), rng.chance(0.3), rng.weighted({ a: 1, b: 2 }), rng.subset([1, 2, 3, 4], 1, 3)]);
    };
    // Act / Assess
    expect(draw(42)).toEqual(draw(42));
    expect(draw(42)).not.toEqual(draw(43));
  });
});
