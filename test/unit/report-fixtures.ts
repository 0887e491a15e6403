import type { CheckReport, TargetReport } from '../../src/core/report.ts';

/** A finished check at `at` over these target reports, with nothing found, sent or lost. */
export const reportOf = (targets: TargetReport[], at: string): CheckReport => ({
  startedAt: at,
  finishedAt: at,
  durationMs: 1,
  targets,
  findings: [],
  transitions: [],
  delivered: 0,
  undelivered: 0,
  openPaging: [],
  unsaved: [],
  errors: [],
  problems: [],
});
