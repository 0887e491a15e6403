/** What the log evidence readers share (flow, resolver, census): when a read is due, the names a host asks for an ELB by, a failed read. */
import type { ProblemCode, ProblemLog } from './problems.ts';
import type { ElbTarget } from './config.ts';
import type { Observed } from './targets/types.ts';
import { errorMessage } from './error-text.ts';
import type { EngineLogger } from './ports.ts';
import { MS_PER_MINUTE } from './time-units.ts';

/** A read is due this much early: a schedule's jitter must not skip a whole interval. */
export const DUE_SLACK_MS = 5_000;

/** True when a read last run at `lastRead` (an ISO time; none: never) is due again at `now`. */
export function readDue(lastRead: string | undefined, everyMinutes: number, now: Date): boolean {
  const last = lastRead ? Date.parse(lastRead) : 0;
  return now.getTime() - last >= everyMinutes * MS_PER_MINUTE - DUE_SLACK_MS;
}

/** The names a host may ask for this ELB by: its host, `all.<host>` and its CNAME chain. */
export function namesOf(o: Observed<ElbTarget>): string[] {
  const r = o.resolution?.ok ? o.resolution : undefined;
  return [...new Set([o.target.host, `all.${o.target.host}`, ...(r?.cname ?? [])])];
}

/** A log read that failed: one error line for the report (`<what>: <why>`) and a warning; the caller keeps the last read. */
export function readFailed(code: ProblemCode, what: string, err: unknown, errors: ProblemLog, logger: EngineLogger | undefined, target?: string): void {
  const why = errorMessage(err);
  errors.add(code, `${what}: ${why}`, target);
  logger?.warn(`${what} failed; the last read stands`, { error: why });
}
