/**
 * Phase 3 of a check: findings become alert transitions (core/alerts.ts) on a completed target,
 * and each target's next state, history records and report are drawn up.
 */
import { evaluateAlerts } from '../alerts.ts';
import { currentOf } from '../diff.ts';
import type { TargetReport } from '../report.ts';
import type { Observed } from '../targets/types.ts';
import type { AlertTransition, ChangeRecord, TargetState } from '../types.ts';
import type { Assessed } from './assess.ts';
import { changeRecords, nextState } from './records.ts';

/** One target decided: what to save and what to tell (its findings and completeness are in `report`). */
export interface Decided {
  o: Observed;
  state: TargetState;
  transitions: AlertTransition[];
  changes: ChangeRecord[];
  report: TargetReport;
}

/** Decides every assessed target at `now`. */
export function decide(assessed: readonly Assessed[], now: Date): Decided[] {
  return assessed.map(({ o, findings, metrics, completed }) => {
    const state = nextState(o, now);
    let transitions: AlertTransition[] = [];
    // A cut target's alerts stay as they were: an unfinished check proves nothing gone.
    if (completed) {
      const evaluated = evaluateAlerts(o.previous.alerts, findings, now, o.target);
      state.alerts = evaluated.alerts;
      transitions = evaluated.transitions;
    }
    const report: TargetReport = {
      target: o.target.name,
      type: o.target.type,
      ...(o.resolution ? { resolution: o.resolution } : {}),
      probes: [...o.probes.values()],
      ...(o.web ? { web: o.web } : {}),
      current: currentOf(o.records).map((r) => r.address),
      retired: o.records.filter((r) => r.retiredAt !== undefined).map((r) => r.address),
      ...(o.released ? { released: o.released } : {}),
      findings,
      metrics,
      completed,
    };
    return { o, state, transitions, changes: changeRecords(o, findings, now), report };
  });
}
