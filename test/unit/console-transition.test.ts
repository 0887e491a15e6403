/** How the CLI prints a notice (check, watch, demo): one line; a resolved one says so before the failure it quotes. */
import { describe, expect, it } from 'vitest';
import { formatTransition } from '../../src/adapters/local/console.ts';
import type { AlertTransition } from '../../src/core/types.ts';

const base: AlertTransition = {
  type: 'opened',
  key: 'web/stale-upstream',
  target: 'web',
  kind: 'stale-address-suspected',
  severity: 'critical',
  summary: 'web: web tier fails (HTTP 502) while every current app-alb address is healthy',
  at: '2026-12-06T03:00:00.000Z',
};

describe('formatTransition', () => {
  it('an opened notice is the failure itself', () => {
    expect(formatTransition(base, false)).toBe('OPENED   [CRITICAL] web: web tier fails (HTTP 502) while every current app-alb address is healthy');
  });

  it('a resolved notice says it cleared first, and quotes the failure as what it was', () => {
    expect(formatTransition({ ...base, type: 'resolved' }, false)).toBe(
      'RESOLVED [CRITICAL] web: no evidence of it in the last checks (was: web: web tier fails (HTTP 502) while every current app-alb address is healthy)',
    );
  });
});
