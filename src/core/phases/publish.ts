/**
 * Phase 4 of a check: metrics (a failure is logged, never stops alerts), then notices one by one,
 * in order per alert, all within the publish budget (a sink that hangs counts as failed; its
 * notices go out next check). Publish before save: a crash may repeat a notice, never lose one.
 */
import { performance } from 'node:perf_hooks';
import type { CheckDeps } from '../check.ts';
import { LIMITS } from '../constants.ts';
import { errorMessage } from '../error-text.ts';
import type { CheckReport } from '../report.ts';
import type { AlertTransition } from '../types.ts';
import type { ProblemLog } from '../problems.ts';

/** Publishes `report`'s metrics and notices; returns the transitions the notifier accepted. Problems go to `errors`. */
export async function publish(
  report: CheckReport,
  deps: Pick<CheckDeps, 'metrics' | 'notifier' | 'logger' | 'publishBudgetMs'>,
  errors: ProblemLog,
): Promise<AlertTransition[]> {
  const publishBy = performance.now() + (deps.publishBudgetMs ?? LIMITS.publishBudgetMs);
  const inBudget = <T>(work: Promise<T>, what: string) => withTimeout(work, Math.max(0, publishBy - performance.now()), what);
  if (deps.metrics) {
    try {
      await inBudget(deps.metrics.publishMetrics(report), 'metrics publish');
    } catch (err) {
      errors.add('metrics', `metrics: ${errorMessage(err)}`);
      deps.logger?.error('metrics publish failed', { error: errorMessage(err) });
    }
  }
  const delivered: AlertTransition[] = [];
  const failedKeys = new Set<string>();
  for (const t of report.transitions) {
    // Keep order per alert: never "resolved" after an undelivered "opened".
    if (failedKeys.has(t.key)) continue;
    try {
      // Spent budget: do not start a notice that would count as undelivered and be sent twice.
      if (performance.now() >= publishBy) throw new Error('publish budget spent before this notice; it is sent next check');
      await inBudget(deps.notifier.notify(t), `notice ${t.type} ${t.key}`);
      delivered.push(t);
    } catch (err) {
      failedKeys.add(t.key);
      errors.add('notify', `notify ${t.key}: ${errorMessage(err)}`, t.target);
      deps.logger?.error('notification failed; it will be re-sent next check', { key: t.key, type: t.type, error: errorMessage(err) });
    }
  }
  return delivered;
}

/** `work`, or a rejection once `ms` have passed (the work goes on unobserved; a late success only repeats a notice). */
function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within the publish budget (${ms} ms left)`)), ms);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}
