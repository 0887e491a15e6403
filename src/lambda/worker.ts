/**
 * Lambda entry of one shard of a fanned-out check (the Map state's task): the monitor's own
 * handler (src/lambda/monitor.ts) run on the shard's targets, with its deadline capped at the
 * tick's, so a shard's check never overlaps the next tick's check of the same targets.
 *
 * Each target's state is its own DynamoDB partition and a target is in exactly one shard of a
 * tick, so workers never contend for an item; the engine's publish-then-save order and its
 * version check then give each alert transition exactly one notice.
 */
import type { Context } from 'aws-lambda';
import type { Config } from '../core/config.ts';
import type { EngineLogger } from '../core/ports.ts';
import { selectShard } from '../core/shard.ts';
import type { ShardSelection } from '../core/shard.ts';
import { awsDeps, createHandler, emptySummary } from './monitor.ts';
import type { CheckSummary, MonitorDeps } from './monitor.ts';
import type { ShardTask } from './scheduler.ts';
import { IpdriftError } from '../core/errors.ts';

/** Defaults of the worker. */
export const WORKER_DEFAULTS = {
  /**
   * A shard that starts with less time than this before its tick's deadline (a throttled task
   * retried late) skips the tick: the next tick checks its targets, and no notice is lost, since
   * transitions come from the saved state.
   */
  minWindowMs: 10_000,
} as const;

/** A worker's figures: the monitor's, with the shard and tick. */
export interface WorkerSummary extends CheckSummary {
  readonly tick: string;
  readonly shard: number;
  readonly of: number;
  /** Set when the worker did not check: too late for its tick, or no target of its list left. */
  readonly skipped?: 'late' | 'empty';
}

/** The input is not a ShardTask. */
export class WorkerEventError extends IpdriftError {
  override readonly name = 'WorkerEventError';
  readonly code = 'worker-event';
}

/** Adds the shard's coordinates to every log line. */
function tagged(logger: EngineLogger, tags: Record<string, unknown>): EngineLogger {
  return {
    info: (m, extra) => logger.info(m, { ...tags, ...extra }),
    warn: (m, extra) => logger.warn(m, { ...tags, ...extra }),
    error: (m, extra) => logger.error(m, { ...tags, ...extra }),
  };
}

function checkTask(event: ShardTask): void {
  const ok =
    typeof event?.tick === 'string' &&
    Number.isFinite(Date.parse(event.deadlineAt)) &&
    Number.isInteger(event.shard) &&
    Number.isInteger(event.of) &&
    Array.isArray(event.targets) &&
    event.targets.every((t) => typeof t === 'string') &&
    (event.interfaces === undefined || (Array.isArray(event.interfaces.released) && Array.isArray(event.interfaces.assigned)));
  if (!ok) throw new WorkerEventError(`expected a shard task {tick, time, deadlineAt, shard, of, targets}, got ${JSON.stringify(event)?.slice(0, 200)}`);
}

/**
 * Builds the worker handler around the monitor's deps (see createHandler). `now` is the wall
 * clock the tick deadline is measured with (tests pass their own).
 */
export function createWorkerHandler(deps: MonitorDeps | (() => MonitorDeps), options: { logger?: EngineLogger; now?: () => number } = {}) {
  const now = options.now ?? Date.now;
  let resolved: MonitorDeps | undefined;
  return async function handler(
    event: ShardTask,
    context: Pick<Context, 'getRemainingTimeInMillis'> & Partial<Pick<Context, 'awsRequestId'>>,
  ): Promise<WorkerSummary> {
    checkTask(event);
    const d = (resolved ??= typeof deps === 'function' ? deps() : deps);
    const tags = { tick: event.tick, shard: event.shard, of: event.of };
    const logger = d.logger ?? options.logger;
    const log = logger ? tagged(logger, tags) : undefined;
    const deadline = Date.parse(event.deadlineAt);
    const window = deadline - now();
    const skip = (skipped: 'late' | 'empty', targets: number): WorkerSummary => ({
      ...emptySummary(context.getRemainingTimeInMillis()),
      ...tags,
      skipped,
      ok: true,
      targets,
      deadlineMs: Math.max(0, window),
    });
    if (window < WORKER_DEFAULTS.minWindowMs) {
      log?.warn('shard started too late for its tick: skipped, the next tick checks its targets', { windowMs: window, targets: event.targets.length });
      return skip('late', event.targets.length);
    }

    const select = async (): Promise<ShardSelection> => {
      const part = selectShard(await d.loadConfig(), event.targets);
      if (part.missing.length > 0) log?.warn('targets of the shard are not in the config (it changed since the split)', { missing: part.missing });
      if (part.orphaned.length > 0) log?.error('web tiers without their upstream in this shard: skipped this tick', { orphaned: part.orphaned });
      return part;
    };
    // The config loader caches: reading it here first costs nothing, and an empty shard is a
    // skip, not a check of nothing. A loading failure is left to the monitor's handler to log and throw.
    const part = await select().catch(() => undefined);
    if (part !== undefined && part.config.targets.length === 0) return skip('empty', 0);
    const loadConfig = async (): Promise<Config> => (part ?? (await select())).config;
    // The scheduler recorded the execution's interface call once; each shard applies it.
    const checkDeps = event.interfaces ? { ...d.check, interfaces: event.interfaces } : d.check;
    const check = createHandler({ ...d, loadConfig, ...(checkDeps ? { check: checkDeps } : {}), ...(log ? { logger: log } : {}) }, log ? { logger: log } : {});
    // The monitor takes its deadline from the remaining time: give it the tick's, when shorter.
    const capped = {
      ...(context.awsRequestId ? { awsRequestId: context.awsRequestId } : {}),
      getRemainingTimeInMillis: () => Math.min(context.getRemainingTimeInMillis(), deadline - now()),
    };
    return { ...(await check(event, capped)), ...tags };
  };
}

/** The Lambda handler (the Map state's task). */
export const handler = createWorkerHandler(() => awsDeps());
