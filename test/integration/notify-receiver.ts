/**
 * A webhook receiver on loopback for the notify tests: records every request (headers and body),
 * answers with the status it is set to, or is down (its port refuses connections).
 */
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';

/** One request as it arrived. */
export interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** Largest body recorded (a notice is under 64 KB). */
const MAX_BODY_BYTES = 1024 * 1024;

export class NotifyReceiver {
  readonly received: Received[] = [];
  /** The status it answers with. */
  status = 200;
  /** Statuses for the next requests, in order, before `status` again. */
  readonly next: number[] = [];
  /** Requests answered, accepted or not. */
  requests = 0;
  private server: Server | undefined;
  private constructor(
    readonly host: string,
    public port: number,
  ) {}

  static async start(host = '127.0.0.1', port = 0): Promise<NotifyReceiver> {
    const r = new NotifyReceiver(host, port);
    await r.up();
    return r;
  }

  get url() {
    return `http://${this.host}:${this.port}`;
  }

  /** Listens again, on the same port. */
  async up(): Promise<void> {
    if (this.server) return;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size <= MAX_BODY_BYTES) chunks.push(c);
      });
      req.on('end', () => {
        const status = this.next.shift() ?? this.status;
        this.requests++;
        // Only what was accepted counts as received (a 503 is a delivery that failed).
        if (status >= 200 && status < 300) this.received.push({ path: req.url ?? '/', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        res.writeHead(status, { 'content-type': 'text/plain' });
        res.end(status >= 400 ? `refused with ${status}\n` : 'ok\n');
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, this.host, () => resolve());
    });
    const a = server.address();
    if (typeof a === 'object' && a) this.port = a.port;
    this.server = server;
  }

  /** Stops listening: deliveries fail with a refused connection. */
  async down(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  /** The JSON bodies received on `path`. */
  json<T = Record<string, unknown>>(path?: string): T[] {
    return this.received.filter((r) => path === undefined || r.path === path).map((r) => JSON.parse(r.body) as T);
  }
}
