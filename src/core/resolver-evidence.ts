/**
 * One check's resolver evidence (docs/architecture.md, "Resolver evidence"): for every ELB
 * target with retired addresses past their TTL, ask the Route 53 Resolver query logs who asked
 * for its name from `lookbackMinutes` before its earliest such retirement until now, and keep
 * the askers on the ELB's observation. A client still on a retired address that the logs know
 * and that has not asked since the change will not move by itself: proof, and a page at once.
 * Read on the same terms as the flow logs: only while some retired address is in its window, at
 * most every `everyMinutes` (the last read stands in between, in the ELB's state); once a read
 * covers the time since before the change, the next reads only what came since (merged), so a
 * read scans minutes of the log, not the whole retention.
 */
import type { ProblemLog } from './problems.ts';
import { pastTtlGrace } from './assess.ts';
import type { Config, ElbTarget } from './config.ts';
import { retiredOf } from './diff.ts';
import type { EngineLogger, ResolverLogSource } from './ports.ts';
import { namesOf, readDue, readFailed } from './evidence-reads.ts';
import { QUERY_TIMESTAMP_PRECISION_MS, askedSince, mergeAskers, proofFor } from './resolver-log.ts';
import { LIMITS } from './constants.ts';
import type { ResolverProof } from './resolver-log.ts';
import type { Observed } from './targets/types.ts';
import type { CensusObservation, ResolverObservation } from './types.ts';
import { MS_PER_MINUTE, MS_PER_SECOND } from './time-units.ts';

/** Reads the resolver evidence into the ELB observations; the figures of the reads, when any ran. */
export async function readResolverEvidence(
  config: Config,
  observed: ReadonlyMap<string, Observed>,
  source: ResolverLogSource | undefined,
  startedAt: Date,
  signal: AbortSignal,
  errors: ProblemLog,
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
    const from = Math.min(...changed.map((r) => Date.parse(r.lastSeen))) - settings.lookbackMinutes * MS_PER_MINUTE;
    return [{ o, from, prev }];
  });
  if (work.length === 0) return undefined;
  const results = await Promise.all(
    work.map(async ({ o, from, prev }) => {
      try {
        // A read that covers the range since before the change already: only what came since it (less the log's delivery delay), merged.
        const covered = prev !== undefined && Date.parse(prev.from) <= from;
        const readFrom = covered ? Math.max(from, Date.parse(prev.queriedAt) - LIMITS.resolverDeliverySlackSeconds * MS_PER_SECOND) : from;
        const read = await source.read({ names: namesOf(o), addresses: o.records.map((r) => r.address), from: readFrom, to: startedAt.getTime(), signal });
        if (read.truncated)
          errors.add(
            'resolver-logs',
            `resolver logs (${o.target.name}): the read returned its maximum of ${read.rows} rows; some hosts may be missing`,
            o.target.name,
          );
        o.resolver = {
          queriedAt: startedAt.toISOString(),
          clientCacheSeconds: settings.clientCacheSeconds,
          from: covered ? prev.from : new Date(from).toISOString(),
          askers: covered ? mergeAskers(prev.askers, read.askers) : read.askers,
          ...(read.truncated ? { incomplete: true } : {}),
        };
        return read;
      } catch (err) {
        readFailed('resolver-logs', `resolver logs (${o.target.name})`, err, errors, logger, o.target.name);
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
 * none without a read, or when the log does not know the client, or it asked since the change,
 * or when the flow logs show no connection it opened to the address since (`opened`: SYNs in
 * `tcp-flags`): a proxy that pools connections asks DNS only for a new one, so its silence
 * while it rides a draining node proves nothing; a cache that opens new ones and never asks does.
 */
export function resolverProof(
  elb: { target: ElbTarget; records: Observed['records']; resolver?: ResolverObservation; census?: CensusObservation },
  client: { addresses: ReadonlySet<string>; instance?: string },
  address: string,
  lastOpened: number | undefined,
): ResolverProof | undefined {
  const record = elb.records.find((r) => r.address === address);
  const read = elb.resolver;
  if (record?.retiredAt === undefined || lastOpened === undefined || !read) return undefined;
  // An honest cache may still hold the old answer for the Resolver's TTL and then its own, plus what
  // a client keeps on top (a JVM's 30 s): a connection it opened after that is one no follower of DNS opens.
  const ttlMs = (record.ttl ?? LIMITS.defaultTtlSeconds) * MS_PER_SECOND;
  if (lastOpened < Date.parse(record.retiredAt) + 2 * ttlMs + read.clientCacheSeconds * MS_PER_SECOND) return undefined;
  // The change happened after the address was last seen in the answer: a query since may have had the new answer.
  const change = { at: Date.parse(record.lastSeen), name: elb.target.host, address };
  const asked = askedSince({ from: Date.parse(read.from), askers: read.askers }, client, change.at);
  if (asked.asked === 'since') return undefined;
  if (asked.asked === 'before') return proofFor({ from: Date.parse(read.from), askers: read.askers }, client, change);
  // Unknown to this read: the first suspects, hosts the cache census saw ask last before the change.
  const census = elb.census;
  const cached = census?.clients.find(
    (c) => (c.sourceAddress !== undefined && client.addresses.has(c.sourceAddress)) || (client.instance !== undefined && c.client === client.instance),
  );
  if (!census || cached?.lastAsked === undefined || cached.lastAsked >= change.at - QUERY_TIMESTAMP_PRECISION_MS) return undefined;
  const since = `since ${new Date(cached.lastAsked).toISOString()}`;
  return {
    source: 'resolver-query-logs',
    detail: `the cache census named ${cached.client} before the change: it has not asked for ${change.name} ${since}, while ${address} was still in its answer (seen until ${new Date(change.at).toISOString()}): it will not move by itself`,
  };
}
