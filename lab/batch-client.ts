/**
 * A client nobody configured: a batch host that resolved the ELB name once, at its start, and
 * keeps connecting to that address (like a JVM caching DNS forever, or a connection pool). It
 * sends from its own loopback address, so the lab's flow log names it; ipdrift knows of it only
 * from there. Bounded: it stops by itself after `maxConnections`, or on `stop()`.
 */
import { connect } from 'node:net';
import { assertLoopback } from './loopback.ts';

export interface BatchClientOptions {
  /** Its own loopback address (the flow log's source). */
  host: string;
  /** The address it resolved once, and the port. */
  address: string;
  port: number;
  everyMs?: number;
  maxConnections?: number;
}

export class LabBatchClient {
  /** Connections made. */
  connections = 0;
  #timer: NodeJS.Timeout | undefined;

  private constructor(readonly opts: Required<BatchClientOptions>) {}

  static start(opts: BatchClientOptions): LabBatchClient {
    assertLoopback(opts.host);
    assertLoopback(opts.address);
    const c = new LabBatchClient({ everyMs: 300, maxConnections: 2_000, ...opts });
    c.#tick();
    return c;
  }

  #tick(): void {
    if (this.connections >= this.opts.maxConnections) return;
    this.connections++;
    const s = connect({ host: this.opts.address, port: this.opts.port, localAddress: this.opts.host });
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
