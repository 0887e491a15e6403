/**
 * The web-tier proof's vocabulary, shared by the parent (vitest, the matrix script) and the
 * runner inside each namespace: which scenarios exist, the fixed addresses and timings inside a
 * namespace, and the JSON shape the runner prints. No side effects: safe to import anywhere.
 */
import type { WebServer } from '../../../src/core/advice.ts';
import type { FindingKind } from '../../../src/core/types.ts';

/** The real servers under test; the ids are the config contract's `server` hint values. */
export const SERVERS = ['apache', 'nginx', 'haproxy'] as const satisfies readonly WebServer[];
/** One of {@link SERVERS}. */
export type ServerId = (typeof SERVERS)[number];

/** `stale`: the configuration that caches the upstream's addresses; `fresh`: the one that follows DNS. */
export const CONFIG_KINDS = ['stale', 'fresh'] as const;
/** One of {@link CONFIG_KINDS}. */
export type ConfigKind = (typeof CONFIG_KINDS)[number];

/**
 * What the old ELB nodes do once DNS moved away from them: `drain` keep serving, `refuse`
 * refuse connections, `swallow` accept and never answer (a released address: the seed's stalls).
 */
export const SCENARIOS = ['drain', 'refuse', 'swallow'] as const;
/** One of {@link SCENARIOS}. */
export type ScenarioKind = (typeof SCENARIOS)[number];

/**
 * The story a scenario plays. `replace` (the matrix): DNS moves from the old nodes to the new
 * ones, and the old nodes do what `scenario` says. `churn`: a compressed day of a healthy ELB's
 * life (see CHURN_PHASES); the first retired node swallows, the second refuses. `pooled`: the
 * server's pooled configuration (it follows DNS and reuses upstream connections) through a node
 * replacement whose old nodes drain for TIMING.pooledDrainChecks checks, then go (refuse, their
 * connections reset).
 */
export const STORIES = ['replace', 'churn', 'pooled'] as const;
/** One of {@link STORIES}. */
export type Story = (typeof STORIES)[number];

/** One cell of the matrix (story `replace`, the default), or a churn run. */
export interface ScenarioSpec {
  server: ServerId;
  config: ConfigKind;
  scenario: ScenarioKind;
  story?: Story;
}

/**
 * The churn story, phase by phase: which nodes DNS names (indexes into NS.oldNodes + NS.newNodes)
 * and what a retired node does from that phase on. Every retired node drains for a phase first.
 */
export const CHURN_PHASES = [
  { id: 'baseline', dns: [0, 1] },
  { id: 'scale-out', dns: [0, 1, 2] },
  { id: 'replace', dns: [1, 2, 3] },
  { id: 'released', dns: [1, 2, 3], node: { index: 0, mode: 'swallow' } },
  { id: 'scale-in', dns: [2, 3] },
  { id: 'gone', dns: [2, 3], node: { index: 1, mode: 'refuse' } },
] as const satisfies readonly { id: string; dns: readonly number[]; node?: { index: number; mode: 'swallow' | 'refuse' } }[];

/** One check of the churn or pooled story, as on-call would receive it. */
export interface ChurnCheck {
  /** The churn phase, or the pooled story's `drain` / `gone`. */
  phase: (typeof CHURN_PHASES)[number]['id'] | 'drain' | 'gone';
  /** The web tier's echo this check: the upstream address it reached. */
  echo?: string;
  /** What `ipdrift check` would exit with (0: no warning or critical finding). */
  exit: number;
  /** `target:kind` of every finding. */
  findings: string[];
  /** `type:target:kind` of the transitions that would page (on-call audience), and of the events. */
  onCall: string[];
  events: string[];
}

/** Every cell, in matrix order (server, then config, then scenario). */
export function allSpecs(): ScenarioSpec[] {
  return SERVERS.flatMap((server) => CONFIG_KINDS.flatMap((config) => SCENARIOS.map((scenario) => ({ server, config, scenario }))));
}

/** `nginx/stale/swallow`, or `nginx/fresh/churn`. */
export const specId = (s: ScenarioSpec) => `${s.server}/${s.config}/${s.story === 'churn' || s.story === 'pooled' ? s.story : s.scenario}`;

/**
 * Addresses inside a namespace. Every scenario has a network namespace of its own, so these are
 * the same in all of them and fixed ports (53 for DNS) are free.
 */
export const NS = {
  /** The lab DNS server: /etc/resolv.conf in the namespace names it (port 53: glibc can't use another). */
  dnsHost: '127.0.0.1',
  dnsPort: 53,
  elbName: 'internal-web-tiers-1234567890.ap-northeast-2.elb.amazonaws.com',
  oldNodes: ['127.0.0.11', '127.0.0.12'],
  newNodes: ['127.0.0.21', '127.0.0.22'],
  nodePort: 8080,
  webHost: '127.0.0.80',
  webPort: 8000,
} as const;

/** Timings of one scenario. The lab TTL stands for the ELB's 60 s; everything else scales with it. */
export const TIMING = {
  /** TTL of the lab's ELB records, and the fresh configs' re-resolution interval. */
  ttlSeconds: 1,
  /** The web tier's own upstream timeout: short, so a swallowed request is a 3 s stall, not 60 s. */
  proxyTimeoutSeconds: 3,
  /**
   * After the DNS change the old nodes keep serving this long before refusing or swallowing (an
   * ELB node drains before its address is released). Two TTLs: every fresh config has moved by then.
   */
  drainMs: 2000,
  /**
   * A check this soon after the DNS change lands inside the record's TTL, when even a fresh tier
   * may still use the old answer. Run once per scenario, reported apart, never counted.
   */
  earlyCheckMs: 100,
  /** The first counted check: after the drain, so every scenario is judged in its final state. */
  firstCheckMs: 2250,
  /** Start-to-start interval of counted checks: one per TTL, as production checks once per 60 s TTL. */
  checkIntervalMs: 1000,
  /** Counted checks: at least, and at most. */
  minChecks: 3,
  maxChecks: 8,
  /** Findings are stable when the web tier's kinds were the same in this many checks in a row. */
  stableChecks: 3,
  /** Baseline checks before the change (fills the latency median that "slow" compares with). */
  baselineChecks: 3,
  baselineIntervalMs: 500,
  /** ipdrift's timeouts in the scenario config: shorter than the tier's own, as in production. */
  elbProbeTimeoutMs: 800,
  webProbeTimeoutMs: 1500,
  /** Bound on one client request: longer than the web tier's own timeout (so its answer is seen). */
  clientTimeoutMs: 8000,
  /** Background clients (request loops) through the tier, and each one's pause between requests. */
  clients: 2,
  clientPauseMs: 100,
  /** Concurrent requests that warm every httpd child before the baseline (each resolves on first use). */
  warmupRequests: 16,
  /** Bound on the server's start (listening and proxying to the old nodes). */
  startTimeoutMs: 10_000,
  /** A client request longer than this counts as a stall. */
  stallMs: 1000,
  /** The runner gives up (and kills everything) after this long. */
  runnerDeadlineMs: 60_000,
  /** Churn story: checks per phase, one per TTL (the first lands inside the TTL after a DNS change). */
  churnChecksPerPhase: 2,
  /** Pooled story: checks while the old nodes drain (past the TTL and its grace for most), and after they go. */
  pooledDrainChecks: 5,
  pooledGoneChecks: 3,
  /**
   * Pooled story: a request started this close to the moment the old nodes reset their connections
   * may be the one a pooling proxy sends on a connection it has not yet seen reset (at most one).
   */
  pooledSwitchGraceMs: 1000,
} as const;

/** Client requests of one phase, summarised. */
export interface TrafficSummary {
  requests: number;
  /** Per outcome (an HTTP status `"200"`, or an error code `"ETIMEDOUT"`, `"cut"`): how many, and the longest. */
  outcomes: Record<string, { n: number; maxMs: number }>;
  /** 200s that the echo shows went to an old (retired) node, and to a new one. */
  viaOld: number;
  viaNew: number;
  /** Requests longer than TIMING.stallMs, and the longest one. */
  stalls: number;
  maxMs: number;
}

/** One ipdrift check as the runner saw it; times are ms after the DNS change (negative: before). */
export interface CheckSample {
  startMs: number;
  endMs: number;
  web: { ok: boolean; status?: number; latencyMs: number; server?: string; error?: string; echo?: string };
  /** Findings of every target: `web` (the tier) and `app-elb` (its upstream). */
  findings: { target: string; kind: FindingKind; advice: string }[];
}

/** What the runner prints: one JSON line per scenario. */
export interface ScenarioResult {
  spec: ScenarioSpec;
  ok: boolean;
  /** Why the scenario could not run (the server did not start, ...). */
  error?: string;
  serverVersion?: string;
  /** Output of the server's own configuration test (`apache2 -t`, `nginx -t`, `haproxy -c`). */
  configTest?: string;
  /** Whether the target config carried the `server` hint. */
  serverHint?: ServerId;
  /** When the old nodes began to refuse or swallow, ms after the DNS change (absent for `drain`). */
  oldNodesChangedAtMs?: number;
  baseline: CheckSample[];
  /** The one check inside the TTL after the change (see TIMING.earlyCheckMs). */
  early?: CheckSample;
  /** Counted checks after the change. */
  checks: CheckSample[];
  /**
   * Client requests: `baseline` started before the DNS change; `after` started once the old nodes
   * began to change mode (for `drain`: at TIMING.drainMs), or was in flight then and stalled;
   * `drain` is the rest after the DNS change.
   */
  traffic: { baseline: TrafficSummary; drain: TrafficSummary; after: TrafficSummary };
  /** Churn story: every check, in order. */
  churn?: ChurnCheck[];
  /** Pooled story: client requests after the DNS change that got no 200, timed from when the old nodes went. */
  unserved?: { afterGoneMs: number; ms: number; outcome: string }[];
  /** Tail of the server's error log, for the reader of a failure. */
  serverLog?: string;
  durationMs: number;
}

/** Kinds that mean "this web tier uses a retired address". */
export const STALE_KINDS: ReadonlySet<FindingKind> = new Set(['stale-address-suspected', 'stale-address-confirmed']);

/** The names of the two ipdrift targets in every scenario. */
export const TARGETS = { elb: 'app-elb', web: 'web' } as const;
