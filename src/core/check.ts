/**
 * One check of every target, in phases (docs/architecture.md, "One check"): load state, observe
 * (resolve, diff, probe, all concurrently under one deadline: phases/observe.ts), assess
 * (phases/assess.ts), decide (alerts, next state: phases/decide.ts), publish metrics and notices
 * (phases/publish.ts), then save (phases/save.ts). Publish before save: a crash may repeat a
 * notice, never lose one.
 */
import type { Resolver } from 'node:dns/promises';
import { setMaxListeners } from 'node:events';
import { performance } from 'node:perf_hooks';
import { pages } from './alerts.ts';
import type { Config } from './config.ts';
import type { InterfaceNews } from './interface-change.ts';
import type { EngineLogger, FlowSource, MetricsSink, Notifier, ResolverLogSource, SessionCheck, Store, WriterLookup } from './ports.ts';
import type { CheckReport } from './report.ts';
import { createResolver } from './resolve.ts';
import { loadStates } from './state.ts';
import { ProblemLog } from './problems.ts';
import type { Clock } from './types.ts';
import { assessTargets } from './phases/assess.ts';
import { decide } from './phases/decide.ts';
import { observe } from './phases/observe.ts';
import { publish } from './phases/publish.ts';
import { saveAll } from './phases/save.ts';

/** What a check needs from the outside world. */
export interface CheckDeps {
  store: Store;
  notifier: Notifier;
  metrics?: MetricsSink;
  clock: Clock;
  logger?: EngineLogger;
  /** Whole-check deadline (ms); defaults to the config's `deadlineMs`. */
  deadlineMs?: number;
  /** Aborts the check from outside (Ctrl-C, Lambda shutdown). */
  signal?: AbortSignal;
  /** Time metrics and notices may take after the probes; defaults to LIMITS.publishBudgetMs. */
  publishBudgetMs?: number;
  /** Accept self-signed certificates (the lab); names are still checked. */
  insecureTls?: boolean;
  /** Resolver factory (tests); defaults to a fresh resolver on the config's resolvers. */
  newResolver?: () => Resolver;
  /** Aurora writer truth (RDS API, or the lab's). Absent: no writer-changed, no dns-lag. */
  writerLookup?: WriterLookup;
  /** Logs in through Aurora endpoints with a `login`. Absent: no endpoint-reaches-reader. */
  sessionCheck?: SessionCheck;
  /** Reads the config's `flowLogs`. Absent: no stale-client-seen. */
  flowSource?: FlowSource;
  /** Reads the config's `resolverLogs`. Absent: no resolver proof. */
  resolverSource?: ResolverLogSource;
  /** Addresses the ELBs released or took (their interface calls, from CloudTrail via the Lambda entry). */
  interfaces?: InterfaceNews;
}

/** Runs one check of every target in `config`. Never throws for a target's failure; throws for store errors on load. */
export async function runCheck(config: Config, deps: CheckDeps): Promise<CheckReport> {
  const t0 = performance.now();
  const startedAt = deps.clock.now();
  const errors = new ProblemLog();
  const deadline = AbortSignal.any([AbortSignal.timeout(deps.deadlineMs ?? config.deadlineMs), ...(deps.signal ? [deps.signal] : [])]);
  // Every probe listens on the deadline (a 500-address answer: 500 listeners, each removed when
  // its probe ends): not a leak, so no MaxListenersExceededWarning in the logs.
  setMaxListeners(0, deadline);
  const newResolver = deps.newResolver ?? (() => createResolver(config.resolvers ? { resolvers: config.resolvers } : {}));

  // 0. State, checked and in today's shape (a damaged one stops the check here).
  const loaded = await loadStates(
    deps.store,
    config.targets.map((t) => t.name),
  );
  // 1. Observe: resolve, diff, read the evidence, probe.
  const { observed, flow, resolver, census } = await observe(config, deps, loaded, { startedAt, deadline, newResolver }, errors);
  // 2. Assess; 3. decide (alerts, next state, history).
  const now = deps.clock.now();
  const decided = decide(assessTargets(observed, now), now);

  const reports = decided.map((d) => d.report);
  const report: CheckReport = {
    startedAt: startedAt.toISOString(),
    finishedAt: now.toISOString(),
    durationMs: Math.round(performance.now() - t0),
    targets: reports,
    findings: reports.flatMap((r) => r.findings),
    transitions: decided.flatMap((d) => d.transitions),
    delivered: 0,
    undelivered: 0,
    unsaved: [],
    // Opened and paging (warning, critical): what on-call holds open once this check's notices are out.
    openPaging: decided.flatMap((d) =>
      Object.values(d.state.alerts).flatMap((a) =>
        a.status === 'open' && pages(a.severity)
          ? [{ key: a.key, severity: a.severity, target: a.target, kind: a.kind, openedAt: a.openedAt, summary: a.summary }]
          : [],
      ),
    ),
    errors: errors.lines,
    problems: errors.problems,
    ...(flow ? { flow } : {}),
    ...(resolver ? { resolver } : {}),
    ...(census ? { census } : {}),
  };

  // 4. Publish: metrics, then the notices, within the publish budget.
  const delivered = await publish(report, deps, errors);
  report.delivered = delivered.length;
  report.undelivered = report.transitions.length - delivered.length;

  // 5. Save, with optimistic locking; on conflict re-read and re-apply on the fresh state.
  await saveAll(decided, observed, { delivered, at: deps.clock.now() }, now, deps, report, errors);
  report.durationMs = Math.round(performance.now() - t0);
  report.finishedAt = deps.clock.now().toISOString();
  return report;
}
