/**
 * The shape every target type has in a check (docs/architecture.md, "One check"): what it
 * observes of its names, which probe jobs it adds, and how its observation becomes findings.
 * One file per type (elb.ts, web-tier.ts, aurora.ts), one map (registry.ts): adding a type is a
 * file and a line, as adding a probe protocol is.
 */
import type { Resolver } from 'node:dns/promises';
import type { UnusableAddress } from '../address-class.ts';
import type { AuroraState, WriterObservation } from '../aurora/assess.ts';
import type { Config, TargetConfig } from '../config.ts';
import type { AddressDiff } from '../diff.ts';
import type { CensusObservation, FlowObservation, ResolverObservation } from '../types.ts';
import type { InterfaceNews } from '../interface-change.ts';
import type { Limiter } from '../limit.ts';
import type { EngineLogger, SessionAnswer, SessionCheck, WriterLookup } from '../ports.ts';
import type { TargetReport } from '../report.ts';
import type { ProblemLog } from '../problems.ts';
import type { AddressRecord, Finding, ProbeResult, Resolution, TargetState, WebTierObservation } from '../types.ts';

/** What one check has seen of one target so far. */
export interface Observed<T extends TargetConfig = TargetConfig> {
  target: T;
  previous: TargetState;
  resolution?: Resolution;
  diff?: AddressDiff;
  records: AddressRecord[];
  probes: Map<string, ProbeResult>;
  web?: WebTierObservation;
  /** The check's deadline stopped this target's lookup. */
  resolutionCut?: boolean;
  /** Addresses in the answer that no node can have (not probed, not in history). */
  unusable?: UnusableAddress[];
  /** Aurora: the reader endpoint, the API's writer, and the writer state this check concluded. */
  reader?: Resolution;
  api?: WriterObservation;
  aurora?: AuroraState;
  /** ELB: addresses this check learnt the ELB released (their interface was deleted). */
  released?: string[];
  /** Aurora with `login`: what a session through the endpoint could do. */
  session?: SessionAnswer;
  /** ELB with flow logs: clients on its retired addresses (this check's read, or the last one's). */
  flow?: FlowObservation;
  /** ELB with resolver query logs: who asked for its name (this check's read, or the last one's). */
  resolver?: ResolverObservation;
  /** ELB with flow and resolver logs: the hosts that cache its name (this check's census, or the last one's). */
  census?: CensusObservation;
}

/** What the check hands each target type: its settings and the shared, bounded means of looking. */
export interface CheckContext {
  config: Config;
  /** The whole check's deadline. */
  deadline: AbortSignal;
  /** A fresh resolver on the configured servers (the ELB union's extra lookups, and a lookup that failed on `resolver`, asked again alone). */
  newResolver: () => Resolver;
  /** This check's resolver on the configured servers, shared by every first lookup (one per check, not per target). */
  resolver: Resolver;
  /** Every lookup of the check goes through this pool. */
  lookups: Limiter;
  startedAt: Date;
  insecureTls?: boolean;
  writerLookup?: WriterLookup;
  /** Logs in through Aurora endpoints that have a `login` (absent: no session check). */
  sessionCheck?: SessionCheck;
  /** What the ELBs' interface calls (CloudTrail) said since the last check. */
  interfaces?: InterfaceNews;
  logger?: EngineLogger;
  /** Problems that do not stop the check (the report's `problems` and `errors`). */
  errors: ProblemLog;
}

/** What assessing one target yields. */
export interface Assessment {
  findings: Finding[];
  metrics: TargetReport['metrics'];
  aurora?: AuroraState;
}

/** One target type's part in a check. */
export interface TargetType<T extends TargetConfig> {
  /** Steps 2-3: resolve the target's names and update its history (a failed lookup changes none). */
  observe(o: Observed<T>, ctx: CheckContext): Promise<void>;
  /** Step 4: the probes of this target, each a job for the check's bounded pool. */
  probeJobs(o: Observed<T>, ctx: CheckContext): (() => Promise<void>)[];
  /** Step 5: findings and metrics; `all` holds every target (a web tier is judged against its upstream). */
  assess(o: Observed<T>, all: ReadonlyMap<string, Observed>, now: Date): Assessment;
  /**
   * The targets whose cut (by the deadline) cuts this one too: a web tier is judged against its
   * upstream's probes. None for a name of its own.
   */
  judgedWith(o: Observed<T>): readonly string[];
  /**
   * After a save conflict: this check's observation re-applied to the state another writer saved
   * (`redo` already holds the fresh state and its records): the diff against the fresh history,
   * and what else the type learnt this check (an ELB's released addresses).
   */
  rediff(redo: Observed<T>, resolution: Resolution | undefined, now: Date, interfaces: InterfaceNews | undefined): void;
}
