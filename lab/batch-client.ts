/**
 * A client nobody configured: a batch host that resolves the ELB name once, at its start, and
 * keeps connecting to that address (like a JVM caching DNS forever, or a connection pool). It
 * sends from its own loopback address, so the lab's flow log names it; ipdrift knows of it only
 * from there. Bounded: it stops by itself after `maxConnections`, or on `stop()`.
 */
import { Resolver } from 'node:dns/promises';
import { connect } from 'node:net';
import { assertLoopback } from './loopback.ts';

/** Bound on its one lookup. */
const RESOLVE_TIMEOUT_MS = 2_000;

export interface BatchClientOptions {
  /** Its own loopback address (the flow log's source). */
  host: string;
  /** The name it resolves once, at its start, through the lab DNS server (`host:port`), from `host`; it keeps the first address. */
  lookup: { name: string; resolver: string };
  port: number;
  everyMs?: number;
  maxConnections?: number;
}

export class LabBatchClient {
  /** Connections made. */
  connections = 0;
  #timer: NodeJS.Timeout | undefined;

  private constructor(
    readonly opts: Required<BatchClientOptions>,
    /** The address it resolved, and keeps. */
    readonly address: string,
  ) {}

  static async start(opts: BatchClientOptions): Promise<LabBatchClient> {
    assertLoopback(opts.host);
    const resolver = new Resolver({ timeout: RESOLVE_TIMEOUT_MS, tries: 1 });
    resolver.setServers([opts.lookup.resolver]);
    resolver.setLocalAddress(opts.host);
    const [address] = await resolver.resolve4(opts.lookup.name);
    if (address === undefined) throw new Error(`batch client: ${opts.lookup.name} has no address`);
    assertLoopback(address);
    const c = new LabBatchClient({ everyMs: 300, maxConnections: 2_000, ...opts }, address);
    c.#tick();
    return c;
  }

  #tick(): void {
    if (this.connections >= this.opts.maxConnections) return;
    this.connections++;
    const s = connect({ host: this.address, port: this.opts.port, localAddress: this.opts.host });
    s.on('error', () => undefined);
    s.once('connect', () => s.destroy());
    // A swallowing node never answers: the batch job gives up on its own schedule, not ours.
    s.setTimeout(this.opts.everyMs, () => s.destroy());
    this.#timer = setTimeout(() => this.#tick(), this.opts.everyMs);
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.connections = this.opts.maxConnections;
  }
}
