/**
 * ELB-like nodes for the lab: one HTTP server per loopback address, standing for one load
 * balancer node (or the app behind it). A node can stop accepting (`refuse`) or accept and
 * never answer (`swallow`: an address AWS released, the case that stalled the web tier).
 */
import { createServer as createHttpServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { once } from 'node:events';
import { SocketSet, assertLoopback, plainIPv4 } from './loopback.ts';
import { LAB_TCP_FLAGS } from './flow-log.ts';
import type { LabFlowLog } from './flow-log.ts';

/** How often an open connection gets a flow record (AWS: the aggregation interval, 1 to 10 minutes). */
export const LAB_FLOW_INTERVAL_MS = 1000;

/** What a node does with connections. */
export const NODE_MODES = ['serve', 'refuse', 'swallow'] as const;
/** `serve`: HTTP; `refuse`: no listener (connection refused); `swallow`: accept, never answer. */
export type NodeMode = (typeof NODE_MODES)[number];

/** The `Server` header every node sends. */
export const LAB_NODE_SERVER_HEADER = 'ipdrift-lab-node' as const;

/** Paths with a meaning of their own. */
export const NODE_PATHS = { health: '/health', whoami: '/whoami' } as const;

/** Where and how to start a node. */
export interface LabNodeOptions {
  /** Loopback address to bind, e.g. `127.0.0.11`. */
  host: string;
  /** Port; 0 or absent picks a free one, kept across mode changes. */
  port?: number;
  /** Label for responses and logs; defaults to `host:port`. */
  name?: string;
  /** Initial mode, `serve` unless told. */
  mode?: NodeMode;
  /** Writes a flow log record for every connection (lab/flow-log.ts). */
  flowLog?: LabFlowLog;
}

/** A running lab node. */
export class LabNode {
  /** HTTP requests this node answered. */
  requests = 0;
  /** TCP connections accepted, in any mode. */
  accepted = 0;
  readonly #name: string | undefined;
  readonly #http = createHttpServer((req, res) => this.#onRequest(req, res));
  readonly #sockets = new SocketSet();
  /** Requests held unanswered while swallowing; kept so `stop()` can end them. */
  readonly #held = new Set<ServerResponse>();
  #flowTimer: NodeJS.Timeout | undefined;
  #listener: Server | undefined;
  #mode: NodeMode;
  #port: number;
  #stopping: Promise<void> | undefined;
  /** Flow log records of the connections this node sees; none unless given. */
  flowLog: LabFlowLog | undefined;

  private constructor(
    readonly host: string,
    port: number,
    name: string | undefined,
    mode: NodeMode,
  ) {
    this.#port = port;
    this.#mode = mode;
    this.#name = name;
  }

  /** Starts a node; see {@link startNode}. */
  static async start(opts: LabNodeOptions): Promise<LabNode> {
    assertLoopback(opts.host);
    const node = new LabNode(opts.host, opts.port ?? 0, opts.name, opts.mode ?? 'serve');
    node.flowLog = opts.flowLog;
    node.#flowTimer = setInterval(() => node.#recordOpenConnections(), LAB_FLOW_INTERVAL_MS);
    node.#flowTimer.unref();
    // Bind even when starting in `refuse`, so the port is known and kept for later modes.
    await node.#listen();
    if (node.#mode === 'refuse') await node.#close();
    return node;
  }

  /** The bound port (fixed at start, even while refusing). */
  get port(): number {
    return this.#port;
  }

  /** The label given at start, else `host:port`. */
  get name(): string {
    return this.#name ?? this.address;
  }

  /** `host:port`. */
  get address(): string {
    return `${this.host}:${this.#port}`;
  }

  /** The current mode. */
  get mode(): NodeMode {
    return this.#mode;
  }

  /** Switches mode without changing address or port. Open connections are reset on `refuse`. */
  async setMode(mode: NodeMode): Promise<void> {
    if (this.#stopping) throw new Error(`node ${this.name} is stopped`);
    this.#mode = mode;
    if (mode === 'refuse') {
      await this.#close();
      return;
    }
    if (!this.#listener) await this.#listen();
    if (mode === 'serve') this.#releaseHeld();
  }

  /** Closes the listener and every connection, including held requests. Safe to call twice. */
  stop(): Promise<void> {
    clearInterval(this.#flowTimer);
    this.#stopping ??= this.#close();
    return this.#stopping;
  }

  /**
   * A flow log records an open connection once per aggregation interval, not only when it opens:
   * every `LAB_FLOW_INTERVAL_MS` each connection still open gets a record without SYN (a pooled
   * connection a proxy keeps riding).
   */
  #recordOpenConnections(): void {
    const flowLog = this.flowLog;
    if (!flowLog) return;
    for (const socket of this.#sockets) flowLog.recordSocket(socket, { host: this.host, port: this.#port }, LAB_TCP_FLAGS.ack);
  }

  async #listen(): Promise<void> {
    const listener = createTcpServer((socket) => this.#onConnection(socket));
    listener.listen(this.#port, this.host);
    await once(listener, 'listening');
    this.#port = (listener.address() as AddressInfo).port;
    this.#listener = listener;
  }

  async #close(): Promise<void> {
    const listener = this.#listener;
    this.#listener = undefined;
    this.#held.clear();
    this.#sockets.destroyAll();
    if (listener) {
      const closed = once(listener, 'close');
      listener.close();
      await closed;
    }
  }

  #onConnection(socket: Socket): void {
    this.accepted++;
    this.#sockets.add(socket);
    this.flowLog?.recordSocket(socket, { host: this.host, port: this.#port });
    // Swallow: the TCP handshake completes (the kernel did it) and then nothing, ever. What the client
    // sends is read and dropped, so its close is seen (an unread socket never sees the FIN, and would
    // stay "open" in the flow log after the client gave up).
    if (this.#mode === 'swallow') {
      socket.resume();
      return;
    }
    this.#http.emit('connection', socket);
  }

  #onRequest(req: IncomingMessage, res: ServerResponse): void {
    req.resume();
    // A keep-alive connection opened while serving must go silent too once the node swallows.
    if (this.#mode !== 'serve') {
      this.#held.add(res);
      return;
    }
    this.#answer(req, res);
  }

  #releaseHeld(): void {
    for (const res of this.#held) if (!res.destroyed) this.#answer(res.req, res);
    this.#held.clear();
  }

  #answer(req: IncomingMessage, res: ServerResponse): void {
    this.requests++;
    const path = (req.url ?? '/').split('?')[0];
    // For a real internal ALB the app sees the ALB node's private address: our own address stands for it.
    const body = path === NODE_PATHS.health ? 'ok' : path === NODE_PATHS.whoami ? plainIPv4(req.socket.localAddress) : `${this.name} ${req.method} ${path}\n`;
    res.writeHead(200, { server: LAB_NODE_SERVER_HEADER, 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }
}

/** Starts an ELB-like node: `GET /health` -> `ok`, `GET /whoami` -> its own address, else a small body. */
export function startNode(opts: LabNodeOptions): Promise<LabNode> {
  return LabNode.start(opts);
}

/** Starts a listener that accepts connections and never answers (a released address). */
export function startSwallow(host: string, port = 0): Promise<LabNode> {
  return LabNode.start({ host, port, mode: 'swallow', name: `swallow ${host}` });
}
