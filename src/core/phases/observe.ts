/**
 * Phase 1 of a check (docs/architecture.md, "One check"): each target type observes its names
 * (resolve, diff), the evidence logs are read alongside, and every probe runs in one bounded pool,
 * all under the check's deadline.
 */
import type { Resolver } from 'node:dns/promises';
import { readCacheCensus } from '../cache-census.ts';
import type { CheckDeps } from '../check.ts';
import type { Config } from '../config.ts';
import { LIMITS } from '../constants.ts';
import { readFlowEvidence } from '../flow-evidence.ts';
import { limiter, runPool } from '../limit.ts';
import type { CheckReport } from '../report.ts';
import { readResolverEvidence } from '../resolver-evidence.ts';
import { emptyState } from '../save.ts';
import { targetTypeOf } from '../targets/registry.ts';
import type { CheckContext, Observed } from '../targets/types.ts';
import type { TargetState } from '../types.ts';
import type { ProblemLog } from '../problems.ts';

/** What the check saw: every target's observation, and what the evidence reads found. */
export interface Observation {
  observed: Map<string, Observed>;
  flow?: CheckReport['flow'];
  resolver?: CheckReport['resolver'];
  census?: CheckReport['census'];
}

/** Observes every target of `config` from its `loaded` state; problems that do not stop the check go to `errors`. */
export async function observe(
  config: Config,
  deps: CheckDeps,
  loaded: ReadonlyMap<string, TargetState | undefined>,
  at: { startedAt: Date; deadline: AbortSignal; newResolver: () => Resolver },
  errors: ProblemLog,
): Promise<Observation> {
  const { startedAt, deadline, newResolver } = at;
  const observed = new Map<string, Observed>(
    config.targets.map((t) => {
      const previous = loaded.get(t.name) ?? emptyState(t.name);
      return [t.name, { target: t, previous, records: previous.addresses.map((a) => ({ ...a })), probes: new Map() }];
    }),
  );
  // Resolve every name concurrently, then diff (a failed lookup changes no history). Every lookup
  // goes through one bounded pool: at most LIMITS.maxConcurrentLookups in flight, so 10,000
  // targets never exhaust our own sockets.
  const ctx: CheckContext = {
    config,
    deadline,
    newResolver,
    resolver: newResolver(),
    lookups: limiter(LIMITS.maxConcurrentLookups),
    startedAt,
    errors,
    ...(deps.insecureTls ? { insecureTls: deps.insecureTls } : {}),
    ...(deps.writerLookup ? { writerLookup: deps.writerLookup } : {}),
    ...(deps.sessionCheck ? { sessionCheck: deps.sessionCheck } : {}),
    ...(deps.interfaces ? { interfaces: deps.interfaces } : {}),
    ...(deps.logger ? { logger: deps.logger } : {}),
  };
  await Promise.all([...observed.values()].map((o) => targetTypeOf(o.target).observe(o, ctx)));
  // Flow evidence: read alongside the probes (it only needs the diff), under the same deadline.
  const flowRead = readFlowEvidence(config, observed, deps.flowSource, startedAt, deadline, errors, deps.logger);
  const resolverRead = readResolverEvidence(config, observed, deps.resolverSource, startedAt, deadline, errors, deps.logger);
  const censusRead = readCacheCensus(
    config,
    observed,
    { ...(deps.flowSource ? { flow: deps.flowSource } : {}), ...(deps.resolverSource ? { resolver: deps.resolverSource } : {}) },
    startedAt,
    deadline,
    errors,
    deps.logger,
  );

  // Probe every current and retained retired address, and every web tier: all concurrently,
  // at most LIMITS.maxConcurrentProbes in flight, so each probe's timeout starts when it really starts.
  await runPool(
    [...observed.values()].flatMap((o) => targetTypeOf(o.target).probeJobs(o, ctx)),
    LIMITS.maxConcurrentProbes,
  );
  const flow = await flowRead;
  const resolver = await resolverRead;
  const census = await censusRead;
  return { observed, ...(flow ? { flow } : {}), ...(resolver ? { resolver } : {}), ...(census ? { census } : {}) };
}
