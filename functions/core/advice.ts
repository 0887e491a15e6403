/**
 * Advice per finding kind, specific to the web server in the path when we know which one it is
 * (from its `Server` header or the target's `server` hint): each has its own fix.
 */
import type { FindingKind } from './types.ts';

export type WebServer = 'apache' | 'nginx' | 'haproxy';

/** Recognises Apache httpd, nginx or HAProxy from a `Server` header. */
export function detectServer(serverHeader: string | undefined, hint?: WebServer): WebServer | undefined {
  if (serverHeader) {
    if (/apache|httpd/i.test(serverHeader)) return 'apache';
    if (/nginx|openresty/i.test(serverHeader)) return 'nginx';
    if (/haproxy/i.test(serverHeader)) return 'haproxy';
  }
  return hint;
}

/** How each web server stops caching the upstream's addresses. */
export const SERVER_FIX: Record<WebServer, string> = {
  apache:
    'Apache httpd resolves the ProxyPass backend once per worker and keeps the address until restart. ' +
    'On httpd >= 2.4.59 add `addressttl=30` (or less) to the ProxyPass/BalancerMember line; on older versions ' +
    'upgrade, or restart (graceful) httpd after each address change. Restart httpd now to recover.',
  nginx:
    'nginx resolves a static `proxy_pass http://NAME` once at start. Use `resolver <VPC resolver> valid=10s ipv6=off;` ' +
    'with a variable in proxy_pass (`set $up http://NAME:PORT; proxy_pass $up;`), or since 1.27.3 an `upstream` with ' +
    '`zone` and `server NAME:PORT resolve;`. Reload nginx now to recover.',
  haproxy:
    'HAProxy resolves `server` names once at start unless the backend uses a `resolvers` section. Add ' +
    '`resolvers vpc` (nameserver = VPC resolver, `hold valid 10s`) and `server-template app 8 NAME:PORT resolvers vpc init-addr none`. ' +
    'Reload HAProxy now to recover.',
};

const GENERIC_STALE =
  'The web tier cached the upstream name\'s old addresses. Make it re-resolve the name within the record\'s TTL ' +
  '(60 s for ELB names), or put an NLB (fixed addresses) in between; restart or reload the web tier now to recover.';

const ADVICE: Record<FindingKind, string> = {
  'address-set-changed': 'No action needed by itself. Clients that cache DNS answers longer than the TTL will keep using the addresses that left.',
  'retired-address-answering': 'Clients that cached this address still work for now; they fail once it stops answering. Check that web tiers re-resolve the name.',
  'retired-address-dead': 'Any client still caching this address now fails or stalls. Look for web tiers or pools that resolved the name once (see stale-address findings).',
  'retired-address-reassigned': 'A retired address now serves someone else: cached clients send traffic (and credentials) to another service. Restart clients that cache DNS now and fix their resolution.',
  'current-address-unhealthy': 'An address in the current answer fails its probe: check the load balancer node, its security groups and the targets\' health.',
  'resolution-failed': 'The lookup failed; history was left unchanged. Check the resolver (VPC DNS, Route 53 Resolver rules) and the name.',
  'stale-address-suspected': GENERIC_STALE,
  'stale-address-confirmed': GENERIC_STALE,
  'writer-changed': 'No action needed by itself. Clients must reconnect to the new writer; watch the dns-lag finding and failover timeline.',
  'dns-lag': 'The cluster endpoint still names the old writer. Clients that connect now reach a reader or nothing. Consider the AWS Advanced JDBC Wrapper failover plugin, or connect via the instance endpoint the API names.',
};

/** Advice for a finding; for stale-address kinds, the web server's own fix when known. */
export function adviceFor(kind: FindingKind, server?: WebServer): string {
  if ((kind === 'stale-address-suspected' || kind === 'stale-address-confirmed') && server) return SERVER_FIX[server];
  return ADVICE[kind];
}
