/**
 * The peer: Prometheus blackbox_exporter probing the same address:port pairs as workload A,
 * one `/probe` request per pair, all concurrently, from a client process of its own.
 * CPU is the exporter's (/proc/<pid>/stat, every thread) plus the client's (process.cpuUsage).
 */
import { execFileSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { constants, accessSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DEFAULT_CLK_TCK, HEALTH_PATH, PEER_MODULE, median, procCpuMs, procRssMb, round } from './common.ts';
import type { LabSet, PeerRound } from './common.ts';
import { childPath, spawnNode, spawnRaised } from './children.ts';

/** Where Debian's `prometheus-blackbox-exporter` installs the binary; BLACKBOX_EXPORTER overrides. */
export const DEFAULT_EXPORTER_BIN = '/usr/bin/prometheus-blackbox-exporter';
/** The exporter's per-probe timeout (module config). Healthy loopback probes take a millisecond. */
const EXPORTER_PROBE_TIMEOUT = '5s';
/** How long the exporter may take to come up. */
const READY_TIMEOUT_MS = 10_000;
const READY_POLL_MS = 50;
/** Longest one round may take before the run gives up (the client bounds each request too). */
const ROUND_TIMEOUT_MS = 60_000;

/** One measured round of the peer. */
export interface PeerRoundFigures extends PeerRound {
  exporterCpuMs: number;
  /** Exporter + client. */
  totalCpuMs: number;
}

/** The peer's result, or why it was skipped. */
export type PeerResult =
  | { skipped: true; reason: string }
  | {
      skipped: false;
      version: string;
      probes: number;
      /** Medians over the measured rounds. */
      wallMs: number;
      exporterCpuMs: number;
      clientCpuMs: number;
      totalCpuMs: number;
      ok: number;
      exporterRssMb: number;
      rounds: PeerRoundFigures[];
    };

function clockTicks(): number {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || DEFAULT_CLK_TCK;
  } catch {
    return DEFAULT_CLK_TCK;
  }
}

/** A free TCP port on 127.0.0.1 (bound then released; the exporter takes it right after). */
async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

async function waitReady(url: string, exporter: ChildProcess): Promise<void> {
  const until = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < until) {
    if (exporter.exitCode !== null) throw new Error(`blackbox_exporter exited with ${exporter.exitCode}`);
    try {
      const res = await fetch(`${url}/-/healthy`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await sleep(READY_POLL_MS);
  }
  throw new Error(`blackbox_exporter not ready within ${READY_TIMEOUT_MS} ms`);
}

function oneRound(client: ChildProcess): Promise<PeerRound> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('peer round timed out')), ROUND_TIMEOUT_MS);
    client.once('message', (r: PeerRound) => {
      clearTimeout(timer);
      resolve(r);
    });
    client.send({ cmd: 'round' });
  });
}

/**
 * Runs one warm-up round and `rounds` measured rounds of the exporter against `set`'s
 * addresses. Skips, with the reason, when the exporter binary is missing.
 */
export async function runPeer(set: LabSet, rounds: number, workDir: string): Promise<PeerResult> {
  const bin = process.env.BLACKBOX_EXPORTER ?? DEFAULT_EXPORTER_BIN;
  try {
    accessSync(bin, constants.X_OK);
  } catch {
    return { skipped: true, reason: `${bin} not found or not executable (Debian: apt-get install prometheus-blackbox-exporter; or set BLACKBOX_EXPORTER)` };
  }
  const version = execFileSync(bin, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
    .split('\n')[0]!
    .trim();
  const configPath = join(workDir, 'blackbox.yml');
  // The same probe as ipdrift's: HTTP GET, IPv4, 2xx is healthy.
  writeFileSync(
    configPath,
    `modules:\n  ${PEER_MODULE}:\n    prober: http\n    timeout: ${EXPORTER_PROBE_TIMEOUT}\n    http:\n      preferred_ip_protocol: ip4\n      ip_protocol_fallback: false\n`,
  );
  const targets = set.targets.flatMap((t) => t.addresses.map((a) => `http://${a}:${t.port}${HEALTH_PATH}`));
  const targetsPath = join(workDir, 'peer-targets.json');
  writeFileSync(targetsPath, JSON.stringify(targets));

  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const exporter = spawnRaised(bin, [`--config.file=${configPath}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  let client: ChildProcess | undefined;
  try {
    await waitReady(url, exporter);
    const pid = exporter.pid!;
    const clkTck = clockTicks();
    client = spawnNode(childPath('peerClient'), [url, targetsPath], [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    // Warm-up: connections to the exporter opened, the exporter's goroutine stacks grown.
    await oneRound(client);
    const measured: PeerRoundFigures[] = [];
    for (let i = 0; i < rounds; i++) {
      const before = procCpuMs(pid, clkTck);
      const r = await oneRound(client);
      const exporterCpuMs = round(procCpuMs(pid, clkTck) - before);
      measured.push({ ...r, exporterCpuMs, totalCpuMs: round(exporterCpuMs + r.clientCpuMs) });
    }
    return {
      skipped: false,
      version,
      probes: targets.length,
      wallMs: round(median(measured.map((r) => r.wallMs))),
      exporterCpuMs: round(median(measured.map((r) => r.exporterCpuMs))),
      clientCpuMs: round(median(measured.map((r) => r.clientCpuMs))),
      totalCpuMs: round(median(measured.map((r) => r.totalCpuMs))),
      ok: Math.min(...measured.map((r) => r.ok)),
      exporterRssMb: procRssMb(pid),
      rounds: measured,
    };
  } finally {
    if (client?.connected) client.disconnect();
    exporter.kill('SIGTERM');
  }
}
