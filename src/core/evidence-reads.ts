/** What the log evidence readers share (flow, resolver, census): when a read is due, and the names a host asks for an ELB by. */
import type { ElbTarget } from './config.ts';
import type { Observed } from './targets/types.ts';

const MS_PER_MINUTE = 60_000;
/** A read is due this much early: a schedule's jitter must not skip a whole interval. */
export const DUE_SLACK_MS = 5_000;

/** True when a read last run at `lastReadIso` (none: never) is due again at `now`. */
export function readDue(lastReadIso: string | undefined, everyMinutes: number, now: Date): boolean {
  const last = lastReadIso ? Date.parse(lastReadIso) : 0;
  return now.getTime() - last >= everyMinutes * MS_PER_MINUTE - DUE_SLACK_MS;
}

/** The names a host may ask for this ELB by: its host, `all.<host>` and its CNAME chain. */
export function namesOf(o: Observed<ElbTarget>): string[] {
  const r = o.resolution?.ok ? o.resolution : undefined;
  return [...new Set([o.target.host, `all.${o.target.host}`, ...(r?.cname ?? [])])];
}
