/**
 * Web tiers for the lab: HTTP reverse proxies in front of an upstream *name*, resolved through
 * the lab DNS server. `stale` resolves once and keeps the answer forever, as Apache httpd <= 2.4.58
 * mod_proxy does per worker (the incident); `fresh` re-resolves when the TTL runs out, as HAProxy
 * with a `resolvers` section or httpd with `addressttl=` do; `pooled` resolves like `fresh` for
 * every new connection but keeps idle upstream connections for reuse (a Node.js keep-alive Agent
 * keyed by the name, as Go's Transport, undici and nginx upstream `keepalive` do): it rides a
 * draining node until the node closes the connection, then dials a current one.
 */
import { Agent, createServer, request } from 'node:http';
import type { ClientRequest, IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isIPv4 } from 'node:net';
import { Resolver } from 'node:dns/promises';
import { once } from 'node:events';
import { SocketSet, assertLoopback, plainIPv4 } from './loopback.ts';

/** How a tier treats the upstream's DNS answer. */
export const WEB_TIER_MODES = ['stale', 'fresh', 'pooled'] as const;
/** `stale`: first answer kept forever; `fresh`: re-resolved once its TTL expires; `pooled`: fresh, over pooled keep-alive connections. */
export type WebTierMode = (typeof WEB_TIER_MODES)[number];

/** Default `Server` header per mode: the stale one names the httpd release the incident had. */
export const WEB_TIER_SERVER_HEADERS = {
  stale: 'Apache/2.4.58 (Unix) ipdrift-lab',
  fresh: 'ipdrift-lab-fresh',
  pooled: 'ipdrift-lab-pooled',
} as const satisfies Record<WebTierMode, string>;

/** Response header naming the upstream address a request went to (lab diagnostics only). */
export const WEB_TIER_UPSTREAM_HEADER = 'x-ipdrift-lab-upstream' as const;

export const WEB_TIER_DEFAULTS = {
  /** Much shorter than httpd's 60 s `timeout`, so demos and tests see the stall quickly. */
  upstreamTimeoutMs: 3000,
  dnsTimeoutMs: 1000,
  dnsTries: 2,
} as const;

/** Hop-by-hop headers (RFC 9110 7.6.1) a proxy must not forward; `server` is replaced by ours. */
const NOT_FORWARDED = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'server',
]);

/** How to start a web tier. */
export interface WebTierOptions {
  /** Loopback address to bind. */
  host: string;
  /** Port; 0 or absent picks a free one. */
  port?: number;
  /** The upstream's DNS name (an IPv4 literal skips DNS). */
  upstreamHost: string;
  upstreamPort: number;
  /** The lab DNS server, `host:port`; the system resolver is never used. */
  resolver: string;
  mode: WebTierMode;
  serverHeader?: string;
  /** Time allowed for the upstream to connect and send its response headers; then 504. */
  upstreamTimeoutMs?: number;
}

/** A running web tier. */
export class LabWebTier {
  /** DNS lookups made so far (a stale tier makes one, unless the first failed). */
  lookups = 0;
  readonly mode: WebTierMode;
  readonly serverHeader: string;
  readonly #opts: WebTierOptions;
  readonly #timeoutMs: number;
  readonly #server = createServer((req, res) => void this.#proxy(req, res));
  readonly #sockets = new SocketSet();
  readonly #inflight = new Set<ClientRequest>();
  readonly #resolvers = new Set<Resolver>();
  /** `pooled`: idle upstream connections, kept per name (never re-resolved while they live). */
  readonly #agent = new Agent({ keepAlive: true, scheduling: 'lifo' });
  #addresses: string[] = [];
  #expiresAt = 0;
  #next = 0;
  #resolving: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;

  private constructor(opts: WebTierOptions) {
    this.#opts = opts;
    this.mode = opts.mode;
    this.serverHeader = opts.serverHeader ?? WEB_TIER_SERVER_HEADERS[opts.mode];
    this.#timeoutMs = opts.upstreamTimeoutMs ?? WEB_TIER_DEFAULTS.upstreamTimeoutMs;
    this.#server.on('connection', (socket) => this.#sockets.add(socket));
  }

  /** Starts a tier; see {@link startWebTier}. */
  static async start(opts: WebTierOptions): Promise<LabWebTier> {
    assertLoopback(opts.host);
    const tier = new LabWebTier(opts);
    // Resolve at start like httpd's worker init; a failure here is retried on the first request.
    await tier.#addressesNow().catch(() => undefined);
    tier.#server.listen(opts.port ?? 0, opts.host);
    await once(tier.#server, 'listening');
    return tier;
  }

  get host(): string {
    return this.#opts.host;
  }

  get port(): number {
    return (this.#server.address() as AddressInfo | null)?.port ?? this.#opts.port ?? 0;
  }

  /** Base URL of the tier, e.g. `http://127.0.0.5:40123`. */
  get url(): string {
    return `http://${this.host}:${this.port}`;
  }

  /** The upstream addresses the tier holds now (what it will send requests to). */
  currentAddresses(): readonly string[] {
    return [...this.#addresses];
  }

  /** Closes the listener, client connections, upstream requests and lookups. Safe to call twice. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      const closed = once(this.#server, 'close');
      this.#server.close();
      this.#sockets.destroyAll();
      for (const req of this.#inflight) req.destroy();
      for (const resolver of this.#resolvers) resolver.cancel();
      this.#agent.destroy();
      await closed;
    })();
    return this.#stopping;
  }

  /** The held addresses, looking them up first when there are none or (fresh) their TTL ran out. */
  async #addressesNow(): Promise<string[]> {
    const { upstreamHost } = this.#opts;
    if (isIPv4(upstreamHost)) return [upstreamHost];
    if (this.#addresses.length === 0 || Date.now() >= this.#expiresAt) {
      // One lookup at a time; concurrent requests wait for it rather than storm the DNS server.
      this.#resolving ??= this.#lookup().finally(() => (this.#resolving = undefined));
      try {
        await this.#resolving;
      } catch (err) {
        // A fresh tier keeps serving its last answer while DNS is unwell, retrying each request.
        if (this.#addresses.length === 0) throw err;
      }
    }
    return this.#addresses;
  }

  async #lookup(): Promise<void> {
    // A new Resolver per lookup: some Node releases cache answers per Resolver (fixed fully in Node 22.17).
    const resolver = new Resolver({ timeout: WEB_TIER_DEFAULTS.dnsTimeoutMs, tries: WEB_TIER_DEFAULTS.dnsTries });
    resolver.setServers([this.#opts.resolver]);
    // From the tier's own address, as its host's queries reach the VPC resolver (its query log names the tier).
    resolver.setLocalAddress(this.host);
    this.#resolvers.add(resolver);
    this.lookups++;
    try {
      const records = await resolver.resolve4(this.#opts.upstreamHost, { ttl: true });
      this.#addresses = records.map((r) => r.address);
      const ttl = Math.min(...records.map((r) => r.ttl));
      this.#expiresAt = this.mode === 'stale' ? Number.POSITIVE_INFINITY : Date.now() + ttl * 1000;
    } finally {
      this.#resolvers.delete(resolver);
    }
  }

  async #proxy(req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.setHeader('server', this.serverHeader);
    let addresses: string[];
    try {
      addresses = await this.#addressesNow();
    } catch (err) {
      return fail(res, 502, `cannot resolve ${this.#opts.upstreamHost}: ${(err as { code?: string }).code ?? String(err)}`);
    }
    if (this.#stopping) return;
    const pick = () => addresses[this.#next++ % addresses.length] as string;
    // Pooled: bodies are read first, so a request can be sent again on a new connection.
    const body = this.mode === 'pooled' ? Buffer.concat(await req.toArray()) : undefined;
    if (this.#stopping) return;
    this.#forward(req, res, pick, body, true);
  }

  /**
   * Sends one request upstream. Stale and fresh: a new connection to the picked address. Pooled:
   * through the keep-alive agent, a new connection resolving the name then; a request that fails
   * on a reused connection before any answer (the node closed it as it went idle) is sent once
   * more on a new connection, never another pooled one (idle connections expire together, so the
   * next in the pool may be closing too), as Go's Transport and nginx retry idempotent requests.
   */
  #forward(req: IncomingMessage, res: ServerResponse, pick: () => string, body: Buffer | undefined, mayRetry: boolean): void {
    const pooled = this.mode === 'pooled';
    const viaPool = pooled && mayRetry;
    const chosen = pooled ? undefined : pick();
    const target = () => `${chosen ?? plainIPv4(upstream.socket?.remoteAddress)}:${this.#opts.upstreamPort}`;
    const upstream = request({
      host: chosen ?? this.#opts.upstreamHost,
      port: this.#opts.upstreamPort,
      method: req.method,
      path: req.url,
      headers: forwardHeaders(req, `${this.#opts.upstreamHost}:${this.#opts.upstreamPort}`),
      // Stale and fresh: a new connection per request, so every request meets the address it was sent to.
      agent: viaPool ? this.#agent : false,
      ...(pooled ? { lookup: poolLookup(pick), autoSelectFamily: false } : {}),
      localAddress: this.host,
    });
    if (!pooled) res.setHeader(WEB_TIER_UPSTREAM_HEADER, target());
    this.#inflight.add(upstream);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      upstream.destroy(Object.assign(new Error(`no answer from ${target()} within ${this.#timeoutMs} ms`), { code: 'ETIMEDOUT' }));
    }, this.#timeoutMs);
    upstream.on('response', (up) => {
      clearTimeout(timer);
      if (pooled) res.setHeader(WEB_TIER_UPSTREAM_HEADER, target());
      res.writeHead(up.statusCode ?? 502, responseHeaders(up.headers));
      up.pipe(res);
    });
    upstream.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (mayRetry && upstream.reusedSocket && !timedOut && !res.headersSent && !this.#stopping) {
        this.#forward(req, res, pick, body, false);
        return;
      }
      if (res.headersSent) res.destroy();
      else if (timedOut) fail(res, 504, `upstream ${target()} did not answer within ${this.#timeoutMs} ms`);
      else fail(res, 502, `upstream ${target()}: ${err.code ?? err.message}`);
    });
    upstream.on('close', () => {
      clearTimeout(timer);
      this.#inflight.delete(upstream);
    });
    // The client gave up: so does the proxy (no orphan upstream requests).
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    if (body) upstream.end(body);
    else req.pipe(upstream);
  }
}

/** A `lookup` for net.connect that answers with the tier's next address (already resolved for this request). */
function poolLookup(pick: () => string) {
  return (
    _host: string,
    opts: { all?: boolean },
    cb: (err: Error | null, address: string | { address: string; family: number }[], family?: number) => void,
  ) => {
    const address = pick();
    if (opts.all) cb(null, [{ address, family: 4 }]);
    else cb(null, address, 4);
  };
}

function forwardHeaders(req: IncomingMessage, upstreamHost: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = { host: upstreamHost };
  for (const [name, value] of Object.entries(req.headers)) if (value !== undefined && !NOT_FORWARDED.has(name)) out[name] = value;
  const client = plainIPv4(req.socket.remoteAddress);
  out['x-forwarded-for'] = req.headers['x-forwarded-for'] ? `${String(req.headers['x-forwarded-for'])}, ${client}` : client;
  return out;
}

function responseHeaders(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined && !NOT_FORWARDED.has(name)) out[name] = value;
  return out;
}

function fail(res: ServerResponse, status: 502 | 504, detail: string): void {
  if (res.destroyed || res.headersSent) return;
  const body = `${status === 504 ? 'Gateway Timeout' : 'Bad Gateway'}: ${detail}\n`;
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** Starts a web tier proxying every path to `upstreamHost:upstreamPort`; see {@link WebTierOptions}. */
export function startWebTier(opts: WebTierOptions): Promise<LabWebTier> {
  return LabWebTier.start(opts);
}
