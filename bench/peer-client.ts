/**
 * The peer's client: stands for Prometheus scraping blackbox_exporter's `/probe` once per
 * address:port, all at once. A process of its own so that its CPU is measured alone.
 * Each 'round' message sends exactly one request per target (bounded), all concurrently, and
 * replies with the wall time, this process's CPU and how many probes succeeded.
 *
 * Usage (from bench/run.ts, bundled first): node peer-client.mjs EXPORTER_URL TARGETS.json
 */
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { PEER_MODULE, round } from './common.ts';
import type { PeerRound } from './common.ts';

/** A client-side bound per request, so a round always ends (the exporter's own timeout is shorter). */
const REQUEST_TIMEOUT_MS = 10_000;
const US_PER_MS = 1e3;
const SUCCESS_LINE = /^probe_success 1$/m;

const [exporterUrl, targetsPath] = process.argv.slice(2);
if (!exporterUrl || !targetsPath || !process.send) {
  console.error('usage: peer-client EXPORTER_URL TARGETS.json (with an IPC channel)');
  process.exit(2);
}
const targets = JSON.parse(readFileSync(targetsPath, 'utf8')) as string[];
// Prometheus keeps its connections to an exporter open between scrapes: so do we.
const agent = new Agent({ keepAlive: true, maxSockets: Infinity });

function probeOnce(target: string): Promise<{ ok: boolean; error?: string }> {
  const url = `${exporterUrl}/probe?target=${encodeURIComponent(target)}&module=${PEER_MODULE}`;
  return new Promise((resolve) => {
    const req = request(url, { agent, timeout: REQUEST_TIMEOUT_MS }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        resolve(res.statusCode === 200 && SUCCESS_LINE.test(body) ? { ok: true } : { ok: false, error: `HTTP ${res.statusCode}: ${body.slice(0, 200)}` });
      });
      res.on('error', (err) => resolve({ ok: false, error: err.message }));
    });
    req.on('timeout', () => req.destroy(new Error('client timeout')));
    req.on('error', (err) => resolve({ ok: false, error: err.message }));
    req.end();
  });
}

async function runRound(): Promise<PeerRound> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const results = await Promise.all(targets.map(probeOnce));
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const failed = results.filter((r) => !r.ok);
  return {
    wallMs: round(wallMs),
    clientCpuMs: round((cpu.user + cpu.system) / US_PER_MS),
    ok: results.length - failed.length,
    failed: failed.length,
    ...(failed[0]?.error ? { firstError: failed[0].error } : {}),
  };
}

process.on('message', (msg: { cmd: 'round' }) => {
  if (msg.cmd === 'round') void runRound().then((r) => process.send!(r));
});
process.on('disconnect', () => {
  agent.destroy();
  process.exit(0);
});
