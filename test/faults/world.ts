/**
 * The world of the property and soak tests: a lab DNS server, a pool of ELB-like nodes on one
 * port, two ELB targets and a web tier, and the faults one check can meet (DNS faults, address
 * moves, nodes refusing or stalling, a notifier and a metrics sink that fail). A `Ledger`
 * follows a sequence of checks and reports every broken invariant, with the figures to quote.
 */
import { performance } from 'node:perf_hooks';
import { runCheck } from '../../src/core/check.ts';
import { isSaveError } from '../../src/cli/commands/check.ts';
import type { Config } from '../../src/core/config.ts';
import type { CheckReport } from '../../src/core/report.ts';
import type { ResolutionErrorCode, TargetState } from '../../src/core/types.ts';
import { MemoryStore } from '../../src/adapters/local/memory-store.ts';
import { LabDnsServer } from '../../lab/dns-server.ts';
import type { DnsFault } from '../../lab/dns-server.ts';
import { LabNode } from '../../lab/nodes.ts';
import type { NodeMode } from '../../lab/nodes.ts';
import {
  DEADLINE_GRACE_MS,
  FlakyMetrics,
  ManualClock,
  MS_PER_MINUTE,
  RecordingNotifier,
  type Rng,
  alertViolations,
  config,
  currentAddresses,
  knownAddresses,
  labResolvers,
  loopbackAddress,
  mulberry32,
  stateViolations,
} from './harness.ts';

/** What the DNS server does for one target's name during one check. */
export const DNS_STEP_FAULTS = ['none', 'truncate', 'servfail', 'refused', 'timeout', 'nodata', 'nxdomain'] as const;
export type DnsStepFault = (typeof DNS_STEP_FAULTS)[number];

/** Faults that make the lookup fail, with the code the check must report. */
export const HARD_DNS_FAULTS: Readonly<Partial<Record<DnsStepFault, ResolutionErrorCode>>> = {
  servfail: 'servfail',
  refused: 'refused',
  timeout: 'timeout',
  nodata: 'nodata',
  nxdomain: 'nxdomain',
};

/** How the notifier behaves during one check. */
export type NotifierMood = 'ok' | 'flaky' | 'down';

/** Share of notices a flaky notifier drops. */
export const FLAKY_NOTIFIER_FAILURE_RATE = 0.3;

/** Everything injected for one check. `null` means "leave as it was". */
export interface Step {
  dns: Record<string, DnsStepFault>;
  /** A target's new DNS answer. */
  moves: Record<string, string[] | null>;
  /** A node's new mode, by address. */
  modes: Record<string, NodeMode | null>;
  notifier: NotifierMood;
  metricsFail: boolean;
  /** Seeds the flaky notifier's choices in this step. */
  seed: number;
}

/** Shape and timing of a world. */
export interface WorldOptions {
  block: number;
  probeTimeoutMs: number;
  dnsTimeoutMs: number;
  deadlineMs: number;
}

/** ELB targets and their address pools (host numbers in the world's /24). */
const ELB_POOLS = { alpha: [11, 12, 13, 14], beta: [21, 22, 23, 24] } as const;
/** The web tier's own node. */
const WEB_NODE = 31;
const DNS_NODE = 1;
/** Retired addresses kept 30 days (the maximum): a soak never outlives it, so nothing may vanish. */
const RETAIN_MINUTES = 43_200;
/** Addresses a fresh (reset) answer holds. */
const INITIAL_ANSWER_SIZE = 2;
/** A DNS answer after a move holds 1 to this many addresses. */
export const MAX_ANSWER_SIZE = 3;
/** Simulated time between checks (the EventBridge rate). */
export const CHECK_INTERVAL_MS = MS_PER_MINUTE;

/** The running world. */
export class FaultWorld {
  readonly answers = new Map<string, string[]>();
  private constructor(
    readonly opts: WorldOptions,
    readonly dns: LabDnsServer,
    readonly nodes: Map<string, LabNode>,
    readonly config: Config,
    readonly pools: ReadonlyMap<string, readonly string[]>,
  ) {}

  /** Starts DNS and every node (serving) on loopback. */
  static async start(opts: WorldOptions): Promise<FaultWorld> {
    const a = (n: number) => loopbackAddress(opts.block, n);
    const dns = await LabDnsServer.start({ host: a(DNS_NODE) });
    const hosts = [...Object.values(ELB_POOLS).flat(), WEB_NODE].map(a);
    const first = await LabNode.start({ host: hosts[0]! });
    const nodes = new Map<string, LabNode>([[first.host, first]]);
    for (const host of hosts.slice(1)) nodes.set(host, await LabNode.start({ host, port: first.port }));
    const pools = new Map(Object.entries(ELB_POOLS).map(([name, hs]) => [name, hs.map(a)] as const));
    const common = { timeoutMs: opts.probeTimeoutMs, retainRetiredMinutes: RETAIN_MINUTES, renotifyMinutes: 60, resolveAfterChecks: 2 };
    const cfg = config({
      deadlineMs: opts.deadlineMs,
      targets: [
        ...[...pools.keys()].map((name) => ({
          name,
          type: 'elb' as const,
          host: FaultWorld.host(name),
          port: first.port,
          probe: { protocol: 'http' as const, path: '/health' },
          ...common,
        })),
        { name: 'front', type: 'web-tier' as const, url: `http://${a(WEB_NODE)}:${first.port}/health`, upstream: 'alpha', ...common },
      ],
    });
    const world = new FaultWorld(opts, dns, nodes, cfg, pools);
    await world.reset();
    return world;
  }

  /** The DNS name of an ELB target. */
  static host(target: string): string {
    return `${target}.soak.elb.test`;
  }

  /** ELB target names. */
  get elbTargets(): string[] {
    return [...this.pools.keys()];
  }

  /** Every node serving, every name answering its first addresses, no fault. */
  async reset(): Promise<void> {
    await Promise.all([...this.nodes.values()].map((n) => (n.mode === 'serve' ? undefined : n.setMode('serve'))));
    for (const [name, pool] of this.pools) {
      this.answers.set(name, pool.slice(0, INITIAL_ANSWER_SIZE));
      this.dns.setFault(FaultWorld.host(name), undefined);
      this.dns.setA(FaultWorld.host(name), this.answers.get(name)!);
    }
  }

  /** Applies a step's DNS faults, moves and node modes. */
  async apply(step: Step): Promise<void> {
    await Promise.all(
      Object.entries(step.modes).map(([address, mode]) => {
        const node = this.nodes.get(address);
        return mode && node && node.mode !== mode ? node.setMode(mode) : undefined;
      }),
    );
    for (const target of this.elbTargets) {
      const move = step.moves[target];
      if (move) this.answers.set(target, move);
      const name = FaultWorld.host(target);
      const fault = step.dns[target] ?? 'none';
      this.dns.setFault(name, undefined);
      if (fault === 'nodata') this.dns.setA(name, []);
      else if (fault === 'nxdomain') this.dns.remove(name);
      else {
        this.dns.setA(name, this.answers.get(target)!);
        if (fault !== 'none') this.dns.setFault(name, fault satisfies DnsFault);
      }
    }
  }

  /** A step with no fault at all (recovery). */
  healthyStep(): Step {
    return {
      dns: Object.fromEntries(this.elbTargets.map((t) => [t, 'none'])),
      moves: Object.fromEntries(this.elbTargets.map((t) => [t, null])),
      modes: Object.fromEntries([...this.nodes.keys()].map((a) => [a, 'serve'])),
      notifier: 'ok',
      metricsFail: false,
      seed: 0,
    };
  }

  /** Stops every node and the DNS server. */
  async stop(): Promise<void> {
    await Promise.all([...this.nodes.values()].map((n) => n.stop()));
    await this.dns.stop();
  }
}

/** Weights of the seeded soak's random steps. */
export const SOAK_WEIGHTS = {
  dns: { none: 75, truncate: 5, servfail: 5, refused: 4, timeout: 3, nodata: 4, nxdomain: 4 } satisfies Record<DnsStepFault, number>,
  /** Chance a target's answer moves in a check. */
  move: 0.1,
  /** Chance a node changes mode in a check, then which mode. */
  modeChange: 0.1,
  mode: { serve: 77, refuse: 22, swallow: 1 } satisfies Record<NodeMode, number>,
  notifier: { ok: 60, flaky: 30, down: 10 } satisfies Record<NotifierMood, number>,
  metricsFail: 0.2,
} as const;

/** A random step from a seeded PRNG (the soak). */
export function randomStep(rng: Rng, world: FaultWorld): Step {
  return {
    dns: Object.fromEntries(world.elbTargets.map((t) => [t, rng.weighted(SOAK_WEIGHTS.dns)])),
    moves: Object.fromEntries(world.elbTargets.map((t) => [t, rng.chance(SOAK_WEIGHTS.move) ? rng.subset(world.pools.get(t)!, 1, MAX_ANSWER_SIZE) : null])),
    modes: Object.fromEntries([...world.nodes.keys()].map((a) => [a, rng.chance(SOAK_WEIGHTS.modeChange) ? rng.weighted(SOAK_WEIGHTS.mode) : null])),
    notifier: rng.weighted(SOAK_WEIGHTS.notifier),
    metricsFail: rng.chance(SOAK_WEIGHTS.metricsFail),
    seed: rng.int(0, 0x7fffffff),
  };
}

/** Figures of a run, for the report. */
export interface LedgerFigures {
  checks: number;
  faults: { dns: number; addressMoves: number; nodeFaultChecks: number; notifierFailures: number; metricsFailures: number; total: number };
  /** Lookups that failed without an injected fault (a loaded machine missing a 100 ms DNS timeout). */
  spuriousLookupFailures: number;
  alerts: { opened: number; delivered: number; lost: number };
  events: { emitted: number; delivered: number; lost: number };
  notices: Record<string, number>;
  maxCheckMs: number;
}

/**
 * Runs checks against a world and checks the invariants after each: bounded duration, failed
 * lookups typed and history untouched, alert ordering, no history lost, state shape, exactly one
 * "opened" per alert. `violations` collects what broke (empty when all held).
 */
export class Ledger {
  readonly store = new MemoryStore();
  readonly clock = new ManualClock();
  readonly violations: string[] = [];
  #mood: NotifierMood = 'ok';
  #decide: () => number = mulberry32(0);
  #metricsFail = false;
  readonly notifier = new RecordingNotifier(() => this.#mood === 'down' || (this.#mood === 'flaky' && this.#decide() < FLAKY_NOTIFIER_FAILURE_RATE));
  readonly metrics = new FlakyMetrics(() => this.#metricsFail);
  /** Every address seen in a successful, saved answer, by target. */
  readonly #everSeen = new Map<string, Set<string>>();
  /** Alert lifecycles (`key|openedAt`) the checks opened, and events they emitted. */
  readonly #opened = new Set<string>();
  readonly #events = new Set<string>();
  readonly #faults = { dns: 0, addressMoves: 0, nodeFaultChecks: 0 };
  #spurious = 0;
  #checks = 0;
  #maxCheckMs = 0;

  constructor(readonly world: FaultWorld) {}

  /** Applies `step`, runs one check and checks every invariant; returns the report. */
  async step(step: Step, label: string): Promise<CheckReport> {
    const { world } = this;
    await world.apply(step);
    this.#mood = step.notifier;
    this.#decide = mulberry32(step.seed);
    this.#metricsFail = step.metricsFail;
    for (const t of world.elbTargets) {
      if ((step.dns[t] ?? 'none') !== 'none') this.#faults.dns++;
      if (step.moves[t]) this.#faults.addressMoves++;
    }
    this.#faults.nodeFaultChecks += [...world.nodes.values()].filter((n) => n.mode !== 'serve').length;
    const previous = new Map([...this.store.states].map(([k, v]) => [k, structuredClone(v)]));

    this.clock.advance(CHECK_INTERVAL_MS);
    const t0 = performance.now();
    const report = await runCheck(world.config, {
      store: this.store,
      notifier: this.notifier,
      metrics: this.metrics,
      clock: this.clock,
      newResolver: labResolvers(world.dns.address, world.opts.dnsTimeoutMs),
    });
    const elapsed = performance.now() - t0;
    this.#checks++;
    this.#maxCheckMs = Math.max(this.#maxCheckMs, elapsed);
    this.#verify(step, report, previous, elapsed, label);
    return report;
  }

  #fail(label: string, what: string): void {
    this.violations.push(`${label}: ${what}`);
  }

  #verify(step: Step, report: CheckReport, previous: Map<string, TargetState>, elapsedMs: number, label: string): void {
    const { world } = this;
    if (elapsedMs > world.opts.deadlineMs + DEADLINE_GRACE_MS)
      this.#fail(label, `check took ${Math.round(elapsedMs)} ms (deadline ${world.opts.deadlineMs} ms)`);
    const saveErrors = report.problems.filter(isSaveError).map((p) => p.message);
    if (saveErrors.length) this.#fail(label, `save failed: ${saveErrors.join('; ')}`);
    for (const t of report.transitions) {
      if (t.type === 'opened') this.#opened.add(`${t.key}|${t.openedAt}`);
      if (t.type === 'event') this.#events.add(`${t.key}|${t.openedAt}`);
    }
    for (const target of world.elbTargets) {
      const tr = report.targets.find((r) => r.target === target);
      const state = this.store.states.get(target);
      if (!tr || !state) {
        this.#fail(label, `${target}: no report or no state`);
        continue;
      }
      // One write per check, unless nothing material changed (then none: core/save.ts isQuiet).
      const wrote = report.quiet?.includes(target) ? 0 : 1;
      if (state.version !== (previous.get(target)?.version ?? 0) + wrote)
        this.#fail(label, `${target}: version ${state.version} after ${previous.get(target)?.version ?? 0}${wrote ? '' : ' (a quiet check)'}`);
      const expected = HARD_DNS_FAULTS[step.dns[target] ?? 'none'];
      if (expected) {
        // A failed lookup: typed, reported, and the history exactly as it was (never an empty set).
        if (tr.resolution?.ok !== false) this.#fail(label, `${target}: ${step.dns[target]} injected but the lookup succeeded`);
        else if (tr.resolution.code !== expected && tr.resolution.code !== 'timeout')
          this.#fail(label, `${target}: ${step.dns[target]} injected, code ${tr.resolution.code}`);
        if (!report.findings.some((f) => f.target === target && f.kind === 'resolution-failed')) this.#fail(label, `${target}: no resolution-failed finding`);
        if (currentAddresses(state).join() !== currentAddresses(previous.get(target)).join())
          this.#fail(label, `${target}: current addresses changed by a failed lookup`);
      } else if (tr.resolution?.ok) {
        const seen = this.#everSeen.get(target) ?? new Set<string>();
        for (const a of tr.resolution.addresses) seen.add(a.address);
        this.#everSeen.set(target, seen);
        const answer = world.answers.get(target)!;
        if (
          tr.resolution.addresses
            .map((a) => a.address)
            .sort()
            .join() !== [...answer].sort().join()
        )
          this.#fail(label, `${target}: resolved ${tr.resolution.addresses.map((a) => a.address)} but DNS serves ${answer}`);
      } else {
        this.#spurious++;
      }
      // No address history lost: every address of a saved answer is still known.
      const known = new Set(knownAddresses(state));
      for (const a of this.#everSeen.get(target) ?? []) if (!known.has(a)) this.#fail(label, `${target}: address ${a} forgotten`);
    }
    const states = [...this.store.states.values()];
    for (const s of states) for (const v of stateViolations(s, s.target)) this.#fail(label, v);
    for (const v of alertViolations(this.notifier.delivered, states, 1)) this.#fail(label, v);
  }

  /**
   * After the faults stop: every alert still open has been notified, no event is pending, and
   * every alert and event the run opened had its notice delivered.
   */
  verifyRecovered(label: string): void {
    for (const s of this.store.states.values()) {
      for (const a of Object.values(s.alerts)) {
        if (a.status === 'event') this.#fail(label, `event ${a.key} still pending`);
        else if (a.lastNotifiedAt === undefined) this.#fail(label, `alert ${a.key} open but never notified`);
      }
    }
    const { alerts, events } = this.figures();
    if (alerts.lost > 0) this.#fail(label, `${alerts.lost} alert(s) opened but never delivered`);
    if (events.lost > 0) this.#fail(label, `${events.lost} event(s) never delivered`);
  }

  /** The run's figures. */
  figures(): LedgerFigures {
    const delivered = (type: string) => new Set(this.notifier.delivered.filter((t) => t.type === type).map((t) => `${t.key}|${t.openedAt}`));
    const openedDelivered = [...this.#opened].filter((k) => delivered('opened').has(k)).length;
    const eventsDelivered = [...this.#events].filter((k) => delivered('event').has(k)).length;
    const notices: Record<string, number> = {};
    for (const t of this.notifier.delivered) notices[t.type] = (notices[t.type] ?? 0) + 1;
    const faults = { ...this.#faults, notifierFailures: this.notifier.failures, metricsFailures: this.metrics.failures };
    return {
      checks: this.#checks,
      faults: { ...faults, total: faults.dns + faults.addressMoves + faults.nodeFaultChecks + faults.notifierFailures + faults.metricsFailures },
      spuriousLookupFailures: this.#spurious,
      alerts: { opened: this.#opened.size, delivered: openedDelivered, lost: this.#opened.size - openedDelivered },
      events: { emitted: this.#events.size, delivered: eventsDelivered, lost: this.#events.size - eventsDelivered },
      notices,
      maxCheckMs: Math.round(this.#maxCheckMs),
    };
  }
}
