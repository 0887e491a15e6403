/**
 * Advice per finding kind: specific to the web server in the path and its version when we know
 * them (from its `Server` header or the target's `server` hint), and to the target type (an
 * Aurora endpoint's failing address is an instance, not a load balancer node). Every fact here
 * was checked against the servers' own documentation and sources (README, "Advice").
 */
import type { FindingKind } from './types.ts';

/** The web servers whose fixes ipdrift knows. */
export type WebServer = 'apache' | 'nginx' | 'haproxy';

/** Target types, as the config names them. */
export type AdviceTargetType = 'elb' | 'web-tier' | 'aurora';

/** A web server and, when its `Server` header said, its version (`2.4.57`). */
export interface ServerInfo {
  server: WebServer;
  version?: string;
}

/** How each server's advice begins: the e2e report tells whose fix an advice gives by it. */
export const SERVER_LABEL: Record<WebServer, string> = { apache: 'Apache httpd', nginx: 'nginx', haproxy: 'HAProxy' };

/**
 * The server and its full version (`2.4.57`). A shortened one (`Apache/2.4` under `ServerTokens
 * Minor`) is no version at all: 2.4 could be before or after every fix.
 */
const SERVER_PATTERNS: readonly [WebServer, RegExp][] = [
  ['apache', /\b(?:apache(?!-coyote)|httpd)(?:\/(\d+\.\d+\.\d+))?/i],
  ['nginx', /\b(?:nginx|openresty)(?:\/(\d+\.\d+\.\d+))?/i],
  ['haproxy', /\bhaproxy(?:[/ ](\d+\.\d+\.\d+))?/i],
];

/** Recognises Apache httpd, nginx or HAProxy and its version from a `Server` header; else the hint. */
export function serverInfo(serverHeader: string | undefined, hint?: WebServer): ServerInfo | undefined {
  for (const [server, re] of SERVER_PATTERNS) {
    const m = serverHeader ? re.exec(serverHeader) : null;
    if (!m) continue;
    // A header naming another server than the hint is the upstream's (httpd and HAProxy pass it through): trust the hint.
    if (hint && hint !== server) return { server: hint };
    return m[1] ? { server, version: m[1] } : { server };
  }
  return hint ? { server: hint } : undefined;
}

/** -1, 0 or 1 comparing dotted versions (`2.4.9` < `2.4.59`); missing parts count as 0. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

/** Versions the fixes depend on. */
export const FIX_VERSIONS = {
  /** httpd: `addressttl` on ProxyPass / BalancerMember. */
  apacheAddressTtl: '2.4.59',
  /** httpd: connections no longer closed before the address TTL (BZ 69126). */
  apacheAddressTtlFixed: '2.4.60',
  /** nginx open source: `server NAME resolve` in an upstream with a zone. */
  nginxResolve: '1.27.3',
} as const;

const at = (v: string | undefined, min: string) => v !== undefined && compareVersions(v, min) >= 0;
const below = (v: string | undefined, min: string) => v !== undefined && compareVersions(v, min) < 0;

function apacheFix(version: string | undefined): string {
  const name = version ? `Apache httpd ${version}` : 'Apache httpd';
  const add = '`addressttl=30` (or less; the default -1 keeps the address until restart; `ttl=` is about idle connections, not DNS)';
  const restart = 'Restart httpd (graceful) now to recover.';
  if (below(version, FIX_VERSIONS.apacheAddressTtl)) {
    return `${name} has no \`addressttl\` (${FIX_VERSIONS.apacheAddressTtl}+): mod_proxy resolves the backend once per worker and keeps the address for the life of the child process. Upgrade to ${FIX_VERSIONS.apacheAddressTtlFixed} or later and add ${add} to the ProxyPass/BalancerMember line; until then \`disablereuse=On\` (a new connection and lookup per request) or a graceful restart after each address change. ${restart}`;
  }
  if (version !== undefined && compareVersions(version, FIX_VERSIONS.apacheAddressTtl) === 0) {
    return `${name} has \`addressttl\`, but closes connections before the TTL runs out (fixed in ${FIX_VERSIONS.apacheAddressTtlFixed}, BZ 69126): upgrade to ${FIX_VERSIONS.apacheAddressTtlFixed}+ and add ${add} to the ProxyPass/BalancerMember line. ${restart}`;
  }
  if (at(version, FIX_VERSIONS.apacheAddressTtlFixed)) {
    return `${name} keeps the ProxyPass backend's address until restart unless told otherwise: add ${add} to the ProxyPass/BalancerMember line. ${restart}`;
  }
  return `${name} resolves the ProxyPass backend once per worker and keeps the address until restart. On httpd ${FIX_VERSIONS.apacheAddressTtlFixed}+ add ${add} to the ProxyPass/BalancerMember line; older versions have no \`addressttl\` (${FIX_VERSIONS.apacheAddressTtl}+): upgrade, or use \`disablereuse=On\`, or restart after each address change. ${restart}`;
}

function nginxFix(version: string | undefined): string {
  const name = version ? `nginx ${version}` : 'nginx';
  const resolver = '`resolver <VPC resolver> valid=10s ipv6=off;`';
  const upstream = `an \`upstream\` with \`zone up 64k;\` and \`server NAME:PORT resolve;\` plus ${resolver} (nginx refuses to start without the zone and the resolver)`;
  const variable = `${resolver} with a variable in proxy_pass (\`set $up http://NAME:PORT; proxy_pass $up;\`), and no other proxy_pass or upstream naming the same host and port (nginx would silently use that static group)`;
  const reload = 'Reload nginx now to recover.';
  const base = `${name} resolves a static \`proxy_pass http://NAME\` once, at start or reload.`;
  if (at(version, FIX_VERSIONS.nginxResolve)) return `${base} Use ${upstream}. ${reload}`;
  if (below(version, FIX_VERSIONS.nginxResolve)) {
    return `${base} This version has no \`server ... resolve\` in open source (${FIX_VERSIONS.nginxResolve}+, stable 1.28.0): use ${variable}; or upgrade and use ${upstream}. ${reload}`;
  }
  return `${base} Since ${FIX_VERSIONS.nginxResolve} (stable 1.28.0) use ${upstream}; older versions: ${variable}. ${reload}`;
}

function haproxyFix(version: string | undefined): string {
  const name = version ? `HAProxy ${version}` : 'HAProxy';
  return (
    `${name} resolves \`server\` names once at start unless the backend uses a \`resolvers\` section. Add ` +
    '`resolvers vpc` (`nameserver dns1 <VPC resolver>:53`; servers are re-resolved every `timeout resolve`, default 1 s) and ' +
    '`server-template app 8 NAME:PORT resolvers vpc init-addr last,none`. Reload HAProxy now to recover.'
  );
}

/** How each web server stops caching the upstream's addresses, for its version when known. */
export function serverFix(info: ServerInfo): string {
  if (info.server === 'apache') return apacheFix(info.version);
  if (info.server === 'nginx') return nginxFix(info.version);
  return haproxyFix(info.version);
}

const GENERIC_STALE =
  "The web tier cached the upstream name's old addresses. Make it re-resolve the name within the record's TTL " +
  '(60 s for ELB names): httpd `addressttl`, nginx `resolve` or `resolver` + variable, HAProxy `resolvers`; a JVM ' +
  'client `networkaddress.cache.ttl` at most 60 s; pooled keep-alive connections ignore DNS changes (cap their lifetime). ' +
  'Or put an NLB (fixed addresses) in between. Restart or reload the web tier now to recover.';

const CACHE_RISK =
  'Nothing fails yet: this host keeps using the load balancer but has not asked DNS for its name for far longer than the TTL, ' +
  'so it cached the answer (a JVM with networkaddress.cache.ttl=-1 or a security manager, a process that resolves once at start, ' +
  'httpd before 2.4.59 without addressttl, nginx with a static proxy_pass) or rides connections opened long ago. At the next node ' +
  'change it will keep the old addresses: give it a DNS TTL (networkaddress.cache.ttl=60, a pool max lifetime of a few minutes, ' +
  'httpd addressttl, nginx resolve, HAProxy resolvers). A host whose queries the Route 53 Resolver answered from its cache is not ' +
  'logged: if many hosts ask for this name, check this one before you change it.';

/** A flow-log client of an Aurora cluster's old writer. */
const OLD_WRITER_CLIENT =
  'This host still connects to the old writer after the failover: if it connects through the cluster endpoint, it kept the old answer, and its writes fail (read-only). ' +
  'Make it re-resolve (JVM networkaddress.cache.ttl at most 5 s), drop pooled connections after a failover (a pool max lifetime), or use a failover-aware driver (AWS Advanced JDBC Wrapper) or RDS Proxy. ' +
  'A client of the reader endpoint connects there on purpose: nothing to do for it.';

const AT_RISK =
  'No page yet: a client still reaches a retired node that still answers (it drains). Either it keeps a pooled keep-alive connection ' +
  '(Go, Envoy, undici, nginx upstream `keepalive`): it moves by itself when the node closes it, and nothing is wrong; or it cached the ' +
  "name's answer: it fails when the node goes, and ipdrift pages at once then. Nothing to do now unless you know the client resolves once.";

const ADVICE: Record<FindingKind, string> = {
  'address-set-changed':
    'No action needed: the load balancer scaled or replaced nodes, as designed. Clients that cache DNS answers longer than the TTL keep using the addresses that left.',
  'retired-address-answering':
    'No action needed: a replaced node drains before its address is released. Clients that cached it still work for now; ipdrift pages only if one of them is seen failing.',
  'retired-address-dead':
    'No action needed: the load balancer released a retired node, as designed. It matters only if a client still uses the address; ipdrift pages when a web tier shows it does.',
  'retired-address-reassigned':
    'A retired address now answers as another service: a client that still caches it sends traffic (and credentials) there. Find such clients (web tiers, JVMs, connection pools that resolved the name once), restart them and fix their DNS caching.',
  'current-address-unhealthy':
    "An address in the current answer fails its probe: check the load balancer node, its security groups (they must admit the monitor) and the targets' health.",
  'resolution-failed': 'The lookup failed; history was left unchanged. Check the resolver (VPC DNS, Route 53 Resolver rules) and the name.',
  'unusable-address':
    'The resolver answered with an address no load balancer node or database instance can have; ipdrift did not probe it (it would have tested this host or the metadata service). Clients that use this answer fail. Check the record, private hosted zones and Route 53 Resolver rules that override the name, and the resolver itself.',
  'stale-address-at-risk': AT_RISK,
  'stale-address-suspected': GENERIC_STALE,
  'stale-address-confirmed': GENERIC_STALE,
  'writer-changed': 'No action needed by itself. Clients must reconnect to the new writer; watch the dns-lag finding and failover timeline.',
  'dns-lag':
    'The cluster endpoint still names the old writer. Clients that connect now reach a reader or nothing. Consider the AWS Advanced JDBC Wrapper failover plugin, or connect via the instance endpoint the API names.',
  'stale-client-seen':
    'The flow logs name a client that still sends to an address the load balancer gave back: it resolved the name once and keeps the answer. Find the process on that host: a JVM caches DNS forever with a security manager (networkaddress.cache.ttl; 30 s without), connection pools keep connections to the old address, and some resolvers and proxies resolve only at start (httpd before 2.4.59 without addressttl, nginx with a static proxy_pass). Restart it now; then give it a DNS TTL (networkaddress.cache.ttl=60, pool max lifetime under a few minutes, httpd addressttl, nginx resolve, HAProxy resolvers).',
  'dns-cache-at-risk': CACHE_RISK,
  'endpoint-reaches-reader':
    'A login through the writer endpoint landed on a read-only instance, so clients connecting now get "cannot execute ... in a read-only transaction" (PostgreSQL) or ERROR 1290 "--read-only" (MySQL) on every write. Right after a failover this is the old writer, still named by DNS or by a cache: see dns-lag and the failover timeline; drop and reopen pooled connections once DNS names the new writer. To take DNS out of the path: the AWS Advanced JDBC Wrapper failover plugin, or RDS Proxy.',
};

/** Where a target type's own words replace the generic ones. */
const TYPE_ADVICE: Partial<Record<AdviceTargetType, Partial<Record<FindingKind, string>>>> = {
  aurora: {
    'current-address-unhealthy':
      'An address the endpoint names now fails the database probe: the instance is restarting or failing over (see the RDS events and the writer-changed finding), or its security group no longer admits the monitor on the database port.',
    // For Aurora the retired address is the old writer: answering means cached clients write to a reader.
    'retired-address-answering':
      'The old writer still answers, most likely as a reader: clients that cached it get read-only errors on writes. Make clients re-resolve (JVM networkaddress.cache.ttl at most 5 s) or use a failover-aware driver (AWS Advanced JDBC Wrapper).',
    'stale-address-at-risk': OLD_WRITER_CLIENT,
    'stale-client-seen': OLD_WRITER_CLIENT,
    'retired-address-dead':
      'The old writer no longer answers: clients that cached it fail until they resolve again. Make clients re-resolve (JVM networkaddress.cache.ttl at most 5 s) or use a failover-aware driver (AWS Advanced JDBC Wrapper).',
  },
  'web-tier': {
    'current-address-unhealthy':
      "The web tier's URL fails in a way a stale upstream cache does not explain (it refuses, fails TLS, or its upstream's current addresses fail too): check the web server itself, then its upstream's findings.",
  },
};

/** What adviceFor may know about where the finding came from. */
export interface AdviceContext {
  /** The web server in the path (stale-address kinds). */
  server?: ServerInfo;
  targetType?: AdviceTargetType;
}

/** Advice for a finding: the web server's own fix for stale-address kinds when known, the target type's words where they differ. */
export function adviceFor(kind: FindingKind, ctx: AdviceContext = {}): string {
  // The risk names the server's fix too, for a tier that does cache: the one thing to check before the node goes.
  if (kind === 'stale-address-at-risk' && ctx.server) return `${AT_RISK} If this tier caches: ${serverFix(ctx.server)}`;
  if ((kind === 'stale-address-suspected' || kind === 'stale-address-confirmed') && ctx.server) return serverFix(ctx.server);
  if (kind === 'dns-cache-at-risk' && ctx.server) return `Nothing fails yet. This tier caches the name past its TTL: ${serverFix(ctx.server)}`;
  return (ctx.targetType ? TYPE_ADVICE[ctx.targetType]?.[kind] : undefined) ?? ADVICE[kind];
}
