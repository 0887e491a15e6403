/**
 * The cache census (docs/architecture.md, "Resolver evidence"): before any change, which hosts
 * will be stuck at the next one? A host that keeps opening connections to an ELB (flow logs, SYN in `tcp-flags`)
 * but has not asked for its name for much longer than the TTL (Route 53 Resolver query logs)
 * caches the answer. Both logs are read together, per ELB, at most every `censusEveryMinutes`;
 * the last census stands in between (in the ELB's state). Its hosts are a risk now
 * (`dns-cache-at-risk`, info) and the first suspects at the next change: seen on a retired
 * address, they are proof at once (core/resolver-evidence.ts).
 */
import type { ProblemLog } from './problems.ts';
import type { Config, ElbTarget } from './config.ts';
import { LIMITS } from './constants.ts';
import { parseFlowFormat, staleClients } from './flow-log.ts';
import type { FlowSource, ResolverLogSource } from './ports.ts';
import { namesOf, readDue, readFailed } from './evidence-reads.ts';
import { QUERY_TIMESTAMP_PRECISION_MS } from './resolver-log.ts';
import type { Asker } from './resolver-log.ts';
import type { Observed } from './targets/types.ts';
import type { CachingClient, CensusObservation, Finding } from './types.ts';
import { finding } from './assess.ts';
import type { EngineLogger } from './ports.ts';
import { MS_PER_MINUTE, MS_PER_SECOND } from './time-units.ts';

/** How long past its last query a connecting host counts as caching: the config's, and never under twice the TTL. */
export function cachingThresholdMs(cachingAfterSeconds: number, ttlSeconds: number): number {
  // A host that honours the TTL asked at most one TTL before it connected (plus the log's whole seconds).
  return Math.max(cachingAfterSeconds * MS_PER_SECOND, 2 * ttlSeconds * MS_PER_SECOND + QUERY_TIMESTAMP_PRECISION_MS);
}

/** The asker that is this client: by its source address, or its instance. */
export function askerOf(askers: readonly Asker[], c: { sourceAddress?: string; instance?: string }): Asker | undefined {
  return askers.find((a) => (c.sourceAddress !== undefined && a.srcaddr === c.sourceAddress) || (c.instance !== undefined && a.instance === c.instance));
}

/** Runs the census for every ELB that is due; the number of ELBs counted, when any was. */
export async function readCacheCensus(
  config: Config,
  observed: ReadonlyMap<string, Observed>,
  sources: { flow?: FlowSource; resolver?: ResolverLogSource },
  startedAt: Date,
  signal: AbortSignal,
  errors: ProblemLog,
  logger?: EngineLogger,
): Promise<{ elbs: number; caching: number } | undefined> {
  const flow = config.flowLogs;
  const resolver = config.resolverLogs;
  if (!flow || !resolver || !sources.flow || !sources.resolver) return undefined;
  const { flow: flowSource, resolver: resolverSource } = sources;
  const now = startedAt.getTime();
  const elbs = [...observed.values()].filter((o): o is Observed<ElbTarget> => o.target.type === 'elb' && o.records.length > 0);
  const censusOf = async (o: Observed<ElbTarget>): Promise<number | undefined> => {
    const prev = o.previous.census;
    if (prev && !readDue(prev.queriedAt, resolver.censusEveryMinutes, startedAt)) {
      o.census = prev;
      return undefined;
    }
    const addresses = o.records.map((r) => r.address);
    const since = now - flow.windowSeconds * MS_PER_SECOND;
    const from = now - resolver.lookbackMinutes * MS_PER_MINUTE;
    try {
      const [connections, asked] = await Promise.all([
        flowSource.read({ addresses, ports: [o.target.port], fields: parseFlowFormat(flow.format), from: since, to: now, signal }),
        resolverSource.read({ names: namesOf(o), addresses, from, to: now, signal }),
      ]);
      const clients = staleClients(
        connections.records,
        addresses.map((address) => ({ address, port: o.target.port, since })),
        { ignore: flow.ignoreSources ?? [] },
      );
      const ttl = Math.max(...o.records.map((r) => r.ttl ?? LIMITS.defaultTtlSeconds));
      const threshold = cachingThresholdMs(resolver.cachingAfterSeconds, ttl);
      const byClient = new Map<string, CachingClient>();
      for (const c of clients) {
        const key = c.sourceAddress ?? c.client;
        const seen = byClient.get(key);
        if (seen) {
          if (!seen.addresses.includes(c.address)) seen.addresses.push(c.address);
          seen.lastConnected = Math.max(seen.lastConnected, c.last);
          if (c.lastOpened !== undefined) seen.lastOpened = Math.max(seen.lastOpened ?? 0, c.lastOpened);
          continue;
        }
        const asker = askerOf(asked.askers, {
          ...(c.sourceAddress ? { sourceAddress: c.sourceAddress } : {}),
          ...(c.clientKind === 'instance' ? { instance: c.client } : {}),
        });
        byClient.set(key, {
          client: c.client,
          clientKind: c.clientKind,
          ...(c.sourceAddress ? { sourceAddress: c.sourceAddress } : {}),
          addresses: [c.address],
          lastConnected: c.last,
          ...(c.lastOpened !== undefined ? { lastOpened: c.lastOpened } : {}),
          ...(asker ? { lastAsked: asker.lastAsked } : {}),
        });
      }
      // Caching: it opens new connections long after its last query (a client that follows DNS asks
      // for a new one; a pool riding old ones opens none). A host the log never saw ask is no suspect:
      // its queries may all have been answered from the Resolver's cache, or sent by a forwarder.
      const caching = [...byClient.values()].filter((c) => c.lastOpened !== undefined && c.lastAsked !== undefined && c.lastOpened - c.lastAsked > threshold);
      const census: CensusObservation = {
        queriedAt: startedAt.toISOString(),
        from: new Date(from).toISOString(),
        thresholdMs: threshold,
        clients: caching,
        ...(connections.truncated || asked.truncated ? { incomplete: true } : {}),
      };
      o.census = census;
      return caching.length;
    } catch (err) {
      readFailed('cache-census', `cache census (${o.target.name})`, err, errors, logger, o.target.name);
      if (prev) o.census = prev;
      return undefined;
    }
  };
  // One ELB at a time: two Logs Insights queries each count against the account's concurrent
  // queries, and a file source reads its whole file per read.
  const done: (number | undefined)[] = [];
  for (const o of elbs) done.push(await censusOf(o));
  const counted = done.filter((n) => n !== undefined);
  return counted.length === 0 ? undefined : { elbs: counted.length, caching: counted.reduce((a, b) => a + b, 0) };
}

/** How a finding names a caching host: `i-0abc (10.0.3.7)`, or the address alone. */
const nameOf = (c: CachingClient) => (c.clientKind === 'address' ? c.client : `${c.client}${c.sourceAddress ? ` (${c.sourceAddress})` : ''}`);

/**
 * The census's finding for one host (`dns-cache-at-risk`, info): on the ELB for a host no web
 * tier is (keyed like its incident would be, so the risk escalates in place at the next change),
 * on the tier for a configured one (its stale-upstream condition).
 */
export function cachingFinding(
  on: { target: string; key?: string; tier?: string },
  elb: { name: string; host: string },
  c: CachingClient,
  census: CensusObservation,
  advice: string,
): Finding {
  const who = on.tier ? `web tier ${on.tier} on ${nameOf(c)}` : nameOf(c);
  const asked =
    c.lastAsked !== undefined
      ? `last asked for ${elb.host} at ${new Date(c.lastAsked).toISOString()}`
      : `has not asked for ${elb.host} since ${census.from} (as far back as the resolver logs were read)`;
  const summary =
    `${on.target}: ${who} keeps opening connections to ${elb.name} (${c.addresses.join(', ')}, the last at ${new Date(c.lastOpened ?? c.lastConnected).toISOString()}) but ${asked}: ` +
    `it caches the answer and will be stuck at the next node change${census.incomplete ? ' (the census may be incomplete: a read hit its row limit)' : ''}`;
  const f = finding(
    on.target,
    'dns-cache-at-risk',
    summary,
    {
      client: c.client,
      clientKind: c.clientKind,
      ...(c.sourceAddress ? { sourceAddress: c.sourceAddress } : {}),
      addresses: c.addresses,
      lastConnected: new Date(c.lastConnected).toISOString(),
      ...(c.lastOpened !== undefined ? { lastOpened: new Date(c.lastOpened).toISOString() } : {}),
      ...(c.lastAsked !== undefined ? { lastAsked: new Date(c.lastAsked).toISOString() } : { notAskedSince: census.from }),
      cachingAfterSeconds: Math.round(census.thresholdMs / MS_PER_SECOND),
      censusAt: census.queriedAt,
    },
    advice,
    ['client'],
  );
  return on.key ? { ...f, key: on.key } : f;
}
