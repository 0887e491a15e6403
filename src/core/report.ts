/** What one check produced: per-target observations, findings, metrics and alert transitions. */
import type { CheckProblem } from './problems.ts';
import type { TargetTypeName } from './target-types.ts';
import type { AlertTransition, Finding, FindingKind, ProbeResult, Resolution, Severity, WebTierObservation } from './types.ts';

/**
 * Metric names per target (CloudWatch namespace `ipdrift`, dimension `Target` only).
 * Kept to a handful: every series costs money.
 */
export const METRICS = {
  Addresses: 'Count',
  AddressesRetired: 'Count',
  RetiredAnswering: 'Count',
  RetiredDead: 'Count',
  ProbeFailures: 'Count',
  ResolutionFailed: 'Count',
  StaleSuspected: 'Count',
  StaleConfirmed: 'Count',
  WebLatencyMs: 'Milliseconds',
  DnsLagSeconds: 'Seconds',
  /** Published by the failover watcher only (no check computes it): the client outage of a failover. */
  FailoverSeconds: 'Seconds',
} as const;
export type MetricName = keyof typeof METRICS;
export type MetricUnit = (typeof METRICS)[MetricName];

/** Everything a check saw and concluded about one target. */
export interface TargetReport {
  target: string;
  type: TargetTypeName;
  resolution?: Resolution;
  probes: ProbeResult[];
  web?: WebTierObservation;
  current: string[];
  retired: string[];
  /** ELB: addresses this check recorded as released (their interface was deleted). */
  released?: string[];
  findings: Finding[];
  metrics: Partial<Record<MetricName, number>>;
  /** False when the deadline cut the target's work short (its history was not changed). */
  completed: boolean;
}

/** A paging alert open after a check: enough for a receiver that must be told again (Alertmanager). */
export interface OpenPagingAlert {
  key: string;
  severity: Severity;
  target: string;
  kind: FindingKind;
  openedAt: string;
  summary: string;
}

/** One check of every target. */
export interface CheckReport {
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  targets: TargetReport[];
  findings: Finding[];
  transitions: AlertTransition[];
  /** Transitions the notifier accepted / refused (refused ones are re-sent next check). */
  delivered: number;
  undelivered: number;
  /** The flow log read of this check, when one ran: lines read, records matched, bytes the source scanned. */
  flow?: { lines: number; matched: number; clients: number; scannedBytes?: number };
  /** The resolver query log reads of this check, when any ran: reads, hosts found, bytes scanned. */
  resolver?: { reads: number; askers: number; scannedBytes?: number };
  /** The cache census of this check, when one ran: ELBs counted, hosts found caching. */
  census?: { elbs: number; caching: number };
  /** Targets whose state was left unwritten: nothing material changed (core/save.ts isQuiet). */
  quiet?: string[];
  /** Targets whose state could not be saved (their details are in `errors`): the check's result is lost for them. */
  unsaved: string[];
  /**
   * The alerts that page and are open after this check (opened: not pending, not resolved), each
   * target's; a target the check could not complete keeps its earlier ones.
   */
  openPaging: OpenPagingAlert[];
  /** Problems that did not stop the check (metrics sink down, store conflict retried...), as lines. */
  errors: string[];
  /** The same problems with their codes and targets (core/problems.ts): what code sorts on. */
  problems: CheckProblem[];
}
