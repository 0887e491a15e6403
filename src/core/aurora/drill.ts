/**
 * A failover drill: read the writer, ask for a failover, sample until settled. The same code
 * drives `ipdrift failover-drill` (RDS) and `ipdrift demo aurora` (the lab), so what the demo
 * shows is what a real drill measures.
 */
import type { WriterInfo, WriterLookup } from '../ports.ts';
import { sampleFailover } from './sampler.ts';
import type { SamplerDeps, SamplerOptions } from './sampler.ts';
import type { FailoverTimeline } from './timeline.ts';

/** Starts a failover of a cluster and returns once it was accepted (RDS FailoverDBCluster, or the lab). */
export interface FailoverStarter {
  failover(clusterIdentifier: string, region?: string): Promise<void>;
}

/** What to drill. */
export interface DrillPlan {
  cluster: string;
  region?: string;
  /** The cluster (writer) endpoint. */
  host: string;
  deadlineMs?: number;
}

/** What the drill found. */
export interface DrillResult {
  /** The writer and members before the failover. */
  before: WriterInfo;
  timeline: FailoverTimeline;
}

/** The drill's outside world: the API, the failover call and the sampler's dependencies. */
export interface DrillDeps {
  writers: WriterLookup;
  starter: FailoverStarter;
  sampler: SamplerDeps;
}

/**
 * Reads the writer, calls failover (the event time is taken just before the call), then samples
 * until the failover settles, the deadline or `signal`. Lookup and failover errors propagate
 * (typed); nothing is failed over when the first lookup fails.
 */
export async function runDrill(
  plan: DrillPlan,
  deps: DrillDeps,
  hooks: Pick<SamplerOptions, 'onStep' | 'signal'> & { onFailoverRequested?: (before: WriterInfo) => void } = {},
): Promise<DrillResult> {
  const before = await deps.writers.writer(plan.cluster, plan.region);
  const eventAt = deps.sampler.clock.now();
  await deps.starter.failover(plan.cluster, plan.region);
  hooks.onFailoverRequested?.(before);
  const timeline = await sampleFailover(
    {
      cluster: plan.cluster,
      host: plan.host,
      eventAt,
      previousWriter: before.writer,
      ...(plan.region !== undefined ? { region: plan.region } : {}),
      ...(plan.deadlineMs !== undefined ? { deadlineMs: plan.deadlineMs } : {}),
      ...(hooks.onStep ? { onStep: hooks.onStep } : {}),
      ...(hooks.signal ? { signal: hooks.signal } : {}),
    },
    deps.sampler,
  );
  return { before, timeline };
}
