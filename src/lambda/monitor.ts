/**
 * Lambda entry for the EventBridge schedule: one check of every target per invocation.
 *
 * Errors mean "the monitor is broken": a configuration problem, the store unreachable, or a
 * notice SNS would not take. A target being down is a finding, never an error. Every
 * invocation logs one structured JSON line with the check's figures, also when it throws.
 */
import { performance } from 'node:perf_hooks';
import type { Context } from 'aws-lambda';
import { runCheck } from '../core/check.ts';
import type { CheckDeps } from '../core/check.ts';
import { ConfigError } from '../core/config.ts';
import type { Config } from '../core/config.ts';
import type { EngineLogger, FlowSource, MetricsSink, Notifier, ResolverLogSource, Store } from '../core/ports.ts';
import { LogsInsightsFlowSource } from '../adapters/aws/flow-insights.ts';
import { LogsInsightsResolverSource } from '../adapters/aws/resolver-insights.ts';
import { VersionConflictError } from '../core/ports.ts';
import type { CheckReport } from '../core/report.ts';
import { interfaceChangeOf } from '../core/interface-change.ts';
import type { InterfaceNews } from '../core/interface-change.ts';
import { withMetricSet } from '../core/metric-sets.ts';
import type { ChangeRecord, Clock, TargetState } from '../core/types.ts';
import { CloudWatchSink } from '../adapters/aws/cloudwatch-sink.ts';
import { fileConfigLoader } from '../adapters/aws/config-source.ts';
import type { ConfigLoader } from '../adapters/aws/config-source.ts';
import { DynamoStore } from '../adapters/aws/dynamo-store.ts';
import { DynamoInterfaceLedger } from '../adapters/aws/interface-ledger.ts';
import type { InterfaceLedger } from '../adapters/aws/interface-ledger.ts';
import { RdsWriterLookup } from '../adapters/aws/rds-writer.ts';
import { secretCredentials } from '../adapters/aws/secret-credentials.ts';
import { DriverSessionCheck } from '../adapters/db/session-check.ts';
import { cloudWatchClient, documentClient, powertoolsLogger, snsClient } from '../adapters/aws/runtime.ts';
import { SnsNotifier } from '../adapters/aws/sns-notifier.ts';
import { BUNDLED_CONFIG_FILE, ENV } from '../contract.ts';
import { SetupError, bundleDirOf, errorText, requiredEnv } from './setup.ts';
import { IpdriftError } from '../core/errors.ts';

export { SetupError };

/** Defaults of the handler. */
export const MONITOR_DEFAULTS = {
  configFile: BUNDLED_CONFIG_FILE,
  /** Time kept back from the Lambda's remaining time for publishing and saving after the probes. */
  safetyMarginMs: 5_000,
  /** The probes always get at least this long, however little time is left. */
  minDeadlineMs: 1_000,
  serviceName: 'ipdrift',
} as const;

/** The store could not save some targets (not a version conflict): their next check repeats work. */
export class StoreFailureError extends IpdriftError {
  override readonly name = 'StoreFailureError';
  readonly code = 'store-failure';
  constructor(
    readonly targets: string[],
    options?: { cause?: unknown },
  ) {
    super(`state of ${targets.length} target(s) not saved: ${targets.join(', ')}`, options);
  }
}

/** Some notices were not accepted; they go out again on the next check. */
export class DeliveryFailureError extends IpdriftError {
  override readonly name = 'DeliveryFailureError';
  readonly code = 'delivery-failure';
  constructor(
    readonly undelivered: number,
    readonly transitions: number,
  ) {
    super(`${undelivered} of ${transitions} notice(s) not delivered; they are re-sent on the next check`);
  }
}

/** The check could not run (configuration, or the store unreadable). */
export class CheckFailedError extends IpdriftError {
  override readonly name = 'CheckFailedError';
  readonly code = 'check-failed';
  constructor(
    readonly stage: 'config' | 'check',
    options?: { cause?: unknown },
  ) {
    const why = options?.cause instanceof Error ? options.cause.message : String(options?.cause);
    super(`${stage === 'config' ? 'configuration could not be loaded' : 'the check could not run'}: ${why}`, options);
  }
}

/** What the handler needs; tests and the bundle test inject local adapters. */
export interface MonitorDeps {
  store: Store;
  notifier: Notifier;
  metrics?: MetricsSink;
  loadConfig: ConfigLoader;
  clock?: Clock;
  logger?: EngineLogger;
  safetyMarginMs?: number;
  /** Passed to the engine as is (tests: a resolver factory, lab certificates; fan-out: the scheduler's interface news). */
  check?: Pick<CheckDeps, 'insecureTls' | 'newResolver' | 'signal' | 'writerLookup' | 'sessionCheck' | 'interfaces' | 'flowSource' | 'resolverSource'>;
  /** Builds the flow source for the config's `flowLogs` (default: Logs Insights on its log group). */
  flowSourceFor?: (logGroup: string) => FlowSource;
  /** Builds the resolver source for the config's `resolverLogs` (default: Logs Insights on its log group). */
  resolverSourceFor?: (logGroup: string) => ResolverLogSource;
  /** Remembers the ELBs' interfaces, for an event that says one was created or deleted. */
  ledger?: InterfaceLedger;
}

/** The part of the Lambda context the handler uses. */
export type MonitorContext = Pick<Context, 'getRemainingTimeInMillis'> & Partial<Pick<Context, 'awsRequestId'>>;

/** The figures of one invocation: the log line, and the handler's return value. */
export interface CheckSummary {
  ok: boolean;
  requestId?: string;
  /** What started this check: the schedule, or an ELB network-interface change (CloudTrail), with its call. */
  trigger?: string;
  /** Addresses this check recorded as released by their ELB (their interface was deleted). */
  released?: string[];
  /** The flow log read, when one ran: lines, records matched, clients, bytes Logs Insights scanned. */
  flow?: CheckReport['flow'];
  /** The resolver query log reads, when any ran: reads, hosts found, bytes Logs Insights scanned. */
  resolver?: CheckReport['resolver'];
  /** The cache census, when one ran: ELBs counted, hosts found caching. */
  census?: CheckReport['census'];
  startedAt?: string;
  targets: number;
  targetsCompleted: number;
  findings: number;
  findingsByKind: Record<string, number>;
  findingsBySeverity: Record<string, number>;
  transitions: number;
  transitionsByType: Record<string, number>;
  delivered: number;
  undelivered: number;
  /** Targets whose state could not be saved (not conflicts). */
  saveFailures: number;
  errors: string[];
  deadlineMs: number;
  remainingMsAtStart: number;
  configMs: number;
  checkMs: number;
  totalMs: number;
}

/**
 * `elb-network-interface CreateNetworkInterface eni-...` for the CloudTrail event of an ELB's
 * interface change (the stack's optional rule); undefined for the schedule and anything else.
 * Every trigger runs the same full check: the event only says when, not what changed.
 */
export function triggerOf(event: unknown): string | undefined {
  const e = event as {
    'detail-type'?: unknown;
    detail?: {
      eventName?: unknown;
      requestParameters?: { networkInterfaceId?: unknown } | null;
      responseElements?: { networkInterface?: { networkInterfaceId?: unknown } } | null;
    };
  } | null;
  if (e?.['detail-type'] !== 'AWS API Call via CloudTrail' || typeof e.detail?.eventName !== 'string') return undefined;
  const eni = e.detail.requestParameters?.networkInterfaceId ?? e.detail.responseElements?.networkInterface?.networkInterfaceId;
  return `elb-network-interface ${e.detail.eventName}${typeof eni === 'string' ? ` ${eni}` : ''}`;
}

/**
 * What the check applies of the ELBs' interface calls: the event's own change, recorded in the
 * ledger first, or what the fan-out's scheduler recorded. A ledger failure is logged and the
 * check runs without it (the probes still tell dead from alive).
 */
async function interfaceNews(event: unknown, d: MonitorDeps, logger: EngineLogger, summary: CheckSummary): Promise<InterfaceNews | undefined> {
  const change = interfaceChangeOf(event);
  let news = d.check?.interfaces;
  if (change && d.ledger) {
    try {
      news = await d.ledger.record(change);
    } catch (err) {
      summary.errors.push(`interfaces: ${errorText(err)}`);
      logger.error('interface change not recorded; the check runs without it', { call: change.call, interfaceId: change.interfaceId, error: errorText(err) });
      return undefined;
    }
  }
  return news;
}

/** Passes calls through and remembers saves that failed for a reason other than a conflict. */
class WatchedStore implements Store {
  readonly failures: { target: string; error: unknown }[] = [];
  constructor(private readonly inner: Store) {}
  load(targets: readonly string[]): Promise<Map<string, TargetState | undefined>> {
    return this.inner.load(targets);
  }
  async save(state: TargetState, expectedVersion: number, changes: readonly ChangeRecord[]): Promise<void> {
    try {
      await this.inner.save(state, expectedVersion, changes);
    } catch (err) {
      if (!(err instanceof VersionConflictError)) this.failures.push({ target: state.target, error: err });
      throw err;
    }
  }
}

const countBy = <T>(items: readonly T[], key: (t: T) => string) => {
  const out: Record<string, number> = {};
  for (const i of items) out[key(i)] = (out[key(i)] ?? 0) + 1;
  return out;
};

/** A summary with every count at zero (a check that has not run, or a skipped one). */
export function emptySummary(remainingMsAtStart: number): CheckSummary {
  return {
    ok: false,
    targets: 0,
    targetsCompleted: 0,
    findings: 0,
    findingsByKind: {},
    findingsBySeverity: {},
    transitions: 0,
    transitionsByType: {},
    delivered: 0,
    undelivered: 0,
    saveFailures: 0,
    errors: [],
    deadlineMs: 0,
    remainingMsAtStart,
    configMs: 0,
    checkMs: 0,
    totalMs: 0,
  };
}

/**
 * Builds the handler around `deps`. Pass a function to build them on first use: a missing
 * variable is then an invocation error (logged, counted), not an import error.
 * `options.logger` logs what happens before `deps` exist (default: Powertools).
 */
export function createHandler(deps: MonitorDeps | (() => MonitorDeps), options: { logger?: EngineLogger } = {}) {
  let resolved: MonitorDeps | undefined;
  return async function handler(event: unknown, context: MonitorContext): Promise<CheckSummary> {
    const t0 = performance.now();
    const remainingMsAtStart = context.getRemainingTimeInMillis();
    const trigger = triggerOf(event);
    const summary: CheckSummary = {
      ...emptySummary(remainingMsAtStart),
      ...(context.awsRequestId ? { requestId: context.awsRequestId } : {}),
      ...(trigger ? { trigger } : {}),
    };
    let logger: EngineLogger = options.logger ?? (typeof deps === 'function' ? defaultLogger() : (deps.logger ?? defaultLogger()));
    const finish = (level: 'info' | 'error') => {
      summary.totalMs = Math.round(performance.now() - t0);
      logger[level]('check', { ...summary });
    };

    let d: MonitorDeps;
    let config: Config;
    try {
      d = resolved ??= typeof deps === 'function' ? deps() : deps;
      logger = d.logger ?? logger;
      const c0 = performance.now();
      config = await d.loadConfig();
      summary.configMs = Math.round(performance.now() - c0);
      // `notify` is the CLI's (README, "Notifications from the CLI"): here the notices go to the stack's SNS topics.
      if (config.notify?.length) logger.warn('the config\'s "notify" sinks are for check and watch; this function notifies through its SNS topics only');
    } catch (err) {
      summary.errors.push(`config: ${errorText(err)}`);
      finish('error');
      throw err instanceof ConfigError || err instanceof SetupError ? err : new CheckFailedError('config', { cause: err });
    }

    const interfaces = await interfaceNews(event, d, logger, summary);
    // The deadline counts what the config and the ledger already took.
    const margin = d.safetyMarginMs ?? MONITOR_DEFAULTS.safetyMarginMs;
    summary.deadlineMs = Math.max(MONITOR_DEFAULTS.minDeadlineMs, remainingMsAtStart - margin - Math.round(performance.now() - t0));
    const store = new WatchedStore(d.store);
    let report: CheckReport;
    const k0 = performance.now();
    try {
      const flowLogs = config.flowLogs;
      const flowSource = flowLogs?.source === 'cloudwatch' ? (d.flowSourceFor ?? ((g: string) => new LogsInsightsFlowSource(g)))(flowLogs.logGroup) : undefined;
      const resolverLogs = config.resolverLogs;
      const resolverSource =
        resolverLogs?.source === 'cloudwatch' ? (d.resolverSourceFor ?? ((g: string) => new LogsInsightsResolverSource(g)))(resolverLogs.logGroup) : undefined;
      report = await runCheck(config, {
        ...d.check,
        ...(flowSource ? { flowSource } : {}),
        ...(resolverSource ? { resolverSource } : {}),
        store,
        notifier: d.notifier,
        // Only the config's metric set reaches CloudWatch (core/metric-sets.ts): each series is billed.
        ...(d.metrics ? { metrics: withMetricSet(d.metrics, config.metrics) } : {}),
        clock: d.clock ?? { now: () => new Date() },
        logger,
        deadlineMs: summary.deadlineMs,
        ...(interfaces ? { interfaces } : {}),
      });
    } catch (err) {
      summary.checkMs = Math.round(performance.now() - k0);
      summary.errors.push(`check: ${errorText(err)}`);
      finish('error');
      throw new CheckFailedError('check', { cause: err });
    }
    summary.checkMs = Math.round(performance.now() - k0);
    Object.assign(summary, {
      startedAt: report.startedAt,
      targets: report.targets.length,
      targetsCompleted: report.targets.filter((t) => t.completed).length,
      findings: report.findings.length,
      findingsByKind: countBy(report.findings, (f) => f.kind),
      findingsBySeverity: countBy(report.findings, (f) => f.severity),
      transitions: report.transitions.length,
      transitionsByType: countBy(report.transitions, (t) => t.type),
      delivered: report.delivered,
      undelivered: report.undelivered,
      saveFailures: store.failures.length,
      errors: [...summary.errors, ...report.errors],
    });
    if (report.flow) summary.flow = report.flow;
    if (report.resolver) summary.resolver = report.resolver;
    if (report.census) summary.census = report.census;
    const released = report.targets.flatMap((t) => t.released ?? []);
    if (released.length > 0) summary.released = released;
    summary.ok = store.failures.length === 0 && report.undelivered === 0;
    finish(summary.ok ? 'info' : 'error');
    if (store.failures.length > 0)
      throw new StoreFailureError(
        store.failures.map((f) => f.target),
        { cause: store.failures[0]!.error },
      );
    if (report.undelivered > 0) throw new DeliveryFailureError(report.undelivered, report.transitions.length);
    return summary;
  };
}

const defaultLogger = (): EngineLogger => powertoolsLogger(MONITOR_DEFAULTS.serviceName);

/** The real adapters, from the environment (ENV). */
export function awsDeps(env: NodeJS.ProcessEnv = process.env): MonitorDeps {
  const bundleDir = bundleDirOf(import.meta.url);
  const table = requiredEnv(env, ENV.table);
  return {
    store: new DynamoStore(documentClient, table),
    ledger: new DynamoInterfaceLedger(documentClient, table),
    notifier: new SnsNotifier(snsClient, { onCall: requiredEnv(env, ENV.topicArn), events: requiredEnv(env, ENV.eventsTopicArn) }),
    metrics: new CloudWatchSink(cloudWatchClient),
    loadConfig: fileConfigLoader(env[ENV.configFile] ?? MONITOR_DEFAULTS.configFile, bundleDir),
    logger: defaultLogger(),
    // Aurora writer truth; only called for aurora targets (IAM grants it only then). The session
    // check only for aurora targets with a login (IAM grants their secrets only).
    check: { writerLookup: new RdsWriterLookup(), sessionCheck: new DriverSessionCheck(secretCredentials()) },
  };
}

/** The Lambda handler (EventBridge schedule). */
export const handler = createHandler(() => awsDeps());
