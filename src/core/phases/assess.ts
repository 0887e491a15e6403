/**
 * Phase 2 of a check: each target's observation becomes findings and metrics (its type's
 * `assess`), and a target the deadline cut is marked incomplete (its alerts stay as they were).
 */
import type { TargetReport } from '../report.ts';
import { targetTypeOf } from '../targets/registry.ts';
import type { Observed } from '../targets/types.ts';
import type { Finding } from '../types.ts';

/** One target assessed. */
export interface Assessed {
  o: Observed;
  findings: Finding[];
  metrics: TargetReport['metrics'];
  /** False when the deadline cut the target's work (or its upstream's, for a web tier). */
  completed: boolean;
}

/** Cut by the deadline: a lookup, a probe or the web-tier GET was stopped. */
const stopped = (o: Observed) =>
  o.resolutionCut === true || o.web?.error?.code === 'aborted' || [...o.probes.values()].some((p) => p.error?.code === 'aborted');

/** Assesses every observed target at `now`. */
export function assessTargets(observed: ReadonlyMap<string, Observed>, now: Date): Assessed[] {
  // A target judged against others (a web tier against its upstream's probes) is cut when they are.
  const isCut = (o: Observed) =>
    stopped(o) ||
    targetTypeOf(o.target)
      .judgedWith(o)
      .some((name) => observed.has(name) && stopped(observed.get(name)!));
  return [...observed.values()].map((o) => {
    const { findings, metrics, aurora } = targetTypeOf(o.target).assess(o, observed, now);
    if (aurora) o.aurora = aurora;
    return { o, findings, metrics, completed: !isCut(o) };
  });
}
