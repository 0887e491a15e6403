/**
 * Every finding kind and what ipdrift says of it, in one place (docs/architecture.md, "Findings
 * and incidents"): its severity, whether it is a one-off event or a tracked risk, the condition
 * its incidents share, its meaning in one line, what "recovered" means for it, and its generic
 * advice (core/advice.ts gives the web server's or the target type's own words where they
 * differ). The kind tables of core/types.ts, core/notice.ts, core/recovery.ts and core/advice.ts
 * are derived from it; a test holds the README's and the architecture's tables to it.
 * Imports nothing.
 */

/** What one finding kind is. */
export interface FindingKindEntry {
  readonly severity: 'info' | 'warning' | 'critical';
  /** A one-off event: notified once (events topic), never open, never resolved. */
  readonly event?: true;
  /**
   * Information tracked as an alert all the same: a risk that may become the incident of its
   * condition. Told to the events topic only, without reminders.
   */
  readonly risk?: true;
  /** The condition its incidents share (alert key `<target>/<condition>`); default: the kind itself. */
  readonly condition?: string;
  /** What it means, in one line (a notice's "Finding:" line). */
  readonly meaning: string;
  /** What has recovered when its incident resolves (a RESOLVED notice's words). */
  readonly recovered: string;
  /** The advice when nothing more specific is known. */
  readonly advice: string;
}

/** Every finding kind (stable identifiers: the CLI's --json and the notices use them). */
export const FINDING_CATALOGUE = {
  'address-set-changed': {
    severity: 'info',
    event: true,
    meaning: "the name's addresses changed: which came, which left",
    recovered: 'the address set is steady',
    advice:
      'No action needed: the load balancer scaled or replaced nodes, as designed. Clients that cache DNS answers longer than the TTL keep using the addresses that left.',
  },
  'retired-address-answering': {
    severity: 'info',
    meaning: 'a retired address still accepts probes: cached clients still work, for now',
    recovered: 'no retired address answers any more',
    advice:
      'No action needed: a replaced node drains before its address is released. Clients that cached it still work for now; ipdrift pages only if one of them is seen failing.',
  },
  'retired-address-dead': {
    severity: 'info',
    meaning: 'a retired address stopped answering (the node was released): expected; it matters only with evidence that a client still uses it',
    recovered: 'no retired address is missed',
    advice:
      'No action needed: the load balancer released a retired node, as designed. It matters only if a client still uses the address; ipdrift pages when a web tier shows it does.',
  },
  'retired-address-reassigned': {
    severity: 'warning',
    meaning: 'a retired address answers as someone else (certificate or identity mismatch); critical only with evidence that a client still sends to it',
    recovered: 'no retired address answers as another service',
    advice:
      'A retired address now answers as another service: a client that still caches it sends traffic (and credentials) there. Find such clients (web tiers, JVMs, connection pools that resolved the name once), restart them and fix their DNS caching.',
  },
  'current-address-unhealthy': {
    severity: 'warning',
    meaning: 'an address in the current answer fails its probe',
    recovered: 'every current address passes its probe',
    advice:
      "An address in the current answer fails its probe: check the load balancer node, its security groups (they must admit the monitor) and the targets' health.",
  },
  'resolution-failed': {
    severity: 'warning',
    meaning: 'the lookup failed (timeout, SERVFAIL, NXDOMAIN); never read as "no addresses"',
    recovered: 'the name resolves',
    advice: 'The lookup failed; history was left unchanged. Check the resolver (VPC DNS, Route 53 Resolver rules) and the name.',
  },
  'unusable-address': {
    severity: 'warning',
    meaning: 'the answer names an address no node can have (unspecified, loopback, link-local or metadata, multicast, broadcast); it is never probed',
    recovered: 'the answer names only addresses a node can have',
    advice:
      'The resolver answered with an address no load balancer node or database instance can have; ipdrift did not probe it (it would have tested this host or the metadata service). Clients that use this answer fail. Check the record, private hosted zones and Route 53 Resolver rules that override the name, and the resolver itself.',
  },
  'stale-address-at-risk': {
    severity: 'info',
    risk: true,
    // The risk and the incident are one condition: the risk's alert escalates in place when the node goes.
    condition: 'stale-upstream',
    meaning:
      'a client (a web tier by its echo, or a flow-log client) still reaches a retired address that still answers: a cached answer, or a pooled connection that moves by itself when the node goes; not a page',
    recovered: 'no client reaches a retired address',
    advice:
      "No page yet: a client still reaches a retired node that still answers (it drains). Either it keeps a pooled keep-alive connection (Go, Envoy, undici, nginx upstream `keepalive`): it moves by itself when the node closes it, and nothing is wrong; or it cached the name's answer: it fails when the node goes, and ipdrift pages at once then. Nothing to do now unless you know the client resolves once.",
  },
  'stale-address-suspected': {
    severity: 'critical',
    condition: 'stale-upstream',
    meaning: "the web tier fails or slows while its upstream's current addresses are healthy, past the TTL after the upstream retired addresses",
    recovered: 'the web tier answers, on healthy upstream addresses',
    advice:
      "The web tier cached the upstream name's old addresses. Make it re-resolve the name within the record's TTL (60 s for ELB names): httpd `addressttl`, nginx `resolve` or `resolver` + variable, HAProxy `resolvers`; a JVM client `networkaddress.cache.ttl` at most 60 s; pooled keep-alive connections ignore DNS changes (cap their lifetime). Or put an NLB (fixed addresses) in between. Restart or reload the web tier now to recover.",
  },
  'stale-address-confirmed': {
    severity: 'critical',
    condition: 'stale-upstream',
    meaning:
      'the echo shows the web tier still reaches a retired upstream address after it stopped answering, was released or now answers as another service, or with proof the tier will not move',
    recovered: 'the web tier no longer reaches a retired address',
    advice:
      "The web tier cached the upstream name's old addresses. Make it re-resolve the name within the record's TTL (60 s for ELB names): httpd `addressttl`, nginx `resolve` or `resolver` + variable, HAProxy `resolvers`; a JVM client `networkaddress.cache.ttl` at most 60 s; pooled keep-alive connections ignore DNS changes (cap their lifetime). Or put an NLB (fixed addresses) in between. Restart or reload the web tier now to recover.",
  },
  'writer-changed': {
    severity: 'info',
    event: true,
    meaning: 'the Aurora writer moved to another instance',
    recovered: 'the writer is steady',
    advice: 'No action needed by itself. Clients must reconnect to the new writer; watch the dns-lag finding and failover timeline.',
  },
  'dns-lag': {
    severity: 'warning',
    meaning: 'the cluster endpoint still names the old writer after the writer changed',
    recovered: 'the cluster endpoint names the writer',
    advice:
      'The cluster endpoint still names the old writer. Clients that connect now reach a reader or nothing. Consider the AWS Advanced JDBC Wrapper failover plugin, or connect via the instance endpoint the API names.',
  },
  'endpoint-reaches-reader': {
    severity: 'critical',
    meaning: 'a session through the writer (cluster) endpoint landed on a read-only instance: writes fail',
    recovered: 'sessions through the writer endpoint reach the writer',
    advice:
      'A login through the writer endpoint landed on a read-only instance, so clients connecting now get "cannot execute ... in a read-only transaction" (PostgreSQL) or ERROR 1290 "--read-only" (MySQL) on every write. Right after a failover this is the old writer, still named by DNS or by a cache: see dns-lag and the failover timeline; drop and reopen pooled connections once DNS names the new writer. To take DNS out of the path: the AWS Advanced JDBC Wrapper failover plugin, or RDS Proxy.',
  },
  'stale-client-seen': {
    severity: 'critical',
    // A configured web tier seen in the flow logs joins its stale-upstream incident; other
    // clients get a key of their own per client (core/assess.ts clientFindings).
    condition: 'stale-upstream',
    meaning: 'the VPC flow logs show a client still sending to a retired address, past its TTL',
    recovered: 'the flow logs show no client sending to a retired address',
    advice:
      'The flow logs name a client that still sends to an address the load balancer gave back: it resolved the name once and keeps the answer. Find the process on that host: a JVM caches DNS forever with a security manager (networkaddress.cache.ttl; 30 s without), connection pools keep connections to the old address, and some resolvers and proxies resolve only at start (httpd before 2.4.59 without addressttl, nginx with a static proxy_pass). Restart it now; then give it a DNS TTL (networkaddress.cache.ttl=60, pool max lifetime under a few minutes, httpd addressttl, nginx resolve, HAProxy resolvers).',
  },
  'dns-cache-at-risk': {
    severity: 'info',
    risk: true,
    // A tier that caches is at risk on the same condition: the risk escalates in place at the next change.
    condition: 'stale-upstream',
    meaning:
      "the flow logs show a client using the ELB's addresses, and the resolver query logs show it has not asked for the name for much longer than the TTL: it caches the answer and will be stuck at the next node change; not a page",
    recovered: 'the host asks for the name again, or no longer connects',
    advice:
      'Nothing fails yet: this host keeps using the load balancer but has not asked DNS for its name for far longer than the TTL, so it cached the answer (a JVM with networkaddress.cache.ttl=-1 or a security manager, a process that resolves once at start, httpd before 2.4.59 without addressttl, nginx with a static proxy_pass) or rides connections opened long ago. At the next node change it will keep the old addresses: give it a DNS TTL (networkaddress.cache.ttl=60, a pool max lifetime of a few minutes, httpd addressttl, nginx resolve, HAProxy resolvers). A host whose queries the Route 53 Resolver answered from its cache is not logged: if many hosts ask for this name, check this one before you change it.',
  },
} as const satisfies Record<string, FindingKindEntry>;

type Catalogue = typeof FINDING_CATALOGUE;

/** One field of every kind's entry, by kind: the tables the engine derives (severity, meaning, recovered, advice). */
export function kindColumn<F extends 'severity' | 'meaning' | 'recovered' | 'advice'>(field: F): { readonly [K in keyof Catalogue]: Catalogue[K][F] } {
  return Object.fromEntries(Object.entries(FINDING_CATALOGUE).map(([k, e]) => [k, e[field]])) as { readonly [K in keyof Catalogue]: Catalogue[K][F] };
}
