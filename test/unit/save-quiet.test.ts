/** When a check's state need not be written: nothing material changed, and it was written recently. */
import { describe, expect, it } from 'vitest';
import { QUIET_WRITE_EVERY_MS, isQuiet, refreshSlot } from '../../src/core/save.ts';
import type { TargetState } from '../../src/core/types.ts';
import { STATE_SCHEMA_VERSION } from '../../src/core/constants.ts';

const BASE = Date.parse('2026-12-01T10:00:00Z');
const SECOND = 1000;
/** The first whole second at or after BASE where app-alb's refresh slot begins: a write there has the whole interval ahead. */
const slotStart = (target: string) => {
  let t = BASE;
  while (refreshSlot(target, t) === refreshSlot(target, t - SECOND)) t += SECOND;
  return t;
};
const T0 = slotStart('app-alb');
const at = (ms: number) => new Date(T0 + ms);
const state = (over: Partial<TargetState> = {}): TargetState => ({
  schemaVersion: STATE_SCHEMA_VERSION,
  target: 'app-alb',
  version: 7,
  updatedAt: at(0).toISOString(),
  addresses: [
    {
      address: '10.0.1.5',
      firstSeen: at(-60_000).toISOString(),
      lastSeen: at(0).toISOString(),
      ttl: 60,
      lastProbe: { at: at(0).toISOString(), ok: true, latencyMs: 3 },
    },
  ],
  alerts: {},
  ...over,
});

describe('isQuiet', () => {
  it('spreads the refreshes of targets first saved together over the interval, and none waits longer than it', () => {
    // Prepare: 1,000 quiet targets all written by the first check; a check a minute for 30 minutes.
    const CHECK_MS = 60 * SECOND;
    const CHECKS = 30;
    const names = Array.from({ length: 1000 }, (_, i) => `elb-${i}`);
    const written = new Map(names.map((n) => [n, BASE]));
    const perCheck: number[] = [];
    let longestGap = 0;
    // Act
    for (let c = 1; c <= CHECKS; c++) {
      const now = BASE + c * CHECK_MS;
      let writes = 0;
      for (const name of names) {
        const prev = state({ target: name, updatedAt: new Date(written.get(name)!).toISOString() });
        if (isQuiet(prev, { ...prev, updatedAt: new Date(now).toISOString() }, [], new Date(now))) continue;
        longestGap = Math.max(longestGap, now - written.get(name)!);
        written.set(name, now);
        writes++;
      }
      perCheck.push(writes);
    }
    // Assess: about a fifth of the targets each check (5-minute interval, 1-minute checks), never all at once.
    const expected = (names.length * CHECK_MS) / QUIET_WRITE_EVERY_MS;
    expect(Math.min(...perCheck)).toBeGreaterThan(expected * 0.7);
    expect(Math.max(...perCheck)).toBeLessThan(expected * 1.3);
    expect(longestGap).toBeLessThanOrEqual(QUIET_WRITE_EVERY_MS);
  });

  it('times, latencies and the version changing is quiet; within the refresh interval only', () => {
    // Prepare: the next check, a minute later: new last-seen and probe times, another latency.
    const prev = state({ latencies: [10, 11] });
    const next = state({
      version: 8,
      updatedAt: at(60_000).toISOString(),
      latencies: [10, 11, 12],
      addresses: [{ ...prev.addresses[0]!, lastSeen: at(60_000).toISOString(), lastProbe: { at: at(60_000).toISOString(), ok: true, latencyMs: 4 } }],
    });
    // Act / Assess
    expect(isQuiet(prev, next, [], at(60_000))).toBe(true);
    expect(isQuiet(prev, next, [], at(QUIET_WRITE_EVERY_MS - SECOND))).toBe(true);
    expect(isQuiet(prev, next, [], at(QUIET_WRITE_EVERY_MS))).toBe(false);
    expect(isQuiet(prev, next, [{ kind: 'address-set-changed' }], at(60_000))).toBe(false);
    expect(isQuiet({ ...prev, version: 0 }, next, [], at(60_000))).toBe(false);
  });

  it('compares as the stored JSON does: key order and undefined properties do not count', () => {
    // Prepare: the loaded state (keys in file order, no undefined) and the one this check built.
    const prev = state();
    const a = prev.addresses[0]!;
    const rebuilt: TargetState = {
      alerts: {},
      addresses: [
        {
          ttl: a.ttl,
          lastProbe: { latencyMs: 4, ok: true, at: at(60_000).toISOString() },
          lastSeen: at(60_000).toISOString(),
          firstSeen: a.firstSeen,
          address: a.address,
          retiredAt: undefined,
        },
      ],
      version: 8,
      target: 'app-alb',
      schemaVersion: STATE_SCHEMA_VERSION,
    };
    // Act / Assess
    expect(isQuiet(prev, rebuilt, [], at(60_000))).toBe(true);
    expect(isQuiet(prev, { ...rebuilt, addresses: [...rebuilt.addresses, { ...a, address: '10.0.1.6' }] }, [], at(60_000))).toBe(false);
    expect(isQuiet(prev, { ...rebuilt, addresses: [{ ...rebuilt.addresses[0]!, ttl: 30 }] }, [], at(60_000))).toBe(false);
  });

  it.each([
    ['an address retired', (s: TargetState) => ({ ...s, addresses: [{ ...s.addresses[0]!, retiredAt: at(60_000).toISOString() }] })],
    [
      'a probe that now fails',
      (s: TargetState) => ({
        ...s,
        addresses: [{ ...s.addresses[0]!, lastProbe: { at: at(60_000).toISOString(), ok: false, latencyMs: 500, error: 'timeout' } }],
      }),
    ],
    [
      'a pending warning counted once more',
      (s: TargetState) => ({
        ...s,
        alerts: {
          'app-alb/resolution-failed': {
            key: 'app-alb/resolution-failed',
            target: 'app-alb',
            kind: 'resolution-failed' as const,
            severity: 'warning' as const,
            openedAt: at(0).toISOString(),
            lastSeenAt: at(0).toISOString(),
            notifications: 0,
            absentChecks: 0,
            status: 'pending' as const,
            seenChecks: 1,
            summary: 'x',
          },
        },
      }),
    ],
    ['a flow read', (s: TargetState) => ({ ...s, flow: { queriedAt: at(60_000).toISOString(), clients: [] } })],
  ])('%s is material', (_name, change) => {
    const prev = state();
    expect(isQuiet(prev, change(prev), [], at(60_000))).toBe(false);
  });
});
