/**
 * `watch --metrics-listen` and `--metrics-file`: the exporter's text over HTTP (`GET /metrics`)
 * and in a file for node_exporter's textfile collector (written to a temp name, then renamed, so
 * the collector never reads half a file).
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { isIP } from 'node:net';
import { writeFileAtomic } from '../adapters/local/atomic-write.ts';
import type { PromExporter } from '../adapters/local/prometheus.ts';
import { UsageError } from './errors.ts';

/** A scrape is one small response: a request that has not arrived in this time is dropped. */
const REQUEST_TIMEOUT_MS = 10_000;

/** `127.0.0.1:9464`, `[::1]:9464`, `0.0.0.0:9464` or `9464` (loopback): where to listen. */
export function parseListen(text: string, usage: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d+)$|^(\d+)$/.exec(text.trim());
  const host = m?.[1] ?? m?.[2] ?? (m?.[4] !== undefined ? '127.0.0.1' : undefined);
  const port = Number(m?.[3] ?? m?.[4]);
  if (host === undefined || (isIP(host) === 0 && host !== 'localhost') || !Number.isInteger(port) || port > 65535)
    throw new UsageError(`--metrics-listen: expected ADDRESS:PORT or PORT ("127.0.0.1:9464", "[::1]:9464", "9464"), got "${text}"`, usage);
  return { host, port };
}

/** Serves `GET /metrics`; resolves once listening, with the URL (the port filled in when 0 was asked). */
export function serveMetrics(listen: { host: string; port: number }, exporter: PromExporter, usage: string): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if ((req.method === 'GET' || req.method === 'HEAD') && path === '/metrics') {
      exporter.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': exporter.registry.contentType });
          res.end(req.method === 'HEAD' ? undefined : text);
        },
        (err: Error) => {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(`ipdrift: ${err.message}\n`);
        },
      );
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('ipdrift: the metrics are at /metrics\n');
  });
  server.requestTimeout = REQUEST_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(new UsageError(`--metrics-listen ${listen.host}:${listen.port}: cannot listen (${err.code ?? err.message})`, usage)),
    );
    server.listen(listen.port, listen.host, () => {
      const a = server.address();
      const port = typeof a === 'object' && a ? a.port : listen.port;
      const host = listen.host.includes(':') ? `[${listen.host}]` : listen.host;
      resolve({ url: `http://${host}:${port}/metrics`, server });
    });
  });
}

/** Writes the exporter's text to `path` (temp file in the same directory, then rename). */
export async function writeMetricsFile(path: string, exporter: PromExporter): Promise<void> {
  await writeFileAtomic(path, await exporter.metrics(), 0o644);
}

/** Stops serving: the listener and any open scrape connection. */
export function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}
