/**
 * An Aurora-like pair for the lab, on loopback only (docs/architecture.md, "The problem"):
 *
 * - two database listeners (one per "instance") that speak just enough of the wire protocol for
 *   ipdrift's probes: the MySQL server greeting, or PostgreSQL's answer to an SSLRequest;
 * - DNS on the lab server: the cluster endpoint is a CNAME to the writer's instance endpoint,
 *   the reader endpoint a CNAME to the reader's, each instance endpoint an A record;
 * - a fake RDS API (`writer()`, `failover()`) whose writer flips on failover, while the cluster
 *   endpoint's CNAME moves only after an injected lag: the part the quality team could not measure.
 *
 * `ipdrift demo aurora` and the lab drill test run the real failover timeline code against it.
 */
import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { ConfigInput } from '../src/core/config.ts';
import type { ClusterMember, WriterInfo, WriterLookup } from '../src/core/ports.ts';
import { ClusterNotFoundError, FailoverRefusedError } from '../src/core/aurora/errors.ts';
import type { FailoverStarter } from '../src/core/aurora/drill.ts';
import { LabDnsServer } from './dns-server.ts';
import { SocketSet, assertLoopback } from './loopback.ts';
import type { LabFlowLog } from './flow-log.ts';
import { TLSSocket } from 'node:tls';

/** Database engines the lab listeners speak. */
export type LabDbEngine = 'mysql' | 'postgres';

/** What a listener does with connections. */
export const DB_LISTENER_MODES = ['serve', 'refuse', 'swallow', 'blocked'] as const;
/**
 * `serve`: greeting / SSLRequest answer and an authentication request; `refuse`: no listener
 * (an instance restarting); `swallow`: accept and never answer; `blocked`: MySQL ERROR 1129 (host
 * blocked), PostgreSQL "too many clients" (53300) after the StartupMessage, as PostgreSQL does.
 */
export type DbListenerMode = (typeof DB_LISTENER_MODES)[number];

/** Wire constants of what the listeners send. */
const WIRE = {
  mysqlProtocolV10: 10,
  /** CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION | CLIENT_PLUGIN_AUTH and friends, as MySQL 8 sends. */
  capabilitiesLow: 0xffff,
  capabilitiesHigh: 0xdfff,
  charsetUtf8mb4: 0xff,
  statusAutocommit: 0x0002,
  authDataLength: 21,
  reservedBytes: 10,
  authPlugin: 'caching_sha2_password',
  errHostBlocked: 1129,
  pgSslRequestLength: 8,
  pgSslRequestCode: 80_877_103,
  /** AuthenticationSASL: what Aurora PostgreSQL asks a client for first. */
  pgAuthSasl: 10,
  pgMaxStartupBytes: 10_000,
} as const;

/** Options of one database listener. */
export interface LabDbListenerOptions {
  host: string;
  /** 0 or absent: a free port, kept across mode changes. */
  port?: number;
  engine: LabDbEngine;
  /** Label (the instance identifier). */
  name?: string;
  /** MySQL server version string in the greeting. */
  serverVersion?: string;
  /** PostgreSQL: answer 'S' and do TLS with this key and certificate (PEM); absent: answer 'N'. */
  tls?: { key: string; cert: string };
  mode?: DbListenerMode;
  /** Writes a flow log record for every connection (lab/flow-log.ts), as the instance's interface would. */
  flowLog?: LabFlowLog;
}

/** The MySQL server version the lab announces (Aurora MySQL 3 style). */
export const LAB_MYSQL_VERSION = '8.0.mysql_aurora.3.08.0-lab';

/** A HandshakeV10 packet (header + payload) with `connectionId`. */
export function mysqlGreeting(serverVersion: string, connectionId: number): Buffer {
  const authPart1 = Buffer.from('abcdefgh');
  const authPart2 = Buffer.from('ijklmnopqrst\0');
  const fixed = Buffer.alloc(4 + 8 + 1 + 2 + 1 + 2 + 2 + 1 + WIRE.reservedBytes);
  let at = 0;
  at = fixed.writeUInt32LE(connectionId, at);
  at += authPart1.copy(fixed, at);
  at = fixed.writeUInt8(0, at); // filler
  at = fixed.writeUInt16LE(WIRE.capabilitiesLow, at);
  at = fixed.writeUInt8(WIRE.charsetUtf8mb4, at);
  at = fixed.writeUInt16LE(WIRE.statusAutocommit, at);
  at = fixed.writeUInt16LE(WIRE.capabilitiesHigh, at);
  fixed.writeUInt8(WIRE.authDataLength, at);
  const payload = Buffer.concat([
    Buffer.from([WIRE.mysqlProtocolV10]),
    Buffer.from(`${serverVersion}\0`, 'latin1'),
    fixed,
    authPart2,
    Buffer.from(`${WIRE.authPlugin}\0`),
  ]);
  return withMysqlHeader(payload, 0);
}

/** An ERR packet as a server sends it before the handshake. */
export function mysqlErrPacket(code: number, message: string): Buffer {
  const head = Buffer.alloc(3);
  head.writeUInt8(0xff, 0);
  head.writeUInt16LE(code, 1);
  return withMysqlHeader(Buffer.concat([head, Buffer.from(message)]), 0);
}

function withMysqlHeader(payload: Buffer, sequence: number): Buffer {
  const header = Buffer.alloc(4);
  header.writeUIntLE(payload.length, 0, 3);
  header.writeUInt8(sequence, 3);
  return Buffer.concat([header, payload]);
}

/** A PostgreSQL ErrorResponse with severity FATAL, `message` and SQLSTATE `code`. */
export function pgErrorResponse(message: string, code = '53300'): Buffer {
  const fields = Buffer.from(`SFATAL\0C${code}\0M${message}\0\0`);
  const head = Buffer.alloc(5);
  head.write('E', 0, 'latin1');
  head.writeInt32BE(4 + fields.length, 1);
  return Buffer.concat([head, fields]);
}

/** One database instance's listener. */
export class LabDbListener {
  /** Connections accepted, in any mode. */
  accepted = 0;
  /** Greetings (MySQL) or SSLRequest answers (PostgreSQL) sent. */
  answered = 0;
  readonly #sockets = new SocketSet();
  readonly #opts: LabDbListenerOptions;
  #listener: Server | undefined;
  #mode: DbListenerMode;
  #port: number;
  #nextConnectionId = 1;
  #stopping: Promise<void> | undefined;

  private constructor(opts: LabDbListenerOptions) {
    this.#opts = opts;
    this.#port = opts.port ?? 0;
    this.#mode = opts.mode ?? 'serve';
  }

  /** Starts a listener on a loopback address. */
  static async start(opts: LabDbListenerOptions): Promise<LabDbListener> {
    assertLoopback(opts.host);
    const l = new LabDbListener(opts);
    await l.#listen();
    if (l.#mode === 'refuse') await l.#close();
    return l;
  }

  /** Bound loopback address. */
  get host(): string {
    return this.#opts.host;
  }

  /** Bound port (kept while refusing). */
  get port(): number {
    return this.#port;
  }

  /** The instance identifier, else `host:port`. */
  get name(): string {
    return this.#opts.name ?? `${this.host}:${this.#port}`;
  }

  /** What the listener does now. */
  get mode(): DbListenerMode {
    return this.#mode;
  }

  /** Switches mode on the same address and port; `refuse` drops open connections. */
  async setMode(mode: DbListenerMode): Promise<void> {
    if (this.#stopping) throw new Error(`listener ${this.name} is stopped`);
    this.#mode = mode;
    if (mode === 'refuse') await this.#close();
    else if (!this.#listener) await this.#listen();
  }

  /** Closes the listener and every connection. Safe to call twice. */
  stop(): Promise<void> {
    this.#stopping ??= this.#close();
    return this.#stopping;
  }

  async #listen(): Promise<void> {
    const server = createServer((socket) => this.#onConnection(socket));
    server.listen(this.#port, this.host);
    await once(server, 'listening');
    this.#port = (server.address() as AddressInfo).port;
    this.#listener = server;
  }

  async #close(): Promise<void> {
    const server = this.#listener;
    this.#listener = undefined;
    this.#sockets.destroyAll();
    if (server) {
      const closed = once(server, 'close');
      server.close();
      await closed;
    }
  }

  #onConnection(socket: Socket): void {
    this.accepted++;
    this.#sockets.add(socket);
    this.#opts.flowLog?.recordSocket(socket, { host: this.host, port: this.port });
    if (this.#mode === 'swallow') return;
    if (this.#opts.engine === 'mysql') this.#greet(socket);
    else this.#answerSslRequest(socket);
  }

  /** MySQL speaks first: greeting (or ERR), then waits for the client, who just leaves. */
  #greet(socket: Socket): void {
    if (this.#mode === 'blocked') {
      socket.end(
        mysqlErrPacket(
          WIRE.errHostBlocked,
          `Host '${socket.remoteAddress}' is blocked because of many connection errors; unblock with 'mysqladmin flush-hosts'`,
        ),
      );
      return;
    }
    this.answered++;
    socket.write(mysqlGreeting(this.#opts.serverVersion ?? LAB_MYSQL_VERSION, this.#nextConnectionId++));
    socket.resume();
  }

  /**
   * PostgreSQL waits for the client: an SSLRequest gets one byte ('S' then TLS, or 'N'), the
   * StartupMessage an authentication request (or "too many clients" when blocked), anything else
   * a close.
   */
  #answerSslRequest(socket: Socket): void {
    let received = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < WIRE.pgSslRequestLength) return;
      const isSslRequest = received.readInt32BE(0) === WIRE.pgSslRequestLength && received.readInt32BE(4) === WIRE.pgSslRequestCode;
      socket.removeAllListeners('data');
      if (!isSslRequest) return void socket.end();
      this.answered++;
      const tls = this.#opts.tls;
      socket.write(tls ? 'S' : 'N');
      if (!tls) return this.#answerStartup(socket);
      const secure = new TLSSocket(socket, { isServer: true, key: tls.key, cert: tls.cert });
      secure.on('error', () => secure.destroy());
      this.#answerStartup(secure);
    });
  }

  #answerStartup(socket: Socket): void {
    let received = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < 4) return;
      const length = received.readInt32BE(0);
      if (length > WIRE.pgMaxStartupBytes) return void socket.destroy();
      if (received.length < length) return;
      socket.removeAllListeners('data');
      socket.resume();
      if (this.#mode === 'blocked') return void socket.end(pgErrorResponse('sorry, too many clients already'));
      const mechanisms = Buffer.from('SCRAM-SHA-256\0\0');
      const head = Buffer.alloc(9);
      head.write('R', 0, 'latin1');
      head.writeInt32BE(8 + mechanisms.length, 1);
      head.writeInt32BE(WIRE.pgAuthSasl, 5);
      socket.write(Buffer.concat([head, mechanisms]));
    });
  }
}

/** Timings of a scripted failover, from the moment `failover()` is called. */
export interface FailoverScript {
  /** When the API starts naming the new writer (roles swapped). */
  swapAfterMs: number;
  /** The injected DNS lag: from the swap to the cluster endpoint's CNAME naming the new writer. */
  dnsLagMs: number;
  /** How long the old writer refuses connections (restarting), from the failover call. */
  restartMs: number;
}

/** Default script: a quick swap, a 3 s DNS lag (the incident's figure), a 1.5 s restart. */
export const DEFAULT_FAILOVER_SCRIPT: FailoverScript = { swapAfterMs: 400, dnsLagMs: 3000, restartMs: 1500 };

/** What the lab injected, on the same clock as the sampler (epoch milliseconds, sub-ms). */
export interface InjectedFailover {
  calledAt: number;
  swappedAt?: number;
  dnsMovedAt?: number;
  oldWriter: string;
  newWriter: string;
}

/**
 * One database instance of the lab, as the failover drives it: the lab's own listener by
 * default, or a real server (test/e2e: a PostgreSQL primary and its streaming replica).
 */
export interface AuroraInstance {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  /** The failover took it down (the old writer restarting, or stopped for good). */
  goDown(): Promise<void>;
  /** `restartMs` after going down: back, as a reader (a real server may stay down). */
  comeBack(): Promise<void>;
  /** It becomes the writer (a real replica is promoted); the API names it only once this is done. */
  promote(): Promise<void>;
  stop(): Promise<void>;
}

/** The lab's own listener as an instance: down = refusing, back = serving, promotion is nothing to do. */
function listenerInstance(l: LabDbListener): AuroraInstance & { readonly listener: LabDbListener } {
  return {
    listener: l,
    name: l.name,
    host: l.host,
    port: l.port,
    goDown: () => l.setMode('refuse'),
    comeBack: () => l.setMode('serve'),
    promote: async () => undefined,
    stop: () => l.stop(),
  };
}

/** Options of an Aurora lab. */
export interface AuroraLabOptions {
  /** Addresses `127.0.<block>.x`; distinct blocks let labs run side by side. Default 40. */
  block?: number;
  engine?: LabDbEngine;
  clusterIdentifier?: string;
  /** TTL of the endpoint records: Aurora's 5 s unless told. */
  ttlSeconds?: number;
  script?: Partial<FailoverScript>;
  /** The lab's flow log: the instances record every connection (a client on the old writer after a failover). */
  flowLog?: LabFlowLog;
  /** Clock of the injected timestamps; the sampler's default clock unless told. */
  now?: () => number;
  /**
   * Real instances instead of the lab's listeners, started by the caller on
   * `auroraLabAddresses(block).instances` (one port for both, as Aurora's); the lab stops them.
   */
  instances?: readonly [AuroraInstance, AuroraInstance];
}

/** Aurora endpoint records' TTL (5 s, as Aurora's). */
export const AURORA_TTL_SECONDS = 5;
const DEFAULT_BLOCK = 40;
const DEFAULT_CLUSTER = 'orders';

/** Loopback addresses of one Aurora lab. */
export function auroraLabAddresses(block: number) {
  const a = (host: number) => `127.0.${block}.${host}`;
  return { dns: a(1), instances: [a(11), a(12)] as const };
}

/** A running Aurora-like pair: DNS, two instances and the fake RDS API. */
export class AuroraLab implements WriterLookup, FailoverStarter {
  /** The last failover's injected timestamps (undefined before the first). */
  injected: InjectedFailover | undefined;
  /** Calls of the fake DescribeDBClusters. */
  apiCalls = 0;
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #now: () => number;
  #writerIndex: 0 | 1 = 0;
  #script: FailoverScript;
  #stopping: Promise<void> | undefined;

  private constructor(
    readonly dns: LabDnsServer,
    readonly instances: readonly [AuroraInstance, AuroraInstance],
    readonly engine: LabDbEngine,
    readonly clusterIdentifier: string,
    readonly clusterEndpoint: string,
    readonly readerEndpoint: string,
    readonly instanceEndpoints: readonly [string, string],
    readonly ttlSeconds: number,
    script: FailoverScript,
    now: () => number,
  ) {
    this.#script = script;
    this.#now = now;
    this.#publishDns();
  }

  /** Starts DNS and both instances (same port, as Aurora instances share one). */
  static async start(opts: AuroraLabOptions = {}): Promise<AuroraLab> {
    const block = opts.block ?? DEFAULT_BLOCK;
    const engine = opts.engine ?? 'mysql';
    const id = opts.clusterIdentifier ?? DEFAULT_CLUSTER;
    const addr = auroraLabAddresses(block);
    const zone = `lab${block}.ap-northeast-2.rds.lab.test`;
    const names = [1, 2].map((n) => `${id}-instance-${n}`) as [string, string];
    const dns = await LabDnsServer.start({ host: addr.dns });
    const started: { stop(): Promise<void> }[] = [dns];
    try {
      let instances = opts.instances;
      if (instances) started.push(...instances);
      else {
        const flow = opts.flowLog ? { flowLog: opts.flowLog } : {};
        const first = await LabDbListener.start({ host: addr.instances[0], engine, name: names[0], ...flow });
        started.push(first);
        const second = await LabDbListener.start({ host: addr.instances[1], port: first.port, engine, name: names[1], ...flow });
        started.push(second);
        instances = [listenerInstance(first), listenerInstance(second)];
      }
      if (instances.some((inst, i) => inst.host !== addr.instances[i] || inst.port !== instances[0].port))
        throw new Error(`the instances must listen on ${addr.instances.join(' and ')}, one port for both`);
      return new AuroraLab(
        dns,
        instances,
        engine,
        id,
        `${id}.cluster-${zone}`,
        `${id}.cluster-ro-${zone}`,
        [`${names[0]}.${zone}`, `${names[1]}.${zone}`],
        opts.ttlSeconds ?? AURORA_TTL_SECONDS,
        { ...DEFAULT_FAILOVER_SCRIPT, ...opts.script },
        opts.now ?? (() => performance.timeOrigin + performance.now()),
      );
    } catch (err) {
      await Promise.allSettled(started.map((s) => s.stop()));
      throw err;
    }
  }

  /** The lab's own listener of instance `i` (undefined for a real server). */
  listener(i: 0 | 1): LabDbListener | undefined {
    return (this.instances[i] as { listener?: LabDbListener }).listener;
  }

  /** The port every instance listens on. */
  get port(): number {
    return this.instances[0].port;
  }

  /** The instance the API names as writer now. */
  get apiWriter(): string {
    return this.instances[this.#writerIndex].name;
  }

  /** Replaces the timings of the next failover. */
  setScript(script: Partial<FailoverScript>): void {
    this.#script = { ...this.#script, ...script };
  }

  /** An ipdrift configuration watching this lab. */
  config(): ConfigInput {
    return {
      resolvers: [this.dns.address],
      allowLoopback: true,
      targets: [
        {
          name: `${this.clusterIdentifier}-db`,
          type: 'aurora',
          host: this.clusterEndpoint,
          port: this.port,
          engine: this.engine,
          clusterIdentifier: this.clusterIdentifier,
          readerHost: this.readerEndpoint,
        },
      ],
    };
  }

  /** The fake DescribeDBClusters: the writer and members as the "API" sees them. */
  async writer(clusterIdentifier: string): Promise<WriterInfo> {
    this.apiCalls++;
    if (clusterIdentifier.toLowerCase() !== this.clusterIdentifier) throw new ClusterNotFoundError(clusterIdentifier, undefined);
    const members: ClusterMember[] = this.instances.map((l, i) => ({ id: l.name, isWriter: i === this.#writerIndex }));
    return { writer: this.apiWriter, members };
  }

  /**
   * The fake FailoverDBCluster: returns at once, like the real call, and plays the script:
   * the old writer refuses connections (restart), the API names the new writer after
   * `swapAfterMs`, the cluster endpoint follows `dnsLagMs` later.
   */
  async failover(clusterIdentifier: string): Promise<void> {
    if (this.#stopping) throw new FailoverRefusedError(clusterIdentifier, 'the lab is stopped');
    if (clusterIdentifier.toLowerCase() !== this.clusterIdentifier) throw new ClusterNotFoundError(clusterIdentifier, undefined);
    if (this.injected && this.injected.dnsMovedAt === undefined)
      throw new FailoverRefusedError(clusterIdentifier, `a failover of "${clusterIdentifier}" is already in progress`);
    const { swapAfterMs, dnsLagMs, restartMs } = this.#script;
    const oldIndex = this.#writerIndex;
    const newIndex = oldIndex === 0 ? 1 : 0;
    const injected: InjectedFailover = { calledAt: this.#now(), oldWriter: this.instances[oldIndex].name, newWriter: this.instances[newIndex].name };
    this.injected = injected;
    await this.instances[oldIndex].goDown();
    this.#after(swapAfterMs, async () => {
      // A real replica's promotion takes its own time: the API names it once it is the writer.
      await this.instances[newIndex].promote();
      if (this.#stopping) return;
      this.#writerIndex = newIndex;
      injected.swappedAt = this.#now();
      this.#after(dnsLagMs, () => {
        this.#publishDns();
        injected.dnsMovedAt = this.#now();
      });
    });
    this.#after(restartMs, () => this.instances[oldIndex].comeBack());
  }

  /** Stops timers, instances and DNS. Safe to call twice. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      for (const t of this.#timers) clearTimeout(t);
      this.#timers.clear();
      await Promise.allSettled(this.instances.map((l) => l.stop()));
      await this.dns.stop();
    })();
    return this.#stopping;
  }

  /** Cluster endpoint -> writer, reader endpoint -> the other instance, instances -> addresses. */
  #publishDns(): void {
    const writer = this.#writerIndex;
    this.instances.forEach((l, i) => {
      this.dns.setA(this.instanceEndpoints[i]!, [l.host], this.ttlSeconds);
    });
    this.dns.setCname(this.clusterEndpoint, this.instanceEndpoints[writer], this.ttlSeconds);
    this.dns.setCname(this.readerEndpoint, this.instanceEndpoints[writer === 0 ? 1 : 0], this.ttlSeconds);
  }

  #after(ms: number, fn: () => void | Promise<void>): void {
    const t = setTimeout(() => {
      this.#timers.delete(t);
      if (!this.#stopping) void Promise.resolve(fn()).catch(() => undefined);
    }, ms);
    this.#timers.add(t);
  }
}
