/**
 * Shared engine types: observations (resolutions, probes), persisted state, findings and alerts.
 * Everything here is plain data so that it serialises to JSON unchanged (file store, DynamoDB, --json).
 */
import type { STATE_SCHEMA_VERSION } from './constants.ts';
import { FINDING_CATALOGUE, kindColumn } from './finding-catalogue.ts';
import type { FindingKindEntry } from './finding-catalogue.ts';
import type { StaleClient } from './flow-log.ts';
import type { Asker } from './resolver-log.ts';

/** Who asked for an ELB's name, from the last resolver query log read (core/resolver-evidence.ts). */
export interface ResolverObservation {
  queriedAt: string;
  /** The read's start: a host that asked before it is unknown to it. */
  from: string;
  /** What clients may cache on top of the TTL (the config's `clientCacheSeconds`, as of the read). */
  clientCacheSeconds: number;
  askers: Asker[];
  /** The read hit its source's limit: hosts may be missing. */
  incomplete?: boolean;
}

/** A host that keeps opening connections to an ELB but has not asked for its name for far longer than the TTL. */
export interface CachingClient {
  /** Who: the instance id, else its own interface's id, else the source address. */
  client: string;
  clientKind: 'instance' | 'interface' | 'address';
  sourceAddress?: string;
  /** The ELB addresses it connected to in the flow window. */
  addresses: string[];
  /** Epoch ms of its last connection, and of its last logged query (none: not in the resolver read). */
  lastConnected: number;
  lastAsked?: number;
  /** When it last opened a connection in the flow window (SYN in `tcp-flags`; epoch ms). */
  lastOpened?: number;
}

/** The last cache census of an ELB (core/cache-census.ts). */
export interface CensusObservation {
  queriedAt: string;
  /** Start of the resolver read: a host not seen asking has not asked since. */
  from: string;
  /** How long past its last query a connecting host counted as caching. */
  thresholdMs: number;
  clients: CachingClient[];
  /** A read hit its source's limit: hosts may be missing. */
  incomplete?: boolean;
}

/** What the last flow read found for an ELB, and when it ran. */
export interface FlowObservation {
  queriedAt: string;
  clients: StaleClient[];
  /** The read hit its source's limit: clients may be missing. */
  incomplete?: boolean;
}

/** Finding severities, lowest first. */
export const SEVERITIES = ['info', 'warning', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];
/** The severities that page on-call (info never does). */
export const PAGING_SEVERITIES = ['warning', 'critical'] as const satisfies readonly Severity[];

/** Stable finding identifiers (src/core/finding-catalogue.ts); the CLI's --json and SNS messages use them. */
export type FindingKind = keyof typeof FINDING_CATALOGUE;

const KINDS = Object.keys(FINDING_CATALOGUE) as FindingKind[];
const kindsWhere = (has: (e: FindingKindEntry) => boolean) => new Set(KINDS.filter((k) => has(FINDING_CATALOGUE[k])));

/** Each kind's severity, from the catalogue. */
export const FINDING_KINDS = kindColumn('severity');

/** Kinds that are one-off events: notified once, never open, never resolved. */
export const EVENT_KINDS: ReadonlySet<FindingKind> = kindsWhere((e) => e.event === true);

/**
 * Information that is tracked as an alert all the same: a risk that may become the incident of
 * its condition (a client riding a draining node may be pooled, and move by itself, or cached, and
 * fail when the node goes). Its opening and clearing go to the events topic, never to on-call; no
 * reminders. When later evidence of the same condition pages, on-call hears "opened": it was never
 * told of the risk.
 */
export const RISK_KINDS: ReadonlySet<FindingKind> = kindsWhere((e) => e.risk === true);

/**
 * Kinds that are evidence of one shared condition: a web tier stuck on retired upstream
 * addresses is one incident whether the echo proves it or failures suggest it, so both kinds
 * share one alert key and escalate it in place (docs: "Incidents and notices").
 */
export const CONDITION_OF: Partial<Record<FindingKind, string>> = Object.fromEntries(
  KINDS.flatMap((k) => {
    const e: FindingKindEntry = FINDING_CATALOGUE[k];
    return e.condition === undefined ? [] : [[k, e.condition]];
  }),
);

/** The alert key of a finding kind on a target: one per condition. */
export const conditionKey = (target: string, kind: FindingKind) => `${target}/${CONDITION_OF[kind] ?? kind}`;

/** The part of a flow client's own alert key before the client: `<target>/stale-client-seen/<client>`. */
export const CLIENT_KEY_PART = '/stale-client-seen/';

/**
 * The alert key of one client nobody configured (a flow-log client, a host the cache census names):
 * by its source address, the one identity both ends of a connection record; else its own id.
 */
export const clientKey = (target: string, c: { sourceAddress?: string; client: string }) => `${target}${CLIENT_KEY_PART}${c.sourceAddress ?? c.client}`;

/**
 * What a finding's evidence is made of, for escalation: an open alert sends an "updated" notice
 * the first time its evidence shows a signal it had not shown before (the tier now fails, the
 * echo now proves it), never a second "opened".
 */
export type EvidenceSignal = 'echo' | 'failing' | 'slow' | 'client';

/** One resolved address with the TTL the resolver reported. */
export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
  ttl: number;
}

/** Why a lookup failed; never read as "no addresses". */
export type ResolutionErrorCode = 'timeout' | 'servfail' | 'nxdomain' | 'refused' | 'nodata' | 'unusable' | 'error';

export interface ResolutionOk {
  ok: true;
  host: string;
  /** The name whose answer was used (`all.<host>` for ELBs when it answered). */
  queried: string;
  addresses: ResolvedAddress[];
  /** CNAME chain from the queried name to the final name, in order. */
  cname: string[];
  /** True when the answer lists every address (from `all.` or under the 8-address cap). */
  complete: boolean;
  /**
   * Address families whose query failed (SERVFAIL, timeout) while the other answered: their
   * addresses are unknown this check, so the diff leaves that family's history as it was.
   */
  failedFamilies?: (4 | 6)[];
  lookups: number;
  durationMs: number;
}

export interface ResolutionFailed {
  ok: false;
  host: string;
  code: ResolutionErrorCode;
  message: string;
  durationMs: number;
}

export type Resolution = ResolutionOk | ResolutionFailed;

/** Why a probe failed. */
export type ProbeErrorCode =
  | 'timeout'
  | 'refused'
  | 'reset'
  | 'unreachable'
  | 'tls'
  | 'cert-name-mismatch'
  | 'http-status'
  | 'protocol'
  | 'too-large'
  | 'aborted'
  | 'error';

/** TLS facts a probe saw; used to notice a retired address that now serves someone else. */
export interface TlsInfo {
  subject?: string;
  altNames: string[];
  nameMatches: boolean;
  fingerprint256?: string;
  validTo?: string;
}

/** What one probe of one address saw. The runner fills address, protocol, latency and timing. */
export interface ProbeResult {
  ok: boolean;
  address: string;
  port: number;
  protocol: string;
  latencyMs: number;
  error?: { code: ProbeErrorCode; message: string };
  /** HTTP status, when the protocol has one. */
  status?: number;
  /** HTTP `Server` header, when present. */
  server?: string;
  /** A short identity string (e.g. Server header, TLS fingerprint, DB greeting) for reassignment checks. */
  identity?: string;
  tls?: TlsInfo;
  /** Protocol details (e.g. a database greeting). */
  details?: Record<string, unknown>;
}

/** What the web-tier probe saw through the web tier. */
export interface WebTierObservation {
  url: string;
  ok: boolean;
  status?: number;
  latencyMs: number;
  server?: string;
  error?: { code: ProbeErrorCode; message: string };
  /** Upstream address reported by the echo path, when configured and answered. */
  echo?: { ok: true; address: string } | { ok: false; message: string };
  /** The address the probe connected to (the URL host's, from the check's resolvers). */
  address?: string;
}

/** History of one address behind a name. ISO-8601 timestamps. */
export interface AddressRecord {
  address: string;
  firstSeen: string;
  lastSeen: string;
  /** Set once the address left the answer. */
  retiredAt?: string;
  /** TTL (s) of the last answer that listed the address: how long a well-behaved cache may keep it. */
  ttl?: number;
  /** Consecutive incomplete answers that did not list the address (retire at LIMITS.missingChecksToRetire). */
  missingChecks?: number;
  /** Identity seen while the address was current (for reassignment detection). */
  identity?: string;
  lastProbe?: { at: string; ok: boolean; latencyMs: number; error?: string };
  /** The ELB deleted the interface that held the address (CloudTrail): it is gone for good. */
  released?: { at: string; interfaceId: string };
  /**
   * Retired: the first check that found it gone for its clients (silent, released, reassigned);
   * cleared while it answers again. A flow client whose last record is older sent to it while it drained.
   */
  goneSince?: string;
}

/**
 * Where an alert stands (core/alerts.ts). `pending`: a warning seen, not yet announced (it opens
 * at `openAfterChecks`; gone before, it is dropped without a word). `open`: announced, or due to
 * be. `resolving`: gone long enough; deleted once its "resolved" is delivered. `event`: a one-off
 * notice (address-set-changed, writer-changed) waiting to be delivered: never open, never resolved.
 */
export const ALERT_STATUSES = ['pending', 'open', 'resolving', 'event'] as const;
export type AlertStatus = (typeof ALERT_STATUSES)[number];

/** Alert lifecycle for one finding key. */
export interface AlertState {
  status: AlertStatus;
  key: string;
  target: string;
  kind: FindingKind;
  severity: Severity;
  openedAt: string;
  lastSeenAt: string;
  /** Set when the "opened" notice was delivered; absent means it must be (re)sent. */
  lastNotifiedAt?: string;
  notifications: number;
  /** Consecutive checks in which the finding was absent. */
  absentChecks: number;
  /** `pending`: the consecutive checks that saw it so far. */
  seenChecks?: number;
  /** Earlier undelivered events of the same key folded into this one. */
  mergedEvents?: number;
  summary: string;
  /** The latest finding, so a notice re-sent after a failed delivery still carries evidence and advice. */
  finding?: Finding;
  /** Every evidence signal the alert has shown (see EvidenceSignal). */
  signals?: EvidenceSignal[];
  /** Evidence signals and the highest severity that on-call has been told about. */
  notifiedSignals?: EvidenceSignal[];
  notifiedSeverity?: Severity;
}

/** History kinds of a delivered transition: `alert-<type>`. */
export type NoticeRecordKind = `alert-${TransitionType}`;

/** A notable change kept for `ipdrift history` and `ipdrift report` (DynamoDB `change#<iso>` items). */
export interface ChangeRecord {
  at: string;
  target: string;
  kind: FindingKind | NoticeRecordKind | 'address-released';
  summary: string;
  added?: string[];
  removed?: string[];
  /** `retired-address-dead`: the addresses that went silent. */
  addresses?: string[];
  /** Notice records: the alert's condition key, its severity, and who was told. */
  key?: string;
  severity?: Severity;
  audience?: 'on-call' | 'events';
  /** A failover's timeline (the failover watcher), as `timelineDocument` gives it. */
  timeline?: Record<string, unknown>;
}

/** Persisted state of one target (one DynamoDB state item + alert items; one file locally). */
export interface TargetState {
  schemaVersion: typeof STATE_SCHEMA_VERSION;
  target: string;
  /** Optimistic-locking counter; 0 means "never saved". */
  version: number;
  updatedAt?: string;
  addresses: AddressRecord[];
  /** Web tiers: the server the `Server` header last named (a stalled probe sees no header). */
  webServer?: string;
  /** Recent successful web-tier latencies (ms), newest last. */
  latencies?: number[];
  /** ELB with flow logs: the clients the last flow read found on retired addresses, and when it ran. */
  flow?: FlowObservation;
  /** ELB with resolver query logs: who asked for its name, as of the last read. */
  resolver?: ResolverObservation;
  /** ELB with flow and resolver logs: the hosts that cache its name, as of the last census. */
  census?: CensusObservation;
  /** Aurora: the writer instance as the API and DNS last named it. */
  aurora?: { apiWriter?: string; dnsWriter?: string; mismatchSince?: string; writerChangedAt?: string };
  alerts: Record<string, AlertState>;
}

/** One finding, as the CLI's --json and SNS messages carry it. */
export interface Finding {
  /** Alert key: stable across checks for the same condition. */
  key: string;
  target: string;
  kind: FindingKind;
  severity: Severity;
  summary: string;
  evidence: Record<string, unknown>;
  advice: string;
  /** What the evidence is made of (stale-upstream findings); new signals escalate an open alert. */
  signals?: EvidenceSignal[];
  /** Fixed-width lines that draw it (a failover's timeline bar): read the same in email and chat. */
  drawing?: string[];
}

/**
 * `updated`: an open alert's evidence got worse (a new signal, a higher severity); the only
 * notice besides the reminders that an alert sends between "opened" and "resolved".
 */
export type TransitionType = 'opened' | 'updated' | 'reminder' | 'resolved' | 'event';

/** An alert transition to notify on-call about. */
export interface AlertTransition {
  type: TransitionType;
  key: string;
  target: string;
  kind: FindingKind;
  severity: Severity;
  at: string;
  /** The finding behind it (absent for "resolved"). */
  finding?: Finding;
  /** What happened; for "resolved", what recovered, since when and how long it lasted (core/recovery.ts). */
  summary: string;
  /** For "resolved": the last evidence of the condition, before it recovered. */
  was?: string;
  openedAt?: string;
  /**
   * Notices of this alert delivered before this one. With the key, `openedAt` and the type it
   * names this notice whenever it is re-sent (after a failed delivery or save), so a receiver
   * can tell a repeat from a new notice.
   */
  sequence?: number;
}

/** Clock injected into the engine: the only source of "now". */
export interface Clock {
  now(): Date;
}
