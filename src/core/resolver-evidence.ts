/**
 * One check's resolver evidence (docs/architecture.md, "Resolver evidence"): for every ELB
 * target with retired addresses past their TTL, ask the Route 53 Resolver query logs who asked
 * for its name from `lookbackMinutes` before its earliest such retirement until now, and keep
 * the askers on the ELB's observation. A client still on a retired address that the logs know
 * and that has not asked since the change will not move by itself: proof, and a page at once.
 * Read on the same terms as the flow logs: only while some retired address is in its window, at
 * most every `everyMinutes` (the last read stands in between, in the ELB's state).
 */
import { pastTtlGrace } from './assess.ts';
import type { Config, ElbTarget } from './config.ts';
import { retiredOf } from './diff.ts';
import { errorMessage } from './error-text.ts';
import type { EngineLogger, ResolverLogSource } from './ports.ts';
import { proofFor } from './resolver-log.ts';
import type { ResolverProof } from './resolver-log.ts';
import type { Observed } from './targets/types.ts';
import type { ResolverObservation } from './types.ts';

const MS_PER_MINUTE = 60_000;
/** A read is due this much early: a schedule's jitter must not skip a whole interval. */
export const DUE_SLACK_MS = 5_000;

/** True when a read last run at `lastReadIso` (none: never) is due again at `now`. */
export function readDue(lastReadIso: string | undefined, everyMinutes: number, now: Date): boolean {
  const last = lastReadIso ? Date.parse(lastReadIso) : 0;
  return now.getTime() - last >= everyMinutes * MS_PER_MINUTE - DUE_SLACK_MS;
}

/** The names a client may ask for this ELB by: its host, `all.<host>` and its CNAME chain. */
function namesOf(o: Observed<ElbTarget>): string[] {
  const r = o.resolution?.ok ? o.resolution : undefined;
  return [...new Set([o.target.host, `all.${o.target.host}`, ...(r?.cname ?? [])])];
}

/** Reads the resolver evidence into the ELB observations; the figures of the reads, when any ran. */
export async function readResolverEvidence(
  config: Config,
  observed: ReadonlyMap<string, Observed>,
  source: ResolverLogSource | undefined,
  startedAt: Date,
  signal: AbortSignal,
  errors: string[],
  logger?: EngineLogger,
): Promise<{ reads: number; askers: number; scannedBytes?: number } | undefined> {
  const settings = config.resolverLogs;
  if (!settings || !source) return undefined;
  const elbs = [...observed.values()].filter((o): o is Observed<ElbTarget> => o.target.type === 'elb');
  const work = elbs.flatMap((o) => {
    const changed = retiredOf(o.records).filter((r) => pastTtlGrace(r, startedAt));
    // Nothing retired past its TTL: no client can be stuck on this ELB; the last read is dropped.
    if (changed.length === 0) return [];
    const prev = o.previous.resolver;
    if (prev && !readDue(prev.queriedAt, settings.everyMinutes, startedAt)) {
      o.resolver = prev;
      return [];
    }
    const from = Math.min(...changed.map((r) => Date.parse(r.retiredAt!))) - settings.lookbackMinutes * MS_PER_MINUTE;
    return [{ o, from, prev }];
  });
  if (work.length === 0) return undefined;
  const results = await Promise.all(
    work.map(async ({ o, from, prev }) => {
      try {
        const read = await source.read({ names: namesOf(o), addresses: o.records.map((r) => r.address), from, to: startedAt.getTime(), signal });
        if (read.truncated) errors.push(`resolver logs (${o.target.name}): the read returned its maximum of ${read.rows} rows; some hosts may be missing`);
        o.resolver = {
          queriedAt: startedAt.toISOString(),
          from: new Date(from).toISOString(),
          askers: read.askers,
          ...(read.truncated ? { incomplete: true } : {}),
        };
        return read;
      } catch (err) {
        const why = errorMessage(err);
        errors.push(`resolver logs (${o.target.name}): ${why}`);
        logger?.warn('resolver log read failed; the last read stands', { target: o.target.name, error: why });
        if (prev) o.resolver = prev;
        return undefined;
      }
    }),
  );
  const ok = results.filter((r) => r !== undefined);
  if (ok.length === 0) return undefined;
  const scanned = ok.flatMap((r) => (r.scannedBytes !== undefined ? [r.scannedBytes] : []));
  return {
    reads: ok.length,
    askers: ok.reduce((n, r) => n + r.askers.length, 0),
    ...(scanned.length > 0 ? { scannedBytes: scanned.reduce((a, b) => a + b, 0) } : {}),
  };
}

/**
 * The resolver's proof that a client of `address` (a retired address of `elb`) will not move:
 * none without a read, or when the log does not know the client, or it asked since the change.
 */
export function resolverProof(
  elb: { target: ElbTarget; records: Observed['records']; resolver?: ResolverObservation },
  client: { addresses: ReadonlySet<string>; instance?: string },
  address: string,
): ResolverProof | undefined {
  const read = elb.resolver;
  const retiredAt = elb.records.find((r) => r.address === address)?.retiredAt;
  if (!read || retiredAt === undefined) return undefined;
  return proofFor({ from: Date.parse(read.from), askers: read.askers }, client, { at: Date.parse(retiredAt), name: elb.target.host });
}
