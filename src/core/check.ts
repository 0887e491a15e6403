/**
 * One check of every target: load state, resolve, diff, probe (all concurrently, under one
 * deadline), assess, alert, publish metrics and notices, then save (publish before save: a crash
 * may repeat a notice, never lose one).
 */
import type { Resolver } from 'node:dns/promises';
import { setMaxListeners } from 'node:events';
import { performance } from 'node:perf_hooks';
import { evaluateAlerts, markDelivered, pages } from './alerts.ts';
import { LIMITS } from './constants.ts';
import type { Config, ElbTarget } from './config.ts';
import { currentOf, diffAddresses } from './diff.ts';
import type { InterfaceNews } from './interface-change.ts';
import { limiter, runPool } from './limit.ts';
import type { EngineLogger, FlowSource, MetricsSink, Notifier, ResolverLogSource, SessionCheck, Store, WriterLookup } from './ports.ts';
import { goneOf, retiredStateOf } from './assess.ts';
import { readFlowEvidence } from './flow-evidence.ts';
import { readResolverEvidence } from './resolver-evidence.ts';
import { readCacheCensus } from './cache-census.ts';
import type { CheckReport, TargetReport } from './report.ts';
import { createResolver } from './resolve.ts';
import { emptyState, isQuiet, saveWithRetry } from './save.ts';
import { loadStates } from './state.ts';
import { applyReleases } from './targets/elb.ts';
import { targetTypeOf } from './targets/registry.ts';
import type { CheckContext, Observed } from './targets/types.ts';
import { audienceOf } from './notice.ts';
import type { AddressRecord, AlertTransition, ChangeRecord, Clock, Finding, NoticeRecordKind, TargetState } from './types.ts';
import { errorMessage } from './error-text.ts';

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

/**
 * Attempts at saving one target when another writer saved first. Each conflict means another
 * check landed, so N checks at once need up to N attempts; the jitter keeps them from
 * colliding in step.
 */
const SAVE_ATTEMPTS = 16;
const SAVE_RETRY_JITTER_MS = 20;

/** Runs one check of every target in `config`. Never throws for a target's failure; throws for store errors on load. */
export async function runCheck(config: Config, deps: CheckDeps): Promise<CheckReport> {
  const t0 = performance.now();
  const startedAt = deps.clock.now();
  const errors: string[] = [];
  const deadline = AbortSignal.any([AbortSignal.timeout(deps.deadlineMs ?? config.deadlineMs), ...(deps.signal ? [deps.signal] : [])]);
  // Every probe listens on the deadline (a 500-address answer: 500 listeners, each removed when
  // its probe ends): not a leak, so no MaxListenersExceededWarning in the logs.
  setMaxListeners(0, deadline);
  const newResolver = deps.newResolver ?? (() => createResolver(config.resolvers ? { resolvers: config.resolvers } : {}));
  // Every lookup of this check goes through one bounded pool: names are resolved with at most
  // LIMITS.maxConcurrentLookups in flight, so 10,000 targets never exhaust our own sockets.
  const lookups = limiter(LIMITS.maxConcurrentLookups);

  // 1. State.
  const loaded = await loadStates(
    deps.store,
    config.targets.map((t) => t.name),
  );
  const observed = new Map<string, Observed>(
    config.targets.map((t) => {
      const previous = loaded.get(t.name) ?? emptyState(t.name);
      return [t.name, { target: t, previous, records: previous.addresses.map((a) => ({ ...a })), probes: new Map() }];
    }),
  );

  // 2-3. Resolve every name concurrently, then diff (a failed lookup changes no history).
  const ctx: CheckContext = {
    config,
    deadline,
    newResolver,
    resolver: newResolver(),
    lookups,
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

  // 4. Probe every current and retained retired address, and every web tier: all concurrently,
  // at most LIMITS.maxConcurrentProbes in flight, so each probe's timeout starts when it really starts.
  await runPool(
    [...observed.values()].flatMap((o) => targetTypeOf(o.target).probeJobs(o, ctx)),
    LIMITS.maxConcurrentProbes,
  );
  const flow = await flowRead;
  const resolver = await resolverRead;
  const census = await censusRead;

  // 5. Assess, alert.
  const now = deps.clock.now();
  const reports: TargetReport[] = [];
  const work: { o: Observed; state: TargetState; findings: Finding[]; transitions: AlertTransition[]; changes: ChangeRecord[]; completed: boolean }[] = [];
  // Cut by the deadline: a lookup, a probe or the web-tier GET was stopped; a web tier is judged
  // against its upstream's probes, so it is cut when its upstream is. A cut target's alerts stay as they were.
  const stopped = (o: Observed) =>
    o.resolutionCut === true || o.web?.error?.code === 'aborted' || [...o.probes.values()].some((p) => p.error?.code === 'aborted');
  const isCut = (o: Observed) => stopped(o) || (o.target.type === 'web-tier' && observed.has(o.target.upstream) && stopped(observed.get(o.target.upstream)!));
  for (const o of observed.values()) {
    const { findings, metrics, aurora } = targetTypeOf(o.target).assess(o, observed, now);
    if (aurora) o.aurora = aurora;
    // Cut (by the deadline, or by our own descriptor limit): its alerts stay as they were.
    const completed = !isCut(o);
    const state = nextState(o, now);
    let transitions: AlertTransition[] = [];
    if (completed) {
      const evaluated = evaluateAlerts(o.previous.alerts, findings, now, o.target);
      state.alerts = evaluated.alerts;
      transitions = evaluated.transitions;
    }
    const changes = changeRecords(o, findings, now);
    work.push({ o, state, findings, transitions, changes, completed });
    reports.push({
      target: o.target.name,
      type: o.target.type,
      ...(o.resolution ? { resolution: o.resolution } : {}),
      probes: [...o.probes.values()],
      ...(o.web ? { web: o.web } : {}),
      current: currentOf(o.records).map((r) => r.address),
      retired: o.records.filter((r) => r.retiredAt !== undefined).map((r) => r.address),
      ...(o.released ? { released: o.released } : {}),
      findings,
      metrics,
      completed,
    });
  }

  const findings = reports.flatMap((r) => r.findings);
  const transitions = work.flatMap((w) => w.transitions);
  const partial: CheckReport = {
    startedAt: startedAt.toISOString(),
    finishedAt: now.toISOString(),
    durationMs: Math.round(performance.now() - t0),
    targets: reports,
    findings,
    transitions,
    delivered: 0,
    undelivered: 0,
    unsaved: [],
    // Opened and paging (warning, critical): what on-call holds open once this check's notices are out.
    openPaging: work.flatMap((w) =>
      Object.values(w.state.alerts).flatMap((a) =>
        a.status === 'open' && pages(a.severity)
          ? [{ key: a.key, severity: a.severity, target: a.target, kind: a.kind, openedAt: a.openedAt, summary: a.summary }]
          : [],
      ),
    ),
    errors,
    ...(flow ? { flow } : {}),
    ...(resolver ? { resolver } : {}),
    ...(census ? { census } : {}),
  };

  // 6. Publish: metrics (a failure is logged, never stops alerts), then notices one by one, all
  // within the publish budget (a sink that hangs counts as failed; its notices go out next check).
  const publishBy = performance.now() + (deps.publishBudgetMs ?? LIMITS.publishBudgetMs);
  const inBudget = <T>(work: Promise<T>, what: string) => withTimeout(work, Math.max(0, publishBy - performance.now()), what);
  if (deps.metrics) {
    try {
      await inBudget(deps.metrics.publishMetrics(partial), 'metrics publish');
    } catch (err) {
      errors.push(`metrics: ${errorMessage(err)}`);
      deps.logger?.error('metrics publish failed', { error: errorMessage(err) });
    }
  }
  const delivered: AlertTransition[] = [];
  const failedKeys = new Set<string>();
  for (const t of transitions) {
    // Keep order per alert: never "resolved" after an undelivered "opened".
    if (failedKeys.has(t.key)) continue;
    try {
      // Spent budget: do not start a notice that would count as undelivered and be sent twice.
      if (performance.now() >= publishBy) throw new Error('publish budget spent before this notice; it is sent next check');
      await inBudget(deps.notifier.notify(t), `notice ${t.type} ${t.key}`);
      delivered.push(t);
    } catch (err) {
      failedKeys.add(t.key);
      errors.push(`notify ${t.key}: ${errorMessage(err)}`);
      deps.logger?.error('notification failed; it will be re-sent next check', { key: t.key, type: t.type, error: errorMessage(err) });
    }
  }
  partial.delivered = delivered.length;
  partial.undelivered = transitions.length - delivered.length;

  // 7. Save, with optimistic locking; on conflict re-read and re-apply on the fresh state.
  const deliveredAt = deps.clock.now();
  const saves = limiter(LIMITS.maxConcurrentSaves);
  await Promise.all(
    work.map((w) =>
      saves(async () => {
        const notices = noticeRecords(delivered, w.o.target.name, deliveredAt);
        const first = { state: applyDeliveries(w.state, delivered, deliveredAt), expected: w.o.previous.version, changes: [...w.changes, ...notices] };
        // Nothing material changed and the state is recent: no write (a check a minute of a quiet
        // system would otherwise write every target every minute).
        if (isQuiet(w.o.previous, first.state, first.changes, now)) {
          (partial.quiet ??= []).push(w.o.target.name);
          return;
        }
        // A conflict wrote nothing: re-apply this check, history included, on what the other writer saved.
        const redo = (fresh: TargetState) => ({
          ...reapply(w.o, fresh, observed, now, w.completed, delivered, deliveredAt, deps.interfaces),
          expected: fresh.version,
        });
        try {
          await saveWithRetry(deps.store, w.o.target.name, first, redo, {
            attempts: SAVE_ATTEMPTS,
            jitterMs: SAVE_RETRY_JITTER_MS,
            updatedAt: now.toISOString(),
          });
        } catch (err) {
          errors.push(`save ${w.o.target.name}: ${errorMessage(err)}`);
          partial.unsaved.push(w.o.target.name);
          deps.logger?.error('state save failed', { target: w.o.target.name, error: errorMessage(err) });
        }
      }),
    ),
  );
  partial.durationMs = Math.round(performance.now() - t0);
  partial.finishedAt = deps.clock.now().toISOString();
  return partial;
}

/** `work`, or a rejection once `ms` have passed (the work goes on unobserved; a late success only repeats a notice). */
function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within the publish budget (${ms} ms left)`)), ms);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

/** The target's next state (alerts filled in by the caller). */
function nextState(o: Observed, now: Date): TargetState {
  const at = now.toISOString();
  const addresses = o.records.map((r) => {
    const p = o.probes.get(r.address);
    if (!p || p.error?.code === 'aborted') return r;
    const rec: AddressRecord = { ...r, lastProbe: { at, ok: p.ok, latencyMs: p.latencyMs, ...(p.error ? { error: p.error.message } : {}) } };
    // Remember who a current address is, to notice a retired one answering as someone else.
    if (p.ok && r.retiredAt === undefined && p.identity) rec.identity = p.identity;
    // When a retired address went for its clients: flow records after it are clients that did not move.
    if (r.retiredAt !== undefined) {
      if (goneOf(retiredStateOf(r, p)) !== undefined) rec.goneSince ??= at;
      else delete rec.goneSince;
    }
    return rec;
  });
  const state: TargetState = { ...o.previous, addresses, alerts: o.previous.alerts };
  if (o.web?.server) state.webServer = o.web.server;
  if (o.web?.ok) state.latencies = [...(o.previous.latencies ?? []), o.web.latencyMs].slice(-LIMITS.latencySamples);
  if (o.aurora) state.aurora = o.aurora;
  if (o.flow) state.flow = o.flow;
  else delete state.flow;
  if (o.resolver) state.resolver = o.resolver;
  else delete state.resolver;
  if (o.census) state.census = o.census;
  else delete state.census;
  return state;
}

/**
 * Re-applies this check to a state another writer saved meanwhile: the diff, the assessment (an
 * open incident, the latencies, the writer are the fresh state's) and the alerts. A notice this
 * check delivered counts only if the fresh evaluation would send the same one; any other is
 * due again next check (a REMINDER for an alert the other writer already resolved never makes
 * it "announced").
 */
function reapply(
  o: Observed,
  fresh: TargetState,
  all: ReadonlyMap<string, Observed>,
  now: Date,
  completed: boolean,
  delivered: readonly AlertTransition[],
  deliveredAt: Date,
  interfaces: InterfaceNews | undefined,
): { state: TargetState; changes: ChangeRecord[] } {
  const { diff: _stale, aurora: _writer, released: _released, ...rest } = o;
  const redo: Observed = { ...rest, previous: fresh, records: fresh.addresses.map((a) => ({ ...a })) };
  if (o.resolution?.ok && o.target.type !== 'web-tier') {
    redo.diff = diffAddresses(fresh.addresses, o.resolution, now, o.target.retainRetiredMinutes);
    redo.records = redo.diff.addresses;
  }
  // This check read no flow logs: the other writer's read stands.
  if (!o.flow && fresh.flow) redo.flow = fresh.flow;
  if (!o.resolver && fresh.resolver) redo.resolver = fresh.resolver;
  if (!o.census && fresh.census) redo.census = fresh.census;
  // The other writer may have recorded the release already: then it is not news here.
  if (interfaces && redo.target.type === 'elb') applyReleases(redo as Observed<ElbTarget>, interfaces);
  const { findings, aurora } = targetTypeOf(redo.target).assess(redo, all, now);
  if (aurora) redo.aurora = aurora;
  let state = nextState(redo, now);
  let counted: AlertTransition[] = [];
  if (completed) {
    const evaluated = evaluateAlerts(fresh.alerts, findings, now, o.target);
    const due = new Set(evaluated.transitions.map((t) => `${t.type} ${t.key}`));
    counted = delivered.filter((t) => t.target === o.target.name && due.has(`${t.type} ${t.key}`));
    state = applyDeliveries({ ...state, alerts: evaluated.alerts }, counted, deliveredAt);
  }
  // The change records too, against the fresh state: dropping them lost this check's address changes from the history.
  return { state, changes: [...changeRecords(redo, findings, now), ...noticeRecords(counted, o.target.name, deliveredAt)] };
}

/**
 * History of what on-call and the events topic were told about this target: one record per
 * delivered transition. `ipdrift report` draws incidents and counts messages from these.
 */
function noticeRecords(delivered: readonly AlertTransition[], target: string, at: Date): ChangeRecord[] {
  return delivered
    .filter((t) => t.target === target)
    .map((t) => ({
      at: at.toISOString(),
      target,
      kind: `alert-${t.type}` as NoticeRecordKind,
      summary: t.summary,
      key: t.key,
      severity: t.severity,
      audience: audienceOf(t),
    }));
}

function applyDeliveries(state: TargetState, delivered: readonly AlertTransition[], at: Date): TargetState {
  let alerts = state.alerts;
  for (const t of delivered) if (t.target === state.target) alerts = markDelivered(alerts, t, at);
  return { ...state, alerts };
}

function changeRecords(o: Observed, findings: Finding[], now: Date): ChangeRecord[] {
  const at = now.toISOString();
  const out: ChangeRecord[] = [];
  if (o.diff && (o.diff.added.length || o.diff.retired.length)) {
    const first = o.previous.version === 0;
    out.push({
      at,
      target: o.target.name,
      kind: 'address-set-changed',
      summary: first ? `first seen: ${o.diff.added.join(', ')}` : (findings.find((f) => f.kind === 'address-set-changed')?.summary ?? 'addresses changed'),
      added: o.diff.added,
      removed: o.diff.retired,
    });
  }
  if (o.released) {
    const records = new Map(o.records.map((r) => [r.address, r]));
    for (const address of o.released) {
      const r = records.get(address)!;
      const where = r.retiredAt === undefined ? 'still listed by DNS' : `retired ${r.retiredAt}`;
      out.push({
        at,
        target: o.target.name,
        kind: 'address-released',
        summary: `${o.target.name}: ${address} released by the ELB at ${r.released!.at} (interface ${r.released!.interfaceId} deleted); ${where}`,
        removed: [address],
      });
    }
  }
  const alerts = o.previous.alerts;
  for (const f of findings) {
    if (f.kind === 'retired-address-dead') {
      // Address lifecycle is history, not a page: record when an address goes silent, once.
      const before = new Map(o.previous.addresses.map((r) => [r.address, r]));
      const newlyDead = ((f.evidence.addresses ?? []) as { address: string }[])
        .map((a) => a.address)
        .filter((a) => before.get(a)?.lastProbe?.ok !== false || before.get(a)?.retiredAt === undefined);
      if (newlyDead.length > 0)
        out.push({ at, target: f.target, kind: f.kind, summary: `${f.target}: retired ${newlyDead.join(', ')} stopped answering`, addresses: newlyDead });
      continue;
    }
    // A writer change is info, but exactly what `ipdrift history` is for.
    if ((f.severity === 'info' && f.kind !== 'writer-changed') || alerts[f.key]) continue;
    out.push({ at, target: f.target, kind: f.kind, summary: f.summary });
  }
  return out;
}
