/**
 * The interfaces the engine depends on. Adapters implement them: `src/adapters/aws/` (DynamoDB,
 * CloudWatch, SNS) and `src/adapters/local/` (file store, console). Arrows point inward only.
 */
import type { AlertTransition, ChangeRecord, TargetState } from './types.ts';
import type { CheckReport } from './report.ts';
import type { AuroraTarget } from './config.ts';
import type { FlowField, FlowRecord } from './flow-log.ts';
import type { Asker } from './resolver-log.ts';
import { IpdriftError } from './errors.ts';

/** Another writer saved the same target first; re-read and re-apply. */
export class VersionConflictError extends IpdriftError {
  override readonly name = 'VersionConflictError';
  readonly code = 'version-conflict';
  constructor(
    readonly target: string,
    readonly expectedVersion: number,
    options?: { cause?: unknown },
  ) {
    super(`state of target "${target}" changed since version ${expectedVersion} was read`, options);
  }
}

/** Persisted state could not be read (corrupt, wrong schema); the store left it untouched. */
export class StateError extends IpdriftError {
  override readonly name = 'StateError';
  readonly code = 'state';
  constructor(
    message: string,
    readonly location: string,
    options?: { cause?: unknown },
  ) {
    super(`${location}: ${message}`, options);
  }
}

/** Where target state and change history live. */
export interface Store {
  /** One state per name; `undefined` when the target was never saved. */
  load(targets: readonly string[]): Promise<Map<string, TargetState | undefined>>;
  /**
   * Saves `state` if the stored version still equals `expectedVersion` (0 = not stored yet);
   * the saved state carries `expectedVersion + 1`. Throws VersionConflictError otherwise.
   */
  save(state: TargetState, expectedVersion: number, changes: readonly ChangeRecord[]): Promise<void>;
  /** Change history of one target, newest first. */
  history?(target: string, limit: number): Promise<ChangeRecord[]>;
}

/** Receives each check's figures (CloudWatch locally: nothing, or the console). */
export interface MetricsSink {
  publishMetrics(report: CheckReport): Promise<void>;
}

/** Delivers one alert transition; throws when it was not delivered (it is retried next check). */
export interface Notifier {
  notify(transition: AlertTransition): Promise<void>;
}

/** Logger the engine writes through (Powertools' Logger fits; console locally). */
export interface EngineLogger {
  info(message: string, extra?: Record<string, unknown>): void;
  warn(message: string, extra?: Record<string, unknown>): void;
  error(message: string, extra?: Record<string, unknown>): void;
}

/** One member of an Aurora cluster as the RDS API lists it. */
export interface ClusterMember {
  /** DB instance identifier (the first label of its endpoint name). */
  id: string;
  isWriter: boolean;
}

/** The writer of an Aurora cluster according to the RDS API (`DBClusterMembers[].IsClusterWriter`). */
export interface WriterInfo {
  writer: string;
  members: ClusterMember[];
}

/** What one flow read returned. */
export interface FlowRead {
  /** The records that may name a watched address (a source may return more; the engine matches exactly). */
  records: FlowRecord[];
  /** Lines or result rows read (a row of an aggregating source stands for many records). */
  rows: number;
  scannedBytes?: number;
  /** The source stopped at its limit: clients past it are missing. */
  truncated?: boolean;
}

/** Where VPC flow log records come from: a file (CLI), CloudWatch Logs Insights (Lambda). */
export interface FlowSource {
  /**
   * The records, in a flow log of `fields`, sent to one of `addresses` on one of `ports`, with
   * `start` between `from` and `to` (epoch ms). Throws when it cannot read.
   */
  read(query: {
    addresses: readonly string[];
    ports: readonly number[];
    fields: readonly FlowField[];
    from: number;
    to: number;
    signal: AbortSignal;
  }): Promise<FlowRead>;
}

/** What one resolver query log read returned. */
export interface ResolverLogRead {
  /** One per host that asked for a watched name in the range. */
  askers: Asker[];
  /** Lines or result rows read. */
  rows: number;
  scannedBytes?: number;
  /** The source stopped at its limit: hosts past it are missing. */
  truncated?: boolean;
}

/** Where Route 53 Resolver query logs come from: a file (CLI), CloudWatch Logs Insights (Lambda). */
export interface ResolverLogSource {
  /** The hosts that asked for `names` (or got one of `addresses` as an answer) between `from` and `to` (epoch ms). Throws when it cannot read. */
  read(query: { names: readonly string[]; addresses: readonly string[]; from: number; to: number; signal: AbortSignal }): Promise<ResolverLogRead>;
}

/** What a login through an Aurora endpoint found: can this session write? */
export interface SessionAnswer {
  /** The address the login went to (the endpoint's current answer). */
  address: string;
  user: string;
  readOnly: boolean;
  /** What the server said, e.g. `transaction_read_only = on`, `@@innodb_read_only = 1`. */
  answer: string;
}

/** Logs in and asks; throws (with the reason) when it could not log in or ask. */
export interface SessionCheck {
  canWrite(target: AuroraTarget, address: string, signal: AbortSignal): Promise<SessionAnswer>;
}

/**
 * Source of truth for "which instance is the Aurora writer" (the RDS API; the lab fakes it).
 * Throws a `WriterLookupError` subclass (core/aurora/errors.ts) when it cannot tell.
 */
export interface WriterLookup {
  writer(clusterIdentifier: string, region?: string): Promise<WriterInfo>;
}
