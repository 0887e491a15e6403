/** Named defaults and limits of the engine. One place, so docs, config and code agree. */
export const DEFAULTS = {
  timeoutMs: 2000,
  /** Flow evidence from CloudWatch Logs: one Logs Insights query this often (each scans, and is billed). */
  flowEveryMinutes: 5,
  /** A flow record counts as "still sending" for this long (aggregation up to 10 min + delivery ~5 min). */
  flowWindowSeconds: 900,
  /** Resolver query logs: how long before a change a read starts (a host must be seen asking before it). */
  resolverLookbackMinutes: 60,
  /** The cache census from CloudWatch Logs: two Logs Insights queries per ELB this often. */
  censusEveryMinutes: 60,
  /** A host that connects but has not asked for the name this long caches it (30 times an ELB's 60 s TTL). */
  cachingAfterSeconds: 1800,
  /** What an honest client caches on top of the TTL: the JVM's default networkaddress.cache.ttl (30 s without a security manager). */
  clientCacheSeconds: 30,
  retainRetiredMinutes: 1440,
  renotifyMinutes: 60,
  resolveAfterChecks: 2,
  /** A warning pages after this many checks in a row (one DNS or probe blip is not a client in trouble); criticals page at once. */
  openAfterChecks: 2,
  dnsLagWarnSeconds: 10,
  /** Whole-check deadline when the caller gives none (CLI). */
  checkDeadlineMs: 25_000,
  /** The longest whole-check deadline (the Lambda's own 15-minute limit); config and `--deadline` alike. */
  checkDeadlineMaxMs: 900_000,
  /** A web tier is "slow" when its latency exceeds this multiple of its recent median. */
  slowFactor: 3,
  /** ...and by at least this much: a 4 ms answer after a 1 ms median is jitter, not a stall. */
  slowMinExtraMs: 250,
} as const;

export const LIMITS = {
  /**
   * Without `tcp-flags`, what a pooled connection may still send after its node went (TCP keep-alive
   * probes, Go's 15 s x 9; its FIN at a 90 s idle timeout; retransmits): a flow client counts as stuck
   * on a gone node only with a record that started this long after.
   */
  flowGoneHorizonSeconds: 180,
  /** Resolver query logs reach CloudWatch Logs minutes late: a read after another starts this much before it. */
  resolverDeliverySlackSeconds: 600,
  /** A flow record is aggregated over up to 10 minutes (1 on Nitro): one that matters may have started that much before a window. */
  flowAggregationSlackSeconds: 600,
  /** Bytes of a response body a probe reads before it stops (bounded memory per probe). */
  maxBodyBytes: 64 * 1024,
  /** Latency samples kept per web tier for the recent median. */
  latencySamples: 20,
  /** Minimum samples before "3x the median" means anything. */
  minLatencySamples: 3,
  /** ELB DNS answers hold at most 8 addresses; 8 means "maybe truncated". */
  elbAnswerCap: 8,
  /** Lookups unioned when an answer may be incomplete. */
  incompleteLookups: 3,
  /** Checks an address must be missing from an incomplete answer before it is retired. */
  missingChecksToRetire: 2,
  /** Retired addresses kept per target, whatever the retention (bounds the state item). */
  maxRetiredAddresses: 256,
  /**
   * A client that honours the TTL may still use a retired address until its cached answer expires:
   * stale-address verdicts wait for the TTL plus this grace (the larger of a floor and a fraction).
   */
  staleGraceMinMs: 1000,
  staleGraceTtlFraction: 0.1,
  /** TTL assumed for records saved before TTLs were kept (the ELB record TTL). */
  defaultTtlSeconds: 60,
  /**
   * Probes in flight at once in one check. Starting 8,000 at once blocked the event loop for seconds
   * (healthy addresses timed out before their sockets were serviced) and would exceed Lambda's
   * 1,024 file descriptors; 512 keeps a 500-address check in one wave (see bench/).
   */
  maxConcurrentProbes: 512,
  /**
   * Lookups in flight at once (each opens its own resolver's sockets; an ELB name may use 3):
   * far under the default 1,024 descriptors with the probes' share, and enough that 10,000
   * names resolve in a few seconds.
   */
  maxConcurrentLookups: 64,
  /** State saves in flight at once (the file store holds a lock file and a temp file each). */
  maxConcurrentSaves: 32,
  /** DNS resolver settings per query. */
  dnsTimeoutMs: 1500,
  dnsTries: 2,
  /** Change records kept per target in the local file store. */
  maxChangesKept: 500,
  /**
   * Time metrics and notices may take after the probes (the Lambda keeps 5 s for publishing and
   * saving): a hanging sink must not keep the state from being saved. What has not gone out by
   * then is re-sent next check.
   */
  publishBudgetMs: 3000,
} as const;

/**
 * Schema version of the persisted target state, as written. 2: an alert's `status` says where it
 * stands (1 implied it by optional `pending`, `resolving`, `event`); core/state-migration.ts
 * reads 1 and upgrades it at load.
 */
export const STATE_SCHEMA_VERSION = 2 as const;
/** The versions a store reads (and the engine upgrades to STATE_SCHEMA_VERSION at load). */
export const READABLE_STATE_VERSIONS: readonly number[] = [1, STATE_SCHEMA_VERSION];

/** An AWS region name (`ap-northeast-2`), as the config and `ipdrift cost --region` accept it. */
export const AWS_REGION_PATTERN = /^[a-z]{2}(-[a-z]+)+-\d$/;
