/**
 * A real authoritative DNS server for the lab, on loopback, over UDP and TCP on the same port.
 * It stands in for Route 53: tests and the demo change records by hand and inject faults,
 * which is how the team behind the incident reproduced the stall.
 */
import { createSocket } from 'node:dgram';
import type { Socket as UdpSocket } from 'node:dgram';
import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { once } from 'node:events';
import dnsPacket from 'dns-packet';
import type { Answer, DecodedPacket, OptAnswer, Packet, Question } from 'dns-packet';
import { LabZone, RCODE, DEFAULT_TTL_SECONDS, normalizeName } from './dns-zone.ts';
import type { AddressSetOptions } from './dns-zone.ts';
import { LAB_DEFAULT_HOST, SocketSet, assertLoopback } from './loopback.ts';
import type { LabResolverLog } from './resolver-log.ts';

export type { AddressSetOptions } from './dns-zone.ts';

/** Faults the server can inject per name (or for every name with `'*'`). */
export const DNS_FAULTS = ['servfail', 'refused', 'timeout', 'truncate', 'tcp-drop'] as const;
/**
 * `servfail`/`refused`: answer with that rcode. `timeout`: drop the query (UDP and TCP).
 * `truncate`: set TC with no answers over UDP, so the client retries over TCP, which answers in full.
 * `tcp-drop`: TC over UDP, then over TCP the connection is closed without an answer (a server or
 * middlebox that resets DNS over TCP; every query pending on that connection fails with it).
 */
export type DnsFault = (typeof DNS_FAULTS)[number];

/** Where to bind; port 0 picks a free port (the same one for UDP and TCP). */
export interface LabDnsServerOptions {
  host?: string;
  port?: number;
}

const UDP_LIMITS = {
  /** RFC 1035 limit without EDNS. */
  plain: 512,
  /** Cap of what we accept from a client's EDNS buffer size. */
  ednsMax: 4096,
  /** What we advertise in our own OPT record (the DNS flag day 2020 value). */
  advertised: 1232,
} as const;

/** Attempts to find a port free for both UDP and TCP when the caller asks for port 0. */
const RANDOM_PORT_ATTEMPTS = 8 as const;
const OPCODE_QUERY = 0 as const;
const TCP_LENGTH_BYTES = 2 as const;

type Transport = 'udp' | 'tcp';

/** The lab's authoritative DNS server. */
export class LabDnsServer {
  readonly #zone = new LabZone();
  readonly #faults = new Map<string, DnsFault>();
  readonly #counts = new Map<string, number>();
  readonly #tcpSockets = new SocketSet();
  #total = 0;
  #stopping: Promise<void> | undefined;

  private constructor(
    /** Bound IPv4 address. */
    readonly host: string,
    /** Bound port, the same for UDP and TCP. */
    readonly port: number,
    private readonly udp: UdpSocket,
    private readonly tcp: Server,
  ) {
    udp.on('message', (msg, peer) => this.#handle(msg, 'udp', peer, (out) => udp.send(out, peer.port, peer.address)));
    udp.on('error', () => undefined); // a send to a vanished client must not crash the lab
    tcp.on('connection', (socket) => this.#serveTcp(socket));
  }

  /** Starts a server on `host` (default 127.0.0.1, loopback only) and `port` (default 0: random). */
  static async start(opts: LabDnsServerOptions = {}): Promise<LabDnsServer> {
    const host = opts.host ?? LAB_DEFAULT_HOST;
    assertLoopback(host);
    const wanted = opts.port ?? 0;
    for (let attempt = 1; ; attempt++) {
      const udp = createSocket('udp4');
      try {
        udp.bind(wanted, host);
        await once(udp, 'listening');
      } catch (err) {
        udp.close(); // a failed bind still holds a handle
        throw err;
      }
      const port = udp.address().port;
      const tcp = createServer();
      try {
        tcp.listen(port, host);
        await once(tcp, 'listening');
        return new LabDnsServer(host, (tcp.address() as AddressInfo).port, udp, tcp);
      } catch (err) {
        udp.close();
        // A random UDP port may be taken on TCP by someone else: pick another.
        if (wanted !== 0 || attempt >= RANDOM_PORT_ATTEMPTS) throw err;
      }
    }
  }

  /** `host:port`, the form `Resolver.setServers` and the ipdrift `resolvers` option take. */
  get address(): string {
    return `${this.host}:${this.port}`;
  }

  /** Sets the A records of `name` (replacing them, and any CNAME of `name`). */
  setA(name: string, addresses: readonly string[], ttl: number = DEFAULT_TTL_SECONDS, opts?: AddressSetOptions): void {
    this.#zone.setAddresses('A', name, addresses, ttl, opts);
  }

  /** Sets the AAAA records of `name` (replacing them, and any CNAME of `name`). */
  setAAAA(name: string, addresses: readonly string[], ttl: number = DEFAULT_TTL_SECONDS, opts?: AddressSetOptions): void {
    this.#zone.setAddresses('AAAA', name, addresses, ttl, opts);
  }

  /** Makes `name` an alias of `target` (the Aurora cluster endpoint is one). */
  setCname(name: string, target: string, ttl: number = DEFAULT_TTL_SECONDS): void {
    this.#zone.setCname(name, target, ttl);
  }

  /** Removes every record of `name` (NXDOMAIN afterwards). */
  remove(name: string): void {
    this.#zone.remove(name);
  }

  /**
   * Injects `fault` for queries about `name` (`'*'`: every name), of every type or only of
   * `type` (an AAAA that fails while A answers); `undefined` clears it.
   */
  setFault(name: string, fault: DnsFault | undefined, type?: 'A' | 'AAAA'): void {
    const key = `${name === '*' ? '*' : normalizeName(name)}${type ? `/${type}` : ''}`;
    if (fault === undefined) this.#faults.delete(key);
    else this.#faults.set(key, fault);
  }

  /**
   * Where every answered query is logged as Route 53 Resolver query logs write it (lab/resolver-log.ts);
   * none unless set. A dropped query (the timeout fault) is not logged: nothing answered it.
   */
  queryLog: LabResolverLog | undefined;

  /** Queries received for `name`, or in total; a UDP query retried over TCP counts twice. */
  queryCount(name?: string): number {
    return name === undefined ? this.#total : (this.#counts.get(normalizeName(name)) ?? 0);
  }

  /** Closes both sockets and every TCP connection. Safe to call more than once. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      this.#tcpSockets.destroyAll();
      const closed = Promise.all([once(this.tcp, 'close'), once(this.udp, 'close')]);
      this.tcp.close();
      this.udp.close();
      await closed;
    })();
    return this.#stopping;
  }

  #serveTcp(socket: Socket): void {
    this.#tcpSockets.add(socket);
    let pending = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      // A TCP stream may carry several length-prefixed queries, or half of one.
      while (pending.length >= TCP_LENGTH_BYTES) {
        const length = pending.readUInt16BE(0);
        if (pending.length < TCP_LENGTH_BYTES + length) break;
        const msg = pending.subarray(TCP_LENGTH_BYTES, TCP_LENGTH_BYTES + length);
        pending = pending.subarray(TCP_LENGTH_BYTES + length);
        this.#handle(
          msg,
          'tcp',
          { address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 },
          (out) => {
            const prefix = Buffer.alloc(TCP_LENGTH_BYTES);
            prefix.writeUInt16BE(out.length);
            if (!socket.destroyed) socket.write(Buffer.concat([prefix, out]));
          },
          () => socket.resetAndDestroy(),
        );
      }
    });
  }

  #log(question: Question, transport: Transport, peer: { address: string; port: number }, rcode: number, answers: readonly Answer[]): void {
    if (!this.queryLog) return;
    const rcodeName = (Object.entries(RCODE).find(([, v]) => v === rcode)?.[0] ?? String(rcode)) as string;
    this.queryLog.record({
      srcaddr: peer.address.replace(/^::ffff:/, ''),
      srcport: peer.port,
      name: question.name,
      type: question.type,
      rcode: rcodeName,
      transport,
      answers: answers.flatMap((a) => (a.type === 'A' || a.type === 'AAAA' || a.type === 'CNAME' ? [{ data: String(a.data), type: a.type }] : [])),
      at: Date.now(),
    });
  }

  #handle(msg: Buffer, transport: Transport, peer: { address: string; port: number }, reply: (out: Buffer) => void, reset?: () => void): void {
    let query: DecodedPacket;
    try {
      query = dnsPacket.decode(msg);
    } catch {
      return; // not DNS: a real server drops it too
    }
    if (query.type !== 'query') return;
    const flags = query.flags ?? 0;
    const question = query.questions?.[0];
    const edns = query.additionals?.find((a): a is OptAnswer => a.type === 'OPT');
    const respond = (rcode: number, answers: Answer[] = [], truncated = false): void => {
      if (question) this.#log(question, transport, peer, rcode, truncated ? [] : answers);
      const out: Packet = {
        type: 'response',
        id: query.id ?? 0,
        flags: dnsPacket.AUTHORITATIVE_ANSWER | (flags & dnsPacket.RECURSION_DESIRED) | (truncated ? dnsPacket.TRUNCATED_RESPONSE : 0) | rcode,
        questions: query.questions ?? [],
        answers,
        // Echo EDNS when the client used it (RFC 6891), advertising our own buffer size.
        additionals: edns
          ? [{ type: 'OPT', name: '.', udpPayloadSize: UDP_LIMITS.advertised, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }]
          : [],
      };
      reply(dnsPacket.encode(out));
    };

    if (((flags >> 11) & 0xf) !== OPCODE_QUERY) {
      respond(RCODE.NOTIMP);
      return;
    }
    if (!question || query.questions?.length !== 1) {
      respond(RCODE.FORMERR);
      return;
    }

    const key = normalizeName(question.name);
    this.#total++;
    this.#counts.set(key, (this.#counts.get(key) ?? 0) + 1);

    const fault = this.#faults.get(`${key}/${question.type}`) ?? this.#faults.get(key) ?? this.#faults.get('*');
    if (fault === 'timeout') return;
    if (fault === 'tcp-drop' && transport === 'tcp') {
      reset?.();
      return;
    }
    if (fault === 'servfail') {
      respond(RCODE.SERVFAIL);
      return;
    }
    if (fault === 'refused') {
      respond(RCODE.REFUSED);
      return;
    }
    if ((fault === 'truncate' || fault === 'tcp-drop') && transport === 'udp') {
      respond(RCODE.NOERROR, [], true);
      return;
    }

    const { rcode, answers } = this.#zone.answer(question);
    if (transport === 'udp') {
      const limit = edns ? Math.max(UDP_LIMITS.plain, Math.min(edns.udpPayloadSize, UDP_LIMITS.ednsMax)) : UDP_LIMITS.plain;
      // Too big for the client's UDP buffer: TC with no answers, it retries over TCP (RFC 2181 9).
      if (dnsPacket.encodingLength({ questions: query.questions ?? [], answers, additionals: edns ? [edns] : [] }) > limit) {
        respond(rcode, [], true);
        return;
      }
    }
    respond(rcode, answers);
  }
}
