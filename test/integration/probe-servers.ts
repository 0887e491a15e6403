/**
 * Loopback servers for the probe tests: real listeners on 127.0.0.x, random ports, every
 * server and socket tracked so that `close()` leaves no handle open.
 */
import { createServer as createHttpServer } from 'node:http';
import type { RequestListener } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, isIP } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { generate } from 'selfsigned';
import { beforeAll } from 'vitest';

/** A key and a self-signed certificate for one DNS name. */
export interface TestCert {
  key: string;
  cert: string;
}

/** A self-signed certificate for `name` (CN and DNS SAN; an IP SAN when `name` is an IP). EC keys: fast to generate. */
export async function selfSignedCert(name: string, validity?: { notBeforeDate: Date; notAfterDate: Date }): Promise<TestCert> {
  const san = isIP(name) ? ({ type: 7, ip: name } as const) : ({ type: 2, value: name } as const);
  const pems = await generate([{ name: 'commonName', value: name }], {
    keyType: 'ec',
    algorithm: 'sha256',
    ...(validity ?? {}),
    extensions: [{ name: 'subjectAltName', altNames: [san] }],
  });
  return { key: pems.private, cert: pems.cert };
}

/**
 * Certificates for the target name and for someone else, made once per describe block
 * (read the fields inside tests, after beforeAll ran).
 */
export function certPair(name: string, other = 'other.internal'): { app: TestCert; other: TestCert } {
  const certs = {} as { app: TestCert; other: TestCert };
  beforeAll(async () => {
    [certs.app, certs.other] = await Promise.all([selfSignedCert(name), selfSignedCert(other)]);
  });
  return certs;
}

/** Starts and tracks loopback servers; `close()` ends them all. */
export class Loopback {
  private readonly servers = new Set<Server>();
  private readonly sockets = new Set<Socket>();

  /** Listens on `host`, port 0; returns the port. */
  async listen(server: Server, host = '127.0.0.1'): Promise<number> {
    this.servers.add(server);
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, host, () => resolve());
    });
    return (server.address() as AddressInfo).port;
  }

  /** Accepts connections and never writes: a TCP, TLS or HTTP peer that never answers. */
  swallow(host = '127.0.0.1'): Promise<number> {
    return this.listen(
      createNetServer(() => {}),
      host,
    );
  }

  /** A port on `host` where nothing listens (bound, then released). */
  async closedPort(host = '127.0.0.1'): Promise<number> {
    const server = createNetServer();
    await new Promise<void>((resolve) => server.listen(0, host, () => resolve()));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    return port;
  }

  /** A raw TCP server that runs `onSocket` for each connection (garbage answers, resets). */
  raw(onSocket: (socket: Socket) => void, host = '127.0.0.1'): Promise<number> {
    return this.listen(createNetServer(onSocket), host);
  }

  /** A TLS server presenting `cert` that completes the handshake and closes. */
  tls(cert: TestCert, host = '127.0.0.1'): Promise<number> {
    const server = createTlsServer(cert, (socket) => socket.end());
    // A client rejecting our self-signed certificate is expected here, not an error.
    server.on('tlsClientError', () => {});
    return this.listen(server, host);
  }

  http(handler: RequestListener, host = '127.0.0.1'): Promise<number> {
    return this.listen(createHttpServer(handler), host);
  }

  https(cert: TestCert, handler: RequestListener, host = '127.0.0.1'): Promise<number> {
    const server = createHttpsServer(cert, handler);
    server.on('tlsClientError', () => {});
    return this.listen(server, host);
  }

  /** Destroys every open socket and closes every server. */
  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    const servers = [...this.servers];
    this.servers.clear();
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}
