/**
 * `npm run bench`: the cost of one check at scale, side by side with Prometheus
 * blackbox_exporter, and the Lambda's shape. Prints a table and writes bench/results.json.
 *
 *   A  100 ELB-like targets x 5 addresses = 500 HTTP probes, all healthy
 *   B  the same with 50 addresses that accept and never answer (probe timeout 2 s)
 *   C  1,000 targets x 8 addresses = 8,000 probes (how cost grows)
 *   peer  blackbox_exporter /probe on A's 500 address:port pairs, all concurrent
 *   lambda  dist/monitor.mjs size and cold init
 *
 * Every process measured is a fresh one of its own: the lab (DNS server and listeners) runs in
 * one child, each engine measurement in another, the peer's client in a third. Loopback only.
 *
 * Options: --runs N (engine processes / peer rounds per workload, default 5; C at most 3),
 *          --wait-quiet SECONDS (wait, at most that long, for the machine's load to drop first),
 *          --only A,B,C,peer,lambda, --profile (CPU profile of each measured check, written to
 *          bench/profiles/ and summarised; profiled figures are inflated by the profiler).
 */
import { cpus, freemem, loadavg, release, tmpdir, totalmem } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { HEALTH_PATH, median, parseResult, round, udpReceiveDrops } from './common.ts';
import type { CheckFigures, EngineRun, LabSet } from './common.ts';
import { LabClient, PROFILE_DIR, ROOT, bundleChildren, childPath, runToEnd, spawnNode } from './children.ts';
import { runPeer } from './peer.ts';
import type { PeerResult } from './peer.ts';
import { BUNDLE_CONFIG, LAMBDA_CHECKS, lambdaCheck, lambdaShape } from './lambda.ts';
import type { LambdaCheckResult } from './lambda.ts';
import { cliCheckUnavailable, runCliChecks } from './cli-check.ts';
import type { CliCheckResult } from './cli-check.ts';
import { predictedCheckMs } from '../src/planning/cost/estimate.ts';
import type { LambdaResult } from './lambda.ts';
import { formatSummary, summarise } from './profile.ts';
import type { ProfileSummary } from './profile.ts';

/** The workloads' shapes. */
export const WORKLOADS = {
  A: { label: 'A', octet: 1, targets: 100, addressesPerTarget: 5 },
  C: { label: 'C', octet: 2, targets: 1000, addressesPerTarget: 8 },
  /** A small set for the Lambda cold init. */
  L: { label: 'L', octet: 3, targets: 3, addressesPerTarget: 3 },
} as const;
/** Workload B: addresses of A that swallow (one in ten: one per target in 50 of the 100). */
export const B_SWALLOWED = 50;
/** Every this-many-th address of A swallows in B (500 / 50). */
const B_STRIDE = (WORKLOADS.A.targets * WORKLOADS.A.addressesPerTarget) / B_SWALLOWED;
/** Every probe's own timeout (the config default); B's wall is reported against it. */
export const PROBE_TIMEOUT_MS = 2000;
/** Engine processes (and peer rounds) per workload unless --runs says otherwise. */
export const DEFAULT_RUNS = 5;

/** Performance goals (issue 16 and bench/README.md; reported as met/MISSED, never asserted). */
export const GOALS = {
  /** One whole `ipdrift check` process of A / the exporter's 500 /probe calls. */
  cliPeerWallRatio: 0.8,
  cliPeerCpuRatio: 1.0,
  /** The warm in-process check of A / the exporter. */
  peerWallRatio: 0.6,
  peerCpuRatio: 0.7,
  /** A check's CPU per HTTP probe (C warm: the largest check, so fixed costs weigh least). */
  cpuUsPerProbe: 250,
  /** A warm check's save phase (file store, 100 targets). */
  aSaveMs: 10,
  /** C warm: save phase, wall, DNS datagrams dropped. */
  cSaveMs: 200,
  cWallMs: 1500,
  cUdpDrops: 0,
  /** One whole `ipdrift check` process of C, cold and warm: wall, RSS, and wall / A's process. */
  cliCWallMs: 2000,
  cliCRssMb: 256,
  cliCOverA: 12,
  bWallPerTimeout: 1.15,
  peakRssMb: 128,
} as const;

/** Memory sizes the bench predicts a Lambda check's duration for (MB). */
const PREDICT_AT_MB = [256, 512, 1024, 1769] as const;

/** Workload C's engine processes: at most this many, whatever --runs says (each takes seconds). */
export const C_MAX_RUNS = 3;
/** "Quiet" machine: 1-minute load average below this fraction of the cores. */
const QUIET_LOAD_PER_CORE = 0.5;
const QUIET_POLL_MS = 5000;

/** An engine process may take this long (C's two checks included) before it is killed. */
const ENGINE_TIMEOUT_MS = 180_000;
const RESULTS_FILE = join(ROOT, 'bench', 'results.json');

/** Medians over the runs of one workload; peak RSS is the highest seen. */
interface WorkloadResult {
  label: string;
  shape: string;
  probes: number;
  runs: number;
  cold: Summary;
  warm: Summary;
  steady: Summary;
  baselineRssMb: number;
  maxRssMb: number;
  /** UDP datagrams dropped machine-wide for a full receive buffer during the workload (DNS bursts). */
  udpDrops?: number;
  all: EngineRun[];
  profiles?: ProfileSummary[];
}
interface Summary {
  wallMs: number;
  cpuMs: number;
  cpuUserMs: number;
  cpuSystemMs: number;
  peakRssMb: number;
  eldP99Ms: number;
  eldMaxMs: number;
  phasesMs: CheckFigures['phasesMs'];
  probesOk: number;
  failures: Record<string, number>;
  errors: string[];
}

function summarise1(runs: EngineRun[], pick: (r: EngineRun) => CheckFigures): Summary {
  const xs = runs.map(pick);
  const med = (f: (c: CheckFigures) => number) => round(median(xs.map(f)));
  return {
    wallMs: med((c) => c.wallMs),
    cpuMs: med((c) => c.cpuMs),
    cpuUserMs: med((c) => c.cpuUserMs),
    cpuSystemMs: med((c) => c.cpuSystemMs),
    peakRssMb: Math.max(...xs.map((c) => c.peakRssMb)),
    eldP99Ms: med((c) => c.eventLoopDelayMs.p99),
    eldMaxMs: Math.max(...xs.map((c) => c.eventLoopDelayMs.max)),
    phasesMs: {
      load: med((c) => c.phasesMs.load),
      resolve: med((c) => c.phasesMs.resolve),
      probeAssess: med((c) => c.phasesMs.probeAssess),
      save: med((c) => c.phasesMs.save),
      rest: med((c) => c.phasesMs.rest),
    },
    probesOk: Math.min(...xs.map((c) => c.probesOk)),
    // The worst run's failures, to match probesOk (the fewest healthy probes seen).
    failures: xs.reduce((worst, c) => (c.probesOk < worst.probesOk ? c : worst)).failures,
    errors: xs.flatMap((c) => c.errors).slice(0, 5),
  };
}

/** Writes the config of `set` for the engine and the CLI; returns its path. */
function writeConfig(set: LabSet, workDir: string, label: string): string {
  const path = join(workDir, `config-${label}.json`);
  const config = {
    resolvers: [set.dns],
    allowLoopback: true,
    targets: set.targets.map((t) => ({
      name: t.name,
      type: 'elb',
      host: t.host,
      port: t.port,
      probe: { protocol: 'http', path: HEALTH_PATH },
      timeoutMs: PROBE_TIMEOUT_MS,
    })),
  };
  writeFileSync(path, JSON.stringify(config));
  return path;
}

/** Runs `runs` fresh engine processes on `set`, each a cold then a warm check with its own file store. */
async function runEngine(label: string, set: LabSet, configPath: string, runs: number, workDir: string, profile: boolean): Promise<WorkloadResult> {
  const all: EngineRun[] = [];
  const profiles: ProfileSummary[] = [];
  const drops0 = udpReceiveDrops();
  for (let i = 0; i < runs; i++) {
    const stateDir = mkdtempSync(join(workDir, `state-${label}-`));
    const prefix = join(PROFILE_DIR, `engine-${label}-${i + 1}`);
    const out = await runToEnd(
      spawnNode(childPath('engine'), [configPath, stateDir, ...(profile ? [prefix] : [])], [], { stdio: ['ignore', 'pipe', 'pipe'] }),
      `engine ${label} run ${i + 1}`,
      ENGINE_TIMEOUT_MS,
    );
    all.push(parseResult<EngineRun>(out, `engine ${label}`));
    rmSync(stateDir, { recursive: true, force: true });
    if (profile) profiles.push(summarise(`${prefix}-cold.cpuprofile`), summarise(`${prefix}-warm.cpuprofile`));
    process.stderr.write(`  ${label} run ${i + 1}/${runs}: cold ${all.at(-1)!.cold.wallMs} ms, warm ${all.at(-1)!.warm.wallMs} ms\n`);
  }
  const probes = all[0]!.warm.probes;
  const drops1 = udpReceiveDrops();
  return {
    label,
    shape: `${set.targets.length} x ${set.targets[0]!.addresses.length}`,
    probes,
    runs,
    cold: summarise1(all, (r) => r.cold),
    warm: summarise1(all, (r) => r.warm),
    steady: summarise1(all, (r) => r.steady),
    baselineRssMb: round(median(all.map((r) => r.baselineRssMb))),
    maxRssMb: Math.max(...all.map((r) => r.maxRssMb)),
    ...(drops0 !== undefined && drops1 !== undefined ? { udpDrops: drops1 - drops0 } : {}),
    all,
    ...(profile ? { profiles } : {}),
  };
}

function machineFacts() {
  const cpuList = cpus();
  let kernel = release();
  try {
    kernel = execFileSync('uname', ['-sr'], { encoding: 'utf8' }).trim();
  } catch {
    // uname missing: os.release() it is
  }
  return {
    cpuModel: cpuList[0]?.model ?? 'unknown',
    cores: cpuList.length,
    node: process.version,
    kernel,
    memoryGb: round(totalmem() / 1024 ** 3, 1),
    freeMemoryGb: round(freemem() / 1024 ** 3, 1),
    /** 1-minute load average when the run started and ended: other work on the machine skews every figure. */
    loadAtStart: round(loadavg()[0]!, 2),
    loadAtEnd: 0,
  };
}

/** Waits up to `seconds` for the 1-minute load average to drop below QUIET_LOAD_PER_CORE per core. */
async function waitQuiet(seconds: number): Promise<void> {
  const limit = cpus().length * QUIET_LOAD_PER_CORE;
  const until = Date.now() + seconds * 1000;
  while (loadavg()[0]! >= limit && Date.now() < until) {
    process.stderr.write(`waiting for a quieter machine: load ${loadavg()[0]!.toFixed(2)} >= ${limit}\n`);
    await sleep(QUIET_POLL_MS);
  }
}

// ---------------------------------------------------------------- output

const pad = (s: string | number, n: number) => String(s).padStart(n);
const padEnd = (s: string | number, n: number) => String(s).padEnd(n);
const verdict = (ok: boolean) => (ok ? 'met' : 'MISSED');

function table(results: Results): string {
  const lines: string[] = [];
  const m = results.machine;
  lines.push(
    `ipdrift bench: ${m.cpuModel}, ${m.cores} cores, ${m.memoryGb} GB, ${m.kernel}, node ${m.node}; loopback; medians of ${results.runs} run(s) (C: ${Math.min(results.runs, C_MAX_RUNS)})`,
  );
  const busy = m.cores * QUIET_LOAD_PER_CORE;
  if (m.loadAtStart >= busy || m.loadAtEnd >= busy)
    lines.push(`WARNING: the machine was busy (load ${m.loadAtStart} at start, ${m.loadAtEnd} at end, ${m.cores} cores): figures are skewed; see --wait-quiet`);
  if (results.profiled) lines.push('PROFILED RUN: the profiler inflates every engine figure; use it for where the time goes, not for how much.');
  lines.push('');
  const header = `${padEnd('workload', 22)}${pad('probes', 7)}${pad('ok', 6)}${pad('wall ms', 10)}${pad('CPU ms', 9)}${pad('peak RSS MB', 13)}${pad('ELD p99/max ms', 16)}  failed probes`;
  lines.push(header);
  lines.push('-'.repeat(header.length));
  for (const w of Object.values(results.workloads)) {
    for (const phase of ['cold', 'warm', 'steady'] as const) {
      const s = w[phase];
      lines.push(
        `${padEnd(`${w.label} ${w.shape} ${phase}`, 22)}${pad(w.probes, 7)}${pad(s.probesOk, 6)}${pad(s.wallMs, 10)}${pad(s.cpuMs, 9)}${pad(s.peakRssMb, 13)}${pad(`${s.eldP99Ms}/${s.eldMaxMs}`, 16)}  ${
          Object.entries(s.failures)
            .map(([k, v]) => `${k} ${v}`)
            .join(', ') || '-'
        }`,
      );
    }
  }
  const p = results.peer;
  if (p && !p.skipped) {
    lines.push(
      `${padEnd('blackbox_exporter', 22)}${pad(p.probes, 7)}${pad(p.ok, 6)}${pad(p.wallMs, 10)}${pad(p.totalCpuMs, 9)}${pad(p.exporterRssMb, 13)}${pad('-', 16)}`,
    );
    lines.push(`  (exporter ${p.exporterCpuMs} ms CPU + client ${p.clientCpuMs} ms; ${p.version})`);
  } else if (p?.skipped) lines.push(`blackbox_exporter: skipped: ${p.reason}`);
  lines.push('');
  lines.push('where the wall time goes (ms: load state / resolve / probe+assess / save / rest):');
  for (const w of Object.values(results.workloads)) {
    const f = (s: Summary) => `${s.phasesMs.load} / ${s.phasesMs.resolve} / ${s.phasesMs.probeAssess} / ${s.phasesMs.save} / ${s.phasesMs.rest}`;
    lines.push(
      `  ${padEnd(w.label, 3)} cold ${padEnd(f(w.cold), 34)} warm ${padEnd(f(w.warm), 34)} steady ${padEnd(f(w.steady), 34)}${w.udpDrops ? ` (UDP drops: ${w.udpDrops})` : ''}`,
    );
  }
  lines.push('');
  const cli = Object.values(results.cli);
  if (cli.length > 0) {
    lines.push('whole `ipdrift check` processes (spawn to exit; CPU and RSS from GNU time):');
    for (const c of cli) {
      const f = (x: CliCheckResult['cold']) => `wall ${x.wallMs} ms, CPU ${x.cpuMs} ms, RSS ${x.peakRssMb} MB`;
      lines.push(`  ${c.label} (${c.probes} probes)  cold ${f(c.cold)}   warm ${f(c.warm)}`);
    }
  } else if (results.cliSkipped) lines.push(`whole ipdrift check processes: skipped: ${results.cliSkipped}`);
  const lc = results.lambdaCheck;
  if (lc?.status === 'measured') {
    const f = (x: { wallMs: number; cpuMs: number }) => `wall ${x.wallMs} ms, CPU ${x.cpuMs} ms`;
    lines.push(`deployed check on A (dist/monitor.mjs handler, DynamoDB/SNS/CloudWatch on loopback; ${LAMBDA_CHECKS} invocations in one process):`);
    lines.push(`  cold invocation ${f(lc.cold)}   warm (median) ${f(lc.warm)}   RSS ${lc.warm.rssMb} MB`);
  } else if (lc) lines.push(`deployed check on A: failed: ${lc.detail}`);
  const predicted = results.lambdaPrediction;
  if (predicted && Object.keys(predicted).length > 0) {
    lines.push(
      'predicted Lambda duration of a check in a warm container (low: CPU stretched by the share of a vCPU, at least the wall; high: wall + the stretch):',
    );
    for (const [label, byMb] of Object.entries(predicted))
      lines.push(
        `  ${label}: ${Object.entries(byMb)
          .map(([mb, ms]) => `${mb} MB ${ms.low}-${ms.high} ms`)
          .join(', ')}`,
      );
  }
  lines.push('');
  const rowWidth = Math.max(...results.goalRows.map((g) => g.row.length));
  const figWidth = Math.max(...results.goalRows.map((g) => g.figure.length));
  lines.push('goals:');
  for (const g of results.goalRows)
    lines.push(
      `  ${padEnd(g.row, rowWidth)}  ${padEnd(g.figure, figWidth)}  goal ${padEnd(g.goal, 42)} ${g.met === undefined ? 'not measured' : verdict(g.met)}`,
    );
  const r = results.ratios;
  if (r.peerProbePhaseWall !== undefined)
    lines.push(`  (A's probe phase alone, what the exporter does: no DNS, no state, / the exporter's wall: ${r.peerProbePhaseWall})`);
  if (r.cGrowth) {
    const g = r.cGrowth;
    lines.push(
      `  (C vs A, x${g.probes} probes: wall x${g.wall}, CPU x${g.cpu}, RSS above baseline x${g.rss}; CPU per probe ${g.cpuUsPerProbeA} -> ${g.cpuUsPerProbeC} us)`,
    );
    // Healthy addresses reported as timed out: the engine's own overload, not the targets'.
    if (g.falseFailures > 0) lines.push(`  but C reported ${g.falseFailures} of its healthy probes as failed (worst check): growth figures are not comparable`);
  }
  const l = results.lambda;
  if (l) {
    if (l.bundleBytes !== undefined)
      lines.push(
        `Lambda bundle dist/monitor.mjs with the chunks it loads at start: ${round(l.bundleBytes / 1024, 1)} KiB (${round(l.bundleGzipBytes! / 1024, 1)} KiB gzip)`,
      );
    if (l.composition)
      lines.push(`  largest parts, lazily loaded ones included (KiB): ${l.composition.map((c) => `${c.module} ${round(c.bytes / 1024, 0)}`).join(', ')}`);
    if (l.init) {
      lines.push(
        `Lambda cold init (median of ${l.init.runs}, ${WORKLOADS.L.targets} x ${WORKLOADS.L.addressesPerTarget} lab): node boot ${l.init.bootMs} + bundle import ${l.init.importMs} + first handler call ${l.init.handlerMs} = ${l.init.coldMs} ms; spawn->exit ${l.init.processMs} ms; RSS ${l.init.rssMb} MB`,
      );
    }
    if (l.status !== 'measured') lines.push(`Lambda: ${l.status}${l.detail ? `: ${l.detail}` : ''}`);
  }
  return lines.join('\n');
}

interface Results {
  at: string;
  machine: ReturnType<typeof machineFacts>;
  runs: number;
  profiled: boolean;
  workloads: Partial<Record<'A' | 'B' | 'C', WorkloadResult>>;
  peer?: PeerResult;
  lambda?: LambdaResult;
  ratios: {
    peerWall?: number;
    peerCpu?: number;
    peerCpuExporterOnly?: number;
    /** ipdrift's probe phase alone (no DNS, no state: what the exporter does) / the exporter's wall. */
    peerProbePhaseWall?: number;
    bWallPerTimeout?: number;
    bColdWallPerTimeout?: number;
    peakRssAB?: number;
    cGrowth?: {
      probes: number;
      wall: number;
      cpu: number;
      rss: number;
      cpuUsPerProbeA: number;
      cpuUsPerProbeC: number;
      falseFailures: number;
      linear: boolean;
    };
  };
  goals: typeof GOALS;
  /** Whole `ipdrift check` processes (bench/cli-check.ts). */
  cli: Partial<Record<'A' | 'C', CliCheckResult>>;
  cliSkipped?: string;
  /** The goals table, row by row, as printed. */
  goalRows: GoalRow[];
  /** The deployed check on A: the bundle's handler with DynamoDB, SNS, CloudWatch on loopback. */
  lambdaCheck?: LambdaCheckResult;
  /** Predicted Lambda duration (ms) of the warm checks, by memory size (MB). */
  lambdaPrediction?: Record<string, Record<string, { low: number; high: number }>>;
}

/** One row of the goals table. */
interface GoalRow {
  row: string;
  figure: string;
  goal: string;
  /** Undefined: not measured in this run. */
  met?: boolean;
}

/** The goals table (issue 16's rows, then the bench's own), from `results.ratios` where they hold the figure. A row whose inputs were not measured says so. */
function goalRows(results: Results): GoalRow[] {
  const { A, C } = results.workloads;
  // Ratios main() already worked out are read from there, not computed again.
  const r = results.ratios;
  const peer = results.peer && !results.peer.skipped ? results.peer : undefined;
  const cli = results.cli;
  const x = (v: number) => `${round(v, 2)}x`;
  const rows: GoalRow[] = [];
  const add = (row: string, goal: string, measure: () => { figure: string; met: boolean } | undefined) => {
    const m = measure();
    rows.push(m ? { row, goal, ...m } : { row, goal, figure: '-' });
  };
  add('ipdrift check A, whole process (warm) / exporter', `wall <= ${GOALS.cliPeerWallRatio}x, CPU <= ${GOALS.cliPeerCpuRatio}x`, () => {
    if (!cli.A || !peer) return undefined;
    const w = cli.A.warm.wallMs / peer.wallMs;
    const c = cli.A.warm.cpuMs / peer.totalCpuMs;
    return {
      figure: `wall ${x(w)}, CPU ${x(c)} (cold: ${x(cli.A.cold.wallMs / peer.wallMs)}, ${x(cli.A.cold.cpuMs / peer.totalCpuMs)})`,
      met: w <= GOALS.cliPeerWallRatio && c <= GOALS.cliPeerCpuRatio,
    };
  });
  add('A warm in-process check / exporter', `wall <= ${GOALS.peerWallRatio}x, CPU <= ${GOALS.peerCpuRatio}x`, () => {
    const { peerWall: w, peerCpu: c } = r;
    return w === undefined || c === undefined ? undefined : { figure: `wall ${x(w)}, CPU ${x(c)}`, met: w <= GOALS.peerWallRatio && c <= GOALS.peerCpuRatio };
  });
  add('CPU per HTTP probe (C warm check / probes)', `<= ${GOALS.cpuUsPerProbe} us`, () => {
    if (!C) return undefined;
    const us = (C.warm.cpuMs * 1000) / C.probes;
    return { figure: `${round(us, 0)} us${A ? ` (A: ${round((A.warm.cpuMs * 1000) / A.probes, 0)} us)` : ''}`, met: us <= GOALS.cpuUsPerProbe };
  });
  add('A save phase (warm)', `<= ${GOALS.aSaveMs} ms`, () =>
    A ? { figure: `${A.warm.phasesMs.save} ms (cold: ${A.cold.phasesMs.save} ms)`, met: A.warm.phasesMs.save <= GOALS.aSaveMs } : undefined,
  );
  add('C warm: save / wall / UDP drops', `<= ${GOALS.cSaveMs} ms / ${GOALS.cWallMs} ms / ${GOALS.cUdpDrops}`, () => {
    if (!C) return undefined;
    const drops = C.udpDrops ?? 0;
    return {
      figure: `${C.warm.phasesMs.save} ms / ${C.warm.wallMs} ms / ${C.udpDrops ?? 'unknown'} (cold save ${C.cold.phasesMs.save} ms)`,
      met: C.warm.phasesMs.save <= GOALS.cSaveMs && C.warm.wallMs <= GOALS.cWallMs && drops <= GOALS.cUdpDrops,
    };
  });
  add('ipdrift check C, whole process: cold, warm', `<= ${GOALS.cliCWallMs} ms, <= ${GOALS.cliCRssMb} MB, <= ${GOALS.cliCOverA}x A's`, () => {
    if (!cli.C || !cli.A) return undefined;
    const { cold, warm } = cli.C;
    const over = Math.max(cold.wallMs / cli.A.cold.wallMs, warm.wallMs / cli.A.warm.wallMs);
    return {
      figure: `${cold.wallMs} ms, ${warm.wallMs} ms; ${Math.max(cold.peakRssMb, warm.peakRssMb)} MB; ${x(over)} A's`,
      met: Math.max(cold.wallMs, warm.wallMs) <= GOALS.cliCWallMs && Math.max(cold.peakRssMb, warm.peakRssMb) <= GOALS.cliCRssMb && over <= GOALS.cliCOverA,
    };
  });
  add(`B warm wall / probe timeout (${PROBE_TIMEOUT_MS} ms)`, `<= ${GOALS.bWallPerTimeout}`, () =>
    r.bWallPerTimeout === undefined ? undefined : { figure: String(r.bWallPerTimeout), met: r.bWallPerTimeout <= GOALS.bWallPerTimeout },
  );
  add('peak RSS in A and B (in-process)', `< ${GOALS.peakRssMb} MB`, () =>
    r.peakRssAB === undefined ? undefined : { figure: `${r.peakRssAB} MB`, met: r.peakRssAB < GOALS.peakRssMb },
  );
  add('C vs A growth (in-process)', 'linear or better, no false failures', () => {
    const g = r.cGrowth;
    return g ? { figure: `wall x${g.wall}, CPU x${g.cpu} for x${g.probes} probes`, met: g.linear } : undefined;
  });
  return rows;
}

/** Builds the CLI (dist/cli/) so that the CLI rows measure this tree; the Lambda rows build their own bundles. */
async function buildCli(): Promise<void> {
  await runToEnd(
    spawnNode(BUNDLE_CONFIG, ['--cli-only', '--quiet'], [], { stdio: ['ignore', 'pipe', 'pipe'] }),
    'node esbuild.config.mjs --cli-only',
    ENGINE_TIMEOUT_MS,
  );
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: String(DEFAULT_RUNS) },
      only: { type: 'string' },
      profile: { type: 'boolean', default: false },
      'wait-quiet': { type: 'string', default: '0' },
    },
  });
  await waitQuiet(Number(values['wait-quiet']) || 0);
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs: expected a positive whole number, got ${values.runs}`);
  const only = new Set((values.only ?? 'A,B,C,peer,lambda').split(',').map((s) => s.trim()));
  const profile = values.profile ?? false;
  if (profile) {
    mkdirSync(PROFILE_DIR, { recursive: true });
    for (const f of readdirSync(PROFILE_DIR))
      if (f.endsWith('.cpuprofile') || f.startsWith('cli-') || f === 'lambda-check') rmSync(join(PROFILE_DIR, f), { recursive: true, force: true });
  }

  const results: Results = {
    at: new Date().toISOString(),
    machine: machineFacts(),
    runs,
    profiled: profile,
    workloads: {},
    cli: {},
    ratios: {},
    goals: GOALS,
    goalRows: [],
  };
  process.stderr.write('bundling the bench children and building the CLI...\n');
  await bundleChildren();
  if (only.has('A') || only.has('C')) await buildCli();
  const cliSkipped = cliCheckUnavailable();
  if (cliSkipped !== undefined) results.cliSkipped = cliSkipped;
  const workDir = mkdtempSync(join(tmpdir(), 'ipdrift-bench-'));
  const lab = LabClient.start();
  try {
    if (only.has('A') || only.has('B') || only.has('peer') || only.has('lambda')) {
      process.stderr.write('starting lab set A (500 listeners)...\n');
      const setA = await lab.startSet(WORKLOADS.A);
      const configA = writeConfig(setA, workDir, 'A');
      if (only.has('A')) {
        results.workloads.A = await runEngine('A', setA, configA, runs, workDir, profile);
        if (cliSkipped === undefined)
          results.cli.A = await runCliChecks('A', configA, results.workloads.A.probes, runs, workDir, profile ? PROFILE_DIR : undefined);
      }
      if (only.has('lambda')) {
        process.stderr.write('lambda: the deployed check on A (bundle handler, DynamoDB on loopback)...\n');
        results.lambdaCheck = await lambdaCheck(configA, profile ? join(PROFILE_DIR, 'lambda-check') : undefined);
      }
      if (only.has('peer')) {
        process.stderr.write('peer: blackbox_exporter...\n');
        results.peer = await runPeer(setA, runs, workDir);
      }
      if (only.has('B')) {
        // One address in ten swallows: 50 targets each get one address that never answers.
        const swallowed = setA.targets.flatMap((t) => t.addresses).filter((_, k) => k % B_STRIDE === 0);
        await lab.setMode('A', swallowed, 'swallow');
        results.workloads.B = await runEngine('B', setA, configA, runs, workDir, profile);
        results.workloads.B.shape += ` (${swallowed.length} swallow)`;
      }
      await lab.stopSet('A');
    }
    if (only.has('C')) {
      process.stderr.write('starting lab set C (8,000 listeners)...\n');
      const setC = await lab.startSet(WORKLOADS.C);
      const configC = writeConfig(setC, workDir, 'C');
      results.workloads.C = await runEngine('C', setC, configC, Math.min(runs, C_MAX_RUNS), workDir, profile);
      if (cliSkipped === undefined)
        results.cli.C = await runCliChecks('C', configC, results.workloads.C.probes, Math.min(runs, C_MAX_RUNS), workDir, profile ? PROFILE_DIR : undefined);
      await lab.stopSet('C');
    }
    if (only.has('lambda')) {
      process.stderr.write('lambda shape...\n');
      const setL = await lab.startSet(WORKLOADS.L);
      results.lambda = await lambdaShape(setL, workDir);
      await lab.stopSet('L');
    }
  } finally {
    await lab.stop();
    rmSync(workDir, { recursive: true, force: true });
  }

  const { A, B, C } = results.workloads;
  const p = results.peer;
  if (A && p && !p.skipped) {
    results.ratios.peerWall = round(A.warm.wallMs / p.wallMs, 2);
    results.ratios.peerCpu = round(A.warm.cpuMs / p.totalCpuMs, 2);
    results.ratios.peerCpuExporterOnly = round(A.warm.cpuMs / p.exporterCpuMs, 2);
    results.ratios.peerProbePhaseWall = round(A.warm.phasesMs.probeAssess / p.wallMs, 2);
  }
  if (B) {
    results.ratios.bWallPerTimeout = round(B.warm.wallMs / PROBE_TIMEOUT_MS, 3);
    results.ratios.bColdWallPerTimeout = round(B.cold.wallMs / PROBE_TIMEOUT_MS, 3);
  }
  if (A || B) results.ratios.peakRssAB = Math.max(A?.maxRssMb ?? 0, B?.maxRssMb ?? 0);
  if (A && C) {
    const above = (w: WorkloadResult) => Math.max(w.warm.peakRssMb, w.cold.peakRssMb) - w.baselineRssMb;
    const probes = round(C.probes / A.probes, 1);
    const wall = round(C.warm.wallMs / A.warm.wallMs, 1);
    const cpu = round(C.warm.cpuMs / A.warm.cpuMs, 1);
    const rss = round(above(C) / above(A), 1);
    // Every address in A and C is healthy: a failed probe there is the engine's failure.
    const falseFailures = C.probes - Math.min(C.cold.probesOk, C.warm.probesOk) + (A.probes - Math.min(A.cold.probesOk, A.warm.probesOk));
    results.ratios.cGrowth = {
      probes,
      wall,
      cpu,
      rss,
      cpuUsPerProbeA: round((A.warm.cpuMs * 1000) / A.probes, 0),
      cpuUsPerProbeC: round((C.warm.cpuMs * 1000) / C.probes, 0),
      falseFailures,
      linear: falseFailures === 0 && wall <= probes && cpu <= probes && rss <= probes,
    };
  }

  results.goalRows = goalRows(results);
  const warmChecks: [string, { cpuMs: number; wallMs: number }][] = [
    ...(results.lambdaCheck?.status === 'measured'
      ? [['A deployed (handler, DynamoDB)', results.lambdaCheck.warm] as [string, { cpuMs: number; wallMs: number }]]
      : []),
    ...(['A', 'C'] as const)
      .filter((k) => results.workloads[k])
      .map((k) => [`${k} in-process steady (file store)`, results.workloads[k]!.steady] as [string, { cpuMs: number; wallMs: number }]),
  ];
  results.lambdaPrediction = Object.fromEntries(
    warmChecks.map(([label, m]) => [label, Object.fromEntries(PREDICT_AT_MB.map((mb) => [String(mb), predictedCheckMs(m, mb)]))]),
  );
  results.machine.loadAtEnd = round(loadavg()[0]!, 2);
  writeFileSync(RESULTS_FILE, `${JSON.stringify(results, null, 2)}\n`);
  console.log(table(results));
  if (profile) {
    for (const w of Object.values(results.workloads)) for (const s of w.profiles ?? []) console.log(`\n${formatSummary(s)}`);
  }
  console.log(`\nwritten: ${RESULTS_FILE}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exitCode = 1;
});
