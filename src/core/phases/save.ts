/**
 * Phase 5 of a check: every target's state saved with optimistic locking, its history and the
 * notices delivered recorded; nothing material changed, no write. On a conflict the other
 * writer's state is re-read and this check re-applied on it.
 */
import { evaluateAlerts } from '../alerts.ts';
import type { CheckDeps } from '../check.ts';
import { LIMITS } from '../constants.ts';
import { errorMessage } from '../error-text.ts';
import type { InterfaceNews } from '../interface-change.ts';
import { limiter } from '../limit.ts';
import type { CheckReport } from '../report.ts';
import { isQuiet, saveWithRetry } from '../save.ts';
import { targetTypeOf } from '../targets/registry.ts';
import type { Observed } from '../targets/types.ts';
import type { AlertTransition, ChangeRecord, TargetState } from '../types.ts';
import type { Decided } from './decide.ts';
import type { ProblemLog } from '../problems.ts';
import { applyDeliveries, changeRecords, nextState, noticeRecords } from './records.ts';

/**
 * Attempts at saving one target when another writer saved first. Each conflict means another
 * check landed, so N checks at once need up to N attempts; the jitter keeps them from
 * colliding in step.
 */
const SAVE_ATTEMPTS = 16;
const SAVE_RETRY_JITTER_MS = 20;

/** What this check delivered, and when. */
export interface Deliveries {
  delivered: readonly AlertTransition[];
  at: Date;
}

/**
 * Saves every decided target; quiet ones into `report.quiet`, lost ones into `report.unsaved`
 * (their errors into `errors`).
 */
export async function saveAll(
  decided: readonly Decided[],
  observed: ReadonlyMap<string, Observed>,
  deliveries: Deliveries,
  now: Date,
  deps: Pick<CheckDeps, 'store' | 'interfaces' | 'logger'>,
  report: CheckReport,
  errors: ProblemLog,
): Promise<void> {
  const { delivered, at: deliveredAt } = deliveries;
  const saves = limiter(LIMITS.maxConcurrentSaves);
  await Promise.all(
    decided.map((w) =>
      saves(async () => {
        const notices = noticeRecords(delivered, w.o.target.name, deliveredAt);
        const first = { state: applyDeliveries(w.state, delivered, deliveredAt), expected: w.o.previous.version, changes: [...w.changes, ...notices] };
        // Nothing material changed and the state is recent: no write (a check a minute of a quiet
        // system would otherwise write every target every minute).
        if (isQuiet(w.o.previous, first.state, first.changes, now)) {
          (report.quiet ??= []).push(w.o.target.name);
          return;
        }
        // A conflict wrote nothing: re-apply this check, history included, on what the other writer saved.
        const redo = (fresh: TargetState) => ({
          ...reapply(w.o, fresh, observed, now, w.report.completed, deliveries, deps.interfaces),
          expected: fresh.version,
        });
        try {
          await saveWithRetry(deps.store, w.o.target.name, first, redo, {
            attempts: SAVE_ATTEMPTS,
            jitterMs: SAVE_RETRY_JITTER_MS,
            updatedAt: now.toISOString(),
          });
        } catch (err) {
          errors.add('save', `save ${w.o.target.name}: ${errorMessage(err)}`, w.o.target.name);
          report.unsaved.push(w.o.target.name);
          deps.logger?.error('state save failed', { target: w.o.target.name, error: errorMessage(err) });
        }
      }),
    ),
  );
}

/**
 * Re-applies this check to a state another writer saved meanwhile: the diff, the assessment (an
 * open incident, the latencies, the writer are the fresh state's) and the alerts. A notice this
 * check delivered counts only if the fresh evaluation would send the same one; any other is
 * due again next check (a REMINDER for an alert the other writer already resolved never makes
 * it "announced").
 */
function reapply(
  o: Observed,
  fresh: TargetState,
  all: ReadonlyMap<string, Observed>,
  now: Date,
  completed: boolean,
  { delivered, at: deliveredAt }: Deliveries,
  interfaces: InterfaceNews | undefined,
): { state: TargetState; changes: ChangeRecord[] } {
  const { diff: _stale, aurora: _writer, released: _released, ...rest } = o;
  const redo: Observed = { ...rest, previous: fresh, records: fresh.addresses.map((a) => ({ ...a })) };
  const type = targetTypeOf(redo.target);
  type.rediff(redo, o.resolution, now, interfaces);
  // This check read no flow logs: the other writer's read stands.
  if (!o.flow && fresh.flow) redo.flow = fresh.flow;
  if (!o.resolver && fresh.resolver) redo.resolver = fresh.resolver;
  if (!o.census && fresh.census) redo.census = fresh.census;
  const { findings, aurora } = type.assess(redo, all, now);
  if (aurora) redo.aurora = aurora;
  let state = nextState(redo, now);
  let counted: AlertTransition[] = [];
  if (completed) {
    const evaluated = evaluateAlerts(fresh.alerts, findings, now, o.target);
    const due = new Set(evaluated.transitions.map((t) => `${t.type} ${t.key}`));
    counted = delivered.filter((t) => t.target === o.target.name && due.has(`${t.type} ${t.key}`));
    state = applyDeliveries({ ...state, alerts: evaluated.alerts }, counted, deliveredAt);
  }
  // The change records too, against the fresh state: dropping them lost this check's address changes from the history.
  return { state, changes: [...changeRecords(redo, findings, now), ...noticeRecords(counted, o.target.name, deliveredAt)] };
}
