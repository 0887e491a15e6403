/**
 * Lambda entry for the EventBridge rule on RDS cluster events: an Aurora failover started
 * (RDS-EVENT-0072 same AZ, 0073 across AZs) -> sample it until it settles or a deadline ->
 * one timeline, published as metrics (`DnsLagSeconds`, `FailoverSeconds`), one SNS notice, and
 * a history item with the target's writer state.
 *
 * Completed (0071) and failed (0069) events are logged and ignored: the started event's
 * invocation is already sampling that failover, and a second sampler would only measure its
 * tail or report "no change". The rule should match 0072/0073; matching more is harmless.
 *
 * This function samples for up to two minutes: its asynchronous invocations must not be
 * retried (a retry would sample a finished failover), so it reports delivery problems by
 * throwing at the very end, after everything else was done, for the Errors alarm only.
 */
import type { Context, EventBridgeEvent } from 'aws-lambda';
import { saveWithRetry } from '../core/save.ts';
import type { AuroraTarget, Config } from '../core/config.ts';
import { sampleFailover, defaultSamplerDeps } from '../core/aurora/sampler.ts';
import type { SamplerDeps } from '../core/aurora/sampler.ts';
import type { FailoverTimeline } from '../core/aurora/timeline.ts';
import type { EngineLogger, Notifier, Store, WriterLookup } from '../core/ports.ts';
import type { ChangeRecord, Clock, TargetState } from '../core/types.ts';
import { fileConfigLoader } from '../adapters/aws/config-source.ts';
import type { ConfigLoader } from '../adapters/aws/config-source.ts';
import { DynamoStore } from '../adapters/aws/dynamo-store.ts';
import { RdsWriterLookup } from '../adapters/aws/rds-writer.ts';
import { cloudWatchClient, documentClient, powertoolsLogger, snsClient } from '../adapters/aws/runtime.ts';
import { SnsNotifier } from '../adapters/aws/sns-notifier.ts';
import { BUNDLED_CONFIG_FILE, ENV } from '../contract.ts';
import { failoverTransition, stateAfter } from '../core/aurora/failover-notice.ts';
import { timelineDocument, timelineSummary } from '../core/aurora/format.ts';
import type { TimelineMetrics } from '../core/aurora/failover-notice.ts';
import { CloudWatchTimelineMetrics } from '../adapters/aws/timeline-metrics.ts';
import { bundleDirOf, errorText, requiredEnv } from './setup.ts';
import { IpdriftError } from '../core/errors.ts';

/** RDS event IDs of a cluster failover (RDS event categories, "failover"). */
export const RDS_FAILOVER_EVENTS = {
  started: ['RDS-EVENT-0072', 'RDS-EVENT-0073'],
  completed: ['RDS-EVENT-0071'],
  failed: ['RDS-EVENT-0069'],
} as const;

/** Defaults of the handler. */
export const FAILOVER_WATCH_DEFAULTS = {
  /** Sampling stops here even when the failover has not settled (AWS: "typically < 60 s"). */
  deadlineMs: 120_000,
  /** Time kept back from the Lambda's remaining time for publishing and saving. */
  safetyMarginMs: 15_000,
  minDeadlineMs: 5_000,
  /** Attempts at the notice and at the history save. */
  attempts: 3,
  retryDelayMs: 500,
  configFile: BUNDLED_CONFIG_FILE,
  serviceName: 'ipdrift-failover-watch',
} as const;

/** `detail` of an EventBridge "RDS DB Cluster Event". */
export interface RdsClusterEventDetail {
  EventID: string;
  SourceIdentifier: string;
  SourceArn?: string;
  SourceType?: string;
  EventCategories?: string[];
  Message?: string;
  /** When RDS raised the event (ISO-8601). */
  Date?: string;
}

/** The event the rule delivers. */
export type RdsClusterEvent = EventBridgeEvent<'RDS DB Cluster Event', RdsClusterEventDetail>;

/** The event is not an RDS cluster event this function understands. */
export class UnexpectedEventError extends IpdriftError {
  override readonly name = 'UnexpectedEventError';
  readonly code = 'unexpected-event';
}

/** Sampling ran, but a notice, the metrics or the history did not go out; thrown last, for the Errors alarm. */
export class FailoverWatchDeliveryError extends IpdriftError {
  override readonly name = 'FailoverWatchDeliveryError';
  readonly code = 'failover-watch-delivery';
  constructor(
    readonly errors: string[],
    options?: { cause?: unknown },
  ) {
    super(`failover timeline not fully delivered: ${errors.join('; ')}`, options);
  }
}

/** What the handler needs; tests inject the lab and local adapters. */
export interface FailoverWatchDeps {
  loadConfig: ConfigLoader;
  writers: WriterLookup;
  store: Store;
  notifier: Notifier;
  metrics?: TimelineMetrics;
  /** Overrides of the sampler's real DNS, probes, clock and sleep (tests). */
  sampler?: Partial<SamplerDeps>;
  clock?: Clock;
  logger?: EngineLogger;
  deadlineMs?: number;
  safetyMarginMs?: number;
  retryDelayMs?: number;
}

/** The part of the Lambda context the handler uses. */
export type FailoverWatchContext = Pick<Context, 'getRemainingTimeInMillis'> & Partial<Pick<Context, 'awsRequestId'>>;

/** One target's outcome. */
export interface TargetOutcome {
  target: string;
  summary: string;
  settled: boolean;
  dnsLagMs?: number;
  outageMs?: number;
  notified: boolean;
  historySaved: boolean;
}

/** What one invocation did: the log line and the return value. */
export interface FailoverWatchResult {
  action: 'sampled' | 'ignored';
  reason?: string;
  eventId: string;
  cluster: string;
  targets: TargetOutcome[];
  errors: string[];
  deadlineMs?: number;
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function withRetries<T>(attempts: number, delayMs: number, fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= attempts) throw err;
      await pause(delayMs * attempt);
    }
  }
}

/**
 * Saves the writer state and a history record, with optimistic locking (the monitor may save
 * the same target meanwhile). A target the monitor never checked is left alone: a state saved
 * here without addresses would make its first check announce every address as new.
 */
function saveHistory(store: Store, target: string, t: FailoverTimeline, record: ChangeRecord, attempts: number): Promise<boolean> {
  const redo = (prev: TargetState) => (prev.version === 0 ? undefined : { state: stateAfter(prev, t), expected: prev.version, changes: [record] });
  return saveWithRetry(store, target, undefined, redo, { attempts, jitterMs: 0, updatedAt: record.at });
}

function isRdsClusterEvent(event: unknown): event is RdsClusterEvent {
  const e = event as Partial<RdsClusterEvent> | undefined;
  return typeof e?.detail?.EventID === 'string' && typeof e.detail.SourceIdentifier === 'string';
}

/**
 * The cluster identifier an event is about, lower case: from the cluster ARN in `resources` or
 * `detail.SourceArn` when there is one, else `detail.SourceIdentifier` without the `rds:` prefix
 * AWS's documented sample carries (events seen in accounts carry the bare name).
 */
export function clusterOfEvent(event: RdsClusterEvent): string {
  const arn = [...(event.resources ?? []), event.detail.SourceArn ?? ''].find((r) => /^arn:[^:]+:rds:[^:]*:[^:]*:cluster:/.test(r));
  const id = arn ? arn.slice(arn.lastIndexOf(':cluster:') + ':cluster:'.length) : event.detail.SourceIdentifier.replace(/^rds:/, '');
  return id.toLowerCase();
}

/** Builds the handler around `deps` (a function: built on first use, so a missing variable fails the invocation, not the import). */
export function createFailoverWatchHandler(deps: FailoverWatchDeps | (() => FailoverWatchDeps)) {
  let resolved: FailoverWatchDeps | undefined;
  return async function handler(event: RdsClusterEvent, context: FailoverWatchContext): Promise<FailoverWatchResult> {
    let logger: EngineLogger = defaultLogger();
    if (!isRdsClusterEvent(event)) {
      logger.error('failover-watch', { error: 'not an RDS cluster event', event });
      throw new UnexpectedEventError('expected an EventBridge "RDS DB Cluster Event" with detail.EventID and detail.SourceIdentifier');
    }
    const eventId = event.detail.EventID;
    const cluster = clusterOfEvent(event);
    const result: FailoverWatchResult = { action: 'ignored', eventId, cluster, targets: [], errors: [] };
    const d = (resolved ??= typeof deps === 'function' ? deps() : deps);
    logger = d.logger ?? logger;

    if (!(RDS_FAILOVER_EVENTS.started as readonly string[]).includes(eventId)) {
      result.reason = `${eventId} is not a failover start; the start event's invocation samples the failover`;
      logger.info('failover-watch', { ...result });
      return result;
    }
    let config: Config;
    try {
      config = await d.loadConfig();
    } catch (err) {
      // A broken config must say so in the log, not only as the invocation's error.
      result.errors.push(`config: ${errorText(err)}`);
      logger.error('failover-watch', { ...result });
      throw err;
    }
    const targets = config.targets.filter(
      (t): t is AuroraTarget => t.type === 'aurora' && t.clusterIdentifier.toLowerCase() === cluster && (t.region === undefined || t.region === event.region),
    );
    if (targets.length === 0) {
      result.reason = `no aurora target watches cluster "${cluster}"`;
      logger.warn('failover-watch', { ...result });
      return result;
    }

    result.action = 'sampled';
    const margin = d.safetyMarginMs ?? FAILOVER_WATCH_DEFAULTS.safetyMarginMs;
    // Two minutes, or what the function's timeout leaves after the margin (never less than a few seconds).
    result.deadlineMs = Math.min(
      d.deadlineMs ?? FAILOVER_WATCH_DEFAULTS.deadlineMs,
      Math.max(FAILOVER_WATCH_DEFAULTS.minDeadlineMs, context.getRemainingTimeInMillis() - margin),
    );
    const clock = d.clock ?? { now: () => new Date() };
    const eventAt = Date.parse(event.detail.Date ?? event.time);
    const loaded = await d.store.load(targets.map((t) => t.name));
    const retryDelayMs = d.retryDelayMs ?? FAILOVER_WATCH_DEFAULTS.retryDelayMs;

    result.targets = await Promise.all(
      targets.map(async (target): Promise<TargetOutcome> => {
        const previousWriter = loaded.get(target.name)?.aurora?.apiWriter;
        const sampler: SamplerDeps = {
          ...defaultSamplerDeps({
            host: target.host,
            ...(config.resolvers ? { resolvers: config.resolvers } : {}),
            engine: target.engine,
            port: target.port,
            writers: d.writers,
          }),
          ...d.sampler,
        };
        const t = await sampleFailover(
          {
            cluster: target.clusterIdentifier,
            host: target.host,
            eventAt: Number.isNaN(eventAt) ? sampler.clock.now() : eventAt,
            deadlineMs: result.deadlineMs!,
            ...(target.region !== undefined ? { region: target.region } : {}),
            ...(previousWriter !== undefined ? { previousWriter } : {}),
          },
          sampler,
        );
        const outcome: TargetOutcome = {
          target: target.name,
          summary: timelineSummary(t),
          settled: t.settled,
          notified: false,
          historySaved: false,
          ...(t.dnsLagMs !== undefined ? { dnsLagMs: Math.round(t.dnsLagMs) } : {}),
          ...(t.outage?.ms !== undefined ? { outageMs: Math.round(t.outage.ms) } : {}),
        };
        // Metrics first (cheap, and the alarm's input), then the notice, then history: publish before save.
        if (d.metrics) {
          try {
            await d.metrics.publishTimeline(target.name, t);
          } catch (err) {
            result.errors.push(`metrics ${target.name}: ${errorText(err)}`);
          }
        }
        const now = clock.now();
        const transition = failoverTransition(target, t, event, now);
        try {
          await withRetries(FAILOVER_WATCH_DEFAULTS.attempts, retryDelayMs, () => d.notifier.notify(transition));
          outcome.notified = true;
        } catch (err) {
          result.errors.push(`notice ${target.name}: ${errorText(err)}`);
        }
        // The writer state is only advanced when the notice went out: otherwise the next check's
        // writer-changed event is the notice on-call still gets.
        if (outcome.notified) {
          const record: ChangeRecord = {
            at: now.toISOString(),
            target: target.name,
            kind: transition.kind,
            summary: transition.summary,
            // The whole timeline: `ipdrift report` draws the failover from it.
            timeline: timelineDocument(t),
          };
          try {
            outcome.historySaved = await saveHistory(d.store, target.name, t, record, FAILOVER_WATCH_DEFAULTS.attempts);
            if (!outcome.historySaved) logger.warn('history not recorded: the monitor has not checked this target yet', { target: target.name });
          } catch (err) {
            result.errors.push(`history ${target.name}: ${errorText(err)}`);
          }
        }
        return outcome;
      }),
    );
    const log = { ...result, ...(context.awsRequestId ? { requestId: context.awsRequestId } : {}) };
    if (result.errors.length > 0) {
      logger.error('failover-watch', log);
      throw new FailoverWatchDeliveryError(result.errors);
    }
    logger.info('failover-watch', log);
    return result;
  };
}

const defaultLogger = (): EngineLogger => powertoolsLogger(FAILOVER_WATCH_DEFAULTS.serviceName);

/** The real adapters, from the environment (ENV). */
export function awsFailoverWatchDeps(env: NodeJS.ProcessEnv = process.env): FailoverWatchDeps {
  const bundleDir = bundleDirOf(import.meta.url);
  return {
    loadConfig: fileConfigLoader(env[ENV.configFile] ?? FAILOVER_WATCH_DEFAULTS.configFile, bundleDir),
    writers: new RdsWriterLookup(),
    store: new DynamoStore(documentClient, requiredEnv(env, ENV.table)),
    notifier: new SnsNotifier(snsClient, { onCall: requiredEnv(env, ENV.topicArn), events: requiredEnv(env, ENV.eventsTopicArn) }),
    metrics: new CloudWatchTimelineMetrics(cloudWatchClient),
    logger: defaultLogger(),
  };
}

/** The Lambda handler (EventBridge rule on RDS cluster events 0072/0073). */
export const handler = createFailoverWatchHandler(() => awsFailoverWatchDeps());
