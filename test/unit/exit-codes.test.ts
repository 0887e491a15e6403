/** The exit status a cron user reads (README, "CLI"): it follows the incidents, not the findings. */
import { describe, expect, it } from 'vitest';
import { exitFor } from '../../src/cli/commands/check.ts';
import { finding } from '../../src/core/assess.ts';
import type { CheckReport, TargetReport } from '../../src/core/report.ts';
import { reportOf } from './report-fixtures.ts';

const AT = '2026-12-06T03:00:00.000Z';
const target = (over: Partial<TargetReport> = {}): TargetReport => ({
  target: 'app',
  type: 'elb',
  probes: [],
  current: ['10.0.1.5'],
  retired: [],
  findings: [],
  metrics: {},
  completed: true,
  ...over,
});
const warning = finding('app', 'current-address-unhealthy', 'app: 10.0.1.5 fails', {});
/** An open paging alert of `key` (its other facts do not change the exit). */
const open = (key: string, severity: 'warning' | 'critical') => ({
  key,
  severity,
  target: 'app',
  kind: 'current-address-unhealthy' as const,
  openedAt: AT,
  summary: key,
});
const report = (over: Partial<CheckReport>, targets = [target()]): CheckReport => ({ ...reportOf(targets, AT), ...over });

describe('exitFor', () => {
  it.each([
    ['nothing open', report({}), 0],
    ['a warning seen once, waiting for openAfterChecks: it pages nobody', report({ findings: [warning] }), 0],
    ['a paging alert open (opened, not resolved)', report({ findings: [warning], openPaging: [open('app/current-address-unhealthy', 'warning')] }), 1],
    ['a paging alert still open while this check saw nothing new', report({ openPaging: [open('web/stale-upstream', 'critical')] }), 1],
    ['a state that could not be saved', report({ unsaved: ['app'], openPaging: [open('app/x', 'critical')] }), 3],
    ['a target the deadline cut', report({}, [target({ completed: false })]), 3],
  ] as const)('%s: exit %s', (_what, r, code) => {
    expect(exitFor(r)).toBe(code);
  });
});
