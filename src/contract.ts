/**
 * Names the Lambda functions and the stack (infra/) share, each defined once. This module
 * imports nothing and creates nothing, so infra can import it without creating an SDK client
 * (docs/architecture.md, "Contract").
 */

/** Environment variables the functions read and the stack sets. */
export const ENV = {
  /** Path of the bundled config (relative: to the bundle's directory). */
  configFile: 'IPDRIFT_CONFIG_FILE',
  /** The state table. */
  table: 'IPDRIFT_TABLE',
  /** The on-call topic: pages. */
  topicArn: 'IPDRIFT_TOPIC_ARN',
  /** The events topic: information for reading later (address and writer changes, failover timelines). */
  eventsTopicArn: 'IPDRIFT_EVENTS_TOPIC_ARN',
  /** Fan-out: targets per worker invocation (the scheduler). */
  shardSize: 'IPDRIFT_SHARD_SIZE',
  /** Fan-out: seconds between ticks (the scheduler). */
  intervalSeconds: 'IPDRIFT_CHECK_INTERVAL_SECONDS',
} as const;

/** The state table's keys and item naming (one table; docs/architecture.md, "State"). */
export const TABLE_KEYS = {
  partitionKey: 'pk',
  sortKey: 'sk',
  /** `pk` of a target's items: `target#<name>`. */
  targetPrefix: 'target#',
  /** `sk` of a target's state item. */
  stateSk: 'state',
  /** `sk` of an open alert: `alert#<key>`. */
  alertPrefix: 'alert#',
  /** `sk` of a history item: `change#<iso time>`. */
  changePrefix: 'change#',
  /** TTL attribute (epoch seconds) of history and tick-claim items. */
  ttlAttribute: 'expiresAt',
  /** The only partition the fan-out scheduler writes (its tick claims). */
  tickClaimPartition: 'fanout#tick',
  /** `pk` of an ELB network interface the ledger remembers: `interface#<eni id>`. */
  interfacePrefix: 'interface#',
  /** `sk` of its one item (its addresses). */
  interfaceSk: 'addresses',
} as const;

/** CloudWatch namespace of every ipdrift metric. */
export const METRIC_NAMESPACE = 'ipdrift' as const;
/** The only dimension: one series per target, never per address (each series costs money). */
export const TARGET_DIMENSION = 'Target' as const;

/** The esbuild outputs a function can ship (esbuild.config.mjs `ENTRIES`); `<name>.handler` is its handler. */
export const BUNDLE_ENTRIES = {
  monitor: 'monitor',
  scheduler: 'scheduler',
  worker: 'worker',
  /** The Aurora failover watcher (src/lambda/failover-watch.ts), only with aurora targets. */
  failoverWatch: 'failover-watch',
} as const;

/** The config's file name beside the bundle in the function's asset. */
export const BUNDLED_CONFIG_FILE = 'ipdrift.config.json' as const;
