/**
 * Lambda entry of the fan-out: the first state of the Step Functions execution that runs one
 * check past one invocation. It claims the schedule tick (once per EventBridge event, whatever
 * EventBridge redelivers), splits the targets into shards (core/shard.ts) and returns one task
 * per shard for the Map state, each with the tick's deadline so no shard's check outlives it.
 *
 * Why Step Functions and not asynchronous Invoke from here: see infra/lib/fan-out.ts.
 */
import type { Context } from 'aws-lambda';
import type { Config } from '../core/config.ts';
import type { EngineLogger } from '../core/ports.ts';
import { CLOUDTRAIL_DETAIL_TYPE, interfaceChangeOf } from '../core/interface-change.ts';
import type { InterfaceNews } from '../core/interface-change.ts';
import { SHARD_DEFAULTS, planShards } from '../core/shard.ts';
import { fileConfigLoader } from '../adapters/aws/config-source.ts';
import type { ConfigLoader } from '../adapters/aws/config-source.ts';
import { DynamoInterfaceLedger } from '../adapters/aws/interface-ledger.ts';
import type { InterfaceLedger } from '../adapters/aws/interface-ledger.ts';
import { DynamoTickClaims } from '../adapters/aws/tick-claims.ts';
import type { TickClaims } from '../adapters/aws/tick-claims.ts';
import { BUNDLED_CONFIG_FILE, ENV } from '../contract.ts';
import { documentClient, powertoolsLogger } from '../adapters/aws/runtime.ts';
import { SetupError, bundleDirOf, errorText, positiveEnv, requiredEnv } from './setup.ts';
import { MS_PER_SECOND } from '../core/time-units.ts';
import { IpdriftError } from '../core/errors.ts';

export { SetupError };

/** Defaults and limits of the scheduler. */
export const SCHEDULER_DEFAULTS = {
  configFile: BUNDLED_CONFIG_FILE,
  /** Every shard's check ends this long before the next tick starts: ticks never overlap. */
  tickGuardMs: 5_000,
  /**
   * Step Functions passes at most 256 KiB between states; the shard list stays well under it
   * (about 3,000 targets of 64-character names). Past it the scheduler fails loudly.
   */
  maxPayloadBytes: 200 * 1024,
  serviceName: 'ipdrift-scheduler',
} as const;

/** What the state machine passes in: the EventBridge event's id and time, and the execution. */
export interface SchedulerEvent {
  /** EventBridge event id: the same for a redelivered tick. */
  readonly id: string;
  /** The tick's scheduled time (ISO-8601). */
  readonly time: string;
  /** `$$.Execution.Id`: a retried scheduler task of the same execution keeps its claim. */
  readonly execution?: string;
  /** The CloudTrail record, when an ELB's interface call started the execution (not the schedule). */
  readonly detail?: unknown;
}

/** One worker's task: its shard's targets and the tick they belong to. */
export interface ShardTask {
  /** The tick's event id. */
  readonly tick: string;
  readonly time: string;
  /** When this tick's checks must be done (ISO-8601): the next tick minus a guard. */
  readonly deadlineAt: string;
  readonly shard: number;
  readonly of: number;
  readonly targets: readonly string[];
  /** What the ELBs' interface call of this execution's event said (recorded once, here). */
  readonly interfaces?: InterfaceNews;
}

/** The scheduler's answer (the Map state iterates `shards`). */
export interface SchedulerResult {
  readonly tick: string;
  /** True when another execution already runs this tick: `shards` is empty. */
  readonly duplicate: boolean;
  readonly targets: number;
  readonly shards: readonly ShardTask[];
}

/** What the scheduler needs. */
export interface SchedulerDeps {
  readonly loadConfig: ConfigLoader;
  readonly claims: TickClaims;
  readonly shardSize: number;
  /** Time between ticks (the schedule's rate). */
  readonly intervalMs: number;
  readonly logger?: EngineLogger;
  /** Records an ELB's interface call once per execution, for every shard to apply. */
  readonly ledger?: InterfaceLedger;
}

/** The input is not an EventBridge tick (the state machine passes `{id, time, execution}`). */
export class SchedulerEventError extends IpdriftError {
  override readonly name = 'SchedulerEventError';
  readonly code = 'scheduler-event';
}

/** The shard list would not fit Step Functions' payload limit. */
export class FanOutPayloadError extends IpdriftError {
  override readonly name = 'FanOutPayloadError';
  readonly code = 'fan-out-payload';
  constructor(readonly bytes: number) {
    super(
      `the shard list is ${bytes} bytes, over the ${SCHEDULER_DEFAULTS.maxPayloadBytes}-byte budget for a Step Functions payload: split the config into two stacks`,
    );
  }
}

/** Builds the handler; pass a function to build the deps on first use (a setup error is then an invocation error). */
export function createSchedulerHandler(deps: SchedulerDeps | (() => SchedulerDeps)) {
  let resolved: SchedulerDeps | undefined;
  return async function handler(event: SchedulerEvent, context: Partial<Pick<Context, 'awsRequestId'>> = {}): Promise<SchedulerResult> {
    const d = (resolved ??= typeof deps === 'function' ? deps() : deps);
    const time = Date.parse(event?.time);
    if (typeof event?.id !== 'string' || event.id === '' || !Number.isFinite(time)) {
      throw new SchedulerEventError(`expected {"id": <EventBridge event id>, "time": <ISO time>}, got ${JSON.stringify(event)?.slice(0, 200)}`);
    }
    const config: Config = await d.loadConfig();
    const execution = event.execution ?? context.awsRequestId ?? event.id;
    if (!(await d.claims.claim(event.id, event.time, execution))) {
      d.logger?.warn('tick already claimed by another execution: nothing to do', { tick: event.id, time: event.time, execution });
      return { tick: event.id, duplicate: true, targets: config.targets.length, shards: [] };
    }
    const plan = planShards(config.targets, d.shardSize);
    const deadlineAt = new Date(time + d.intervalMs - SCHEDULER_DEFAULTS.tickGuardMs).toISOString();
    const interfaces = await recordInterfaceChange(event, d);
    const shards = plan.shards.map((s) => ({
      tick: event.id,
      time: event.time,
      deadlineAt,
      shard: s.index,
      of: plan.shardCount,
      targets: s.targets,
      ...(interfaces ? { interfaces } : {}),
    }));
    const result: SchedulerResult = { tick: event.id, duplicate: false, targets: config.targets.length, shards };
    const bytes = Buffer.byteLength(JSON.stringify(result));
    if (bytes > SCHEDULER_DEFAULTS.maxPayloadBytes) throw new FanOutPayloadError(bytes);
    if (plan.oversized.length > 0)
      d.logger?.warn('groups larger than the shard size each got a shard of their own', { groups: plan.oversized, shardSize: d.shardSize });
    d.logger?.info('schedule', {
      tick: event.id,
      time: event.time,
      deadlineAt,
      targets: config.targets.length,
      shards: shards.length,
      sizes: shards.map((s) => s.targets.length),
      bytes,
    });
    return result;
  };
}

/**
 * The news of the interface call that started this execution, recorded here once (N workers
 * recording it would race); undefined for a tick, for an interface the ledger never saw, and
 * when the ledger failed (logged: the check runs without it).
 */
async function recordInterfaceChange(event: SchedulerEvent, d: SchedulerDeps): Promise<InterfaceNews | undefined> {
  if (event.detail === undefined || !d.ledger) return undefined;
  const change = interfaceChangeOf({ 'detail-type': CLOUDTRAIL_DETAIL_TYPE, time: event.time, detail: event.detail });
  if (!change) return undefined;
  try {
    const news = await d.ledger.record(change);
    return news.released.length > 0 || news.assigned.length > 0 ? news : undefined;
  } catch (err) {
    d.logger?.error('interface change not recorded; the check runs without it', { call: change.call, interfaceId: change.interfaceId, error: errorText(err) });
    return undefined;
  }
}

/** The real deps, from the environment (ENV). */
export function schedulerAwsDeps(env: NodeJS.ProcessEnv = process.env): SchedulerDeps {
  const table = requiredEnv(env, ENV.table);
  const bundleDir = bundleDirOf(import.meta.url);
  return {
    loadConfig: fileConfigLoader(env[ENV.configFile] ?? SCHEDULER_DEFAULTS.configFile, bundleDir),
    claims: new DynamoTickClaims(documentClient, table),
    ledger: new DynamoInterfaceLedger(documentClient, table),
    shardSize: positiveEnv(env, ENV.shardSize, SHARD_DEFAULTS.targetsPerInvocation),
    intervalMs: positiveEnv(env, ENV.intervalSeconds) * MS_PER_SECOND,
    logger: powertoolsLogger(SCHEDULER_DEFAULTS.serviceName),
  };
}

/** The Lambda handler (the state machine's first task). */
export const handler = createSchedulerHandler(() => schedulerAwsDeps());
