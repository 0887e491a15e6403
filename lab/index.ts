/**
 * The lab: a local stand-in for AWS DNS-based HA, on loopback only. A DNS server plays Route 53,
 * nodes play ELB nodes, web tiers play httpd/HAProxy in front of them. `Lab` owns them all so
 * one `stop()` leaves no handle behind.
 */
import { LabDnsServer } from './dns-server.ts';
import type { LabDnsServerOptions } from './dns-server.ts';
import { type LabNode, startNode, startSwallow } from './nodes.ts';
import type { LabNodeOptions } from './nodes.ts';
import { type LabWebTier, startWebTier } from './web-tier.ts';
import type { WebTierOptions } from './web-tier.ts';

export { LabDnsServer, DNS_FAULTS } from './dns-server.ts';
export type { DnsFault, LabDnsServerOptions, AddressSetOptions } from './dns-server.ts';
export { LabNode, startNode, startSwallow, NODE_MODES, NODE_PATHS, LAB_NODE_SERVER_HEADER } from './nodes.ts';
export type { NodeMode, LabNodeOptions } from './nodes.ts';
export { LabWebTier, startWebTier, WEB_TIER_MODES, WEB_TIER_SERVER_HEADERS, WEB_TIER_UPSTREAM_HEADER, WEB_TIER_DEFAULTS } from './web-tier.ts';
export type { WebTierMode, WebTierOptions } from './web-tier.ts';
export { assertLoopback, LAB_DEFAULT_HOST } from './loopback.ts';
export { labGet, waitFor, LAB_CLIENT_DEFAULTS } from './client.ts';
export type { LabResponse } from './client.ts';

/** A web tier's options inside a lab: the resolver defaults to the lab's DNS server. */
export type LabWebTierOptions = Omit<WebTierOptions, 'resolver'> & { resolver?: string };

/** A DNS server plus every node and tier started through it; `stop()` ends them all. */
export class Lab {
  readonly #parts = new Set<{ stop(): Promise<void> }>();
  #stopping: Promise<void> | undefined;

  private constructor(
    /** The lab's authoritative DNS server. */
    readonly dns: LabDnsServer,
  ) {}

  /** Starts the DNS server (default 127.0.0.1, random port). */
  static async start(opts: { dns?: LabDnsServerOptions } = {}): Promise<Lab> {
    return new Lab(await LabDnsServer.start(opts.dns));
  }

  /** Starts an ELB-like node owned by the lab. */
  startNode(opts: LabNodeOptions): Promise<LabNode> {
    return this.#own(startNode(opts));
  }

  /** Starts a listener that accepts and never answers, owned by the lab. */
  startSwallow(host: string, port = 0): Promise<LabNode> {
    return this.#own(startSwallow(host, port));
  }

  /** Starts a web tier resolving through the lab's DNS server, owned by the lab. */
  startWebTier(opts: LabWebTierOptions): Promise<LabWebTier> {
    return this.#own(startWebTier({ ...opts, resolver: opts.resolver ?? this.dns.address }));
  }

  /** Stops every tier, node and the DNS server. Safe to call more than once. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      // Tiers and nodes first, so nothing queries a DNS server that is already gone.
      await Promise.allSettled([...this.#parts].map((p) => p.stop()));
      await this.dns.stop();
    })();
    return this.#stopping;
  }

  async #own<T extends { stop(): Promise<void> }>(starting: Promise<T>): Promise<T> {
    if (this.#stopping) throw new Error('the lab is stopped');
    const part = await starting;
    this.#parts.add(part);
    if (this.#stopping) {
      // Started while stop() ran: stop it too rather than leak it.
      await part.stop();
      throw new Error('the lab stopped while this part was starting');
    }
    return part;
  }
}
