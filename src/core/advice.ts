/**
 * Advice per finding kind: specific to the web server in the path and its version when we know
 * them (from its `Server` header or the target's `server` hint), and to the target type (an
 * Aurora endpoint's failing address is an instance, not a load balancer node). Every fact here
 * was checked against the servers' own documentation and sources (README, "Advice").
 */
import type { FindingKind } from './types.ts';
import type { TargetTypeName } from './target-types.ts';
import { FINDING_CATALOGUE, kindColumn } from './finding-catalogue.ts';

/** The web servers whose fixes ipdrift knows. */
export type WebServer = 'apache' | 'nginx' | 'haproxy';

/** Target types, as the config names them. */
export type AdviceTargetType = TargetTypeName;

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

/** A flow-log client of an Aurora cluster's old writer. */
const OLD_WRITER_CLIENT =
  'This host still connects to the old writer after the failover: if it connects through the cluster endpoint, it kept the old answer, and its writes fail (read-only). ' +
  'Make it re-resolve (JVM networkaddress.cache.ttl at most 5 s), drop pooled connections after a failover (a pool max lifetime), or use a failover-aware driver (AWS Advanced JDBC Wrapper) or RDS Proxy. ' +
  'A client of the reader endpoint connects there on purpose: nothing to do for it.';

const AT_RISK = FINDING_CATALOGUE['stale-address-at-risk'].advice;

/** The generic advice per kind (src/core/finding-catalogue.ts). */
const ADVICE: Record<FindingKind, string> = kindColumn('advice');

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
