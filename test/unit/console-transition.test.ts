/**
 * How the CLI prints a notice (check, watch, demo): one line. A resolved one says what recovered,
 * since when and how long the incident lasted, then quotes the failure as what it was.
 */
import { describe, expect, it } from 'vitest';
import { formatTransition } from '../../src/adapters/local/console.ts';
import { evaluateAlerts, markDelivered } from '../../src/core/alerts.ts';
import { finding } from '../../src/core/assess.ts';
import type { AlertState, AlertTransition } from '../../src/core/types.ts';

const POLICY = { renotifyMinutes: 60, resolveAfterChecks: 2 };
const T0 = Date.parse('2026-12-06T03:00:00Z');
const SUMMARY = 'web: web tier fails (HTTP 502) while every current app-alb address is healthy';
const failing = finding('web', 'stale-address-suspected', SUMMARY, {}, 'restart', ['failing']);

/** Runs the alert step at T0 + `seconds` and delivers every transition. */
function step(alerts: Record<string, AlertState>, present: boolean, seconds: number) {
  const now = new Date(T0 + seconds * 1000);
  const { alerts: next, transitions } = evaluateAlerts(alerts, present ? [failing] : [], now, POLICY);
  return { alerts: transitions.reduce((a, t) => markDelivered(a, t, now), next), transitions };
}

describe('formatTransition', () => {
  it('an opened notice is the failure itself', () => {
    // Act
    const { transitions } = step({}, true, 0);
    // Assess
    expect(transitions.map((t: AlertTransition) => formatTransition(t, false))).toEqual([`OPENED   [CRITICAL] ${SUMMARY}`]);
  });

  it('a resolved notice says what recovered, after which check, and how long the incident lasted, then what it was', () => {
    // Prepare: failing at 0 s, 30 s and 90 s; clean at 120 s and 150 s.
    let alerts = step({}, true, 0).alerts;
    alerts = step(alerts, true, 30).alerts;
    alerts = step(alerts, true, 90).alerts;
    alerts = step(alerts, false, 120).alerts;
    // Act
    const { transitions } = step(alerts, false, 150);
    // Assess
    expect(transitions.map((t) => formatTransition(t, false))).toEqual([
      `RESOLVED [CRITICAL] web: recovered: the web tier answers, on healthy upstream addresses (2 clean checks after 03:01:30 UTC); the incident lasted 1 min 30 s (was: ${SUMMARY})`,
    ]);
  });
});
