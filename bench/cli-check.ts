/**
 * The whole process, as an on-call engineer runs it: `ipdrift check --config ... --state ...`
 * (the built CLI, bin/ipdrift.mjs) against a workload's lab, a cold check (no state) then a warm
 * one (the state the first left), each a fresh process. Wall time from outside (spawn to exit);
 * CPU (user + system) and peak RSS from GNU time, so Node's start, the config and the output
 * count too.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { median, round } from './common.ts';
import { ROOT, spawnRaised } from './children.ts';

const GNU_TIME = '/usr/bin/time';
const CLI = join(ROOT, 'bin', 'ipdrift.mjs');
/** One CLI check may take this long before it is killed (C's cold check takes seconds). */
const CHECK_TIMEOUT_MS = 120_000;
const MS_PER_S = 1000;
const KB_PER_MB = 1024;
/** `ipdrift check` exit codes a healthy lab may give: 0 (nothing found), 1 (a finding). 2 is an error. */
const CHECK_RAN = new Set([0, 1]);

/** One process. */
export interface CliCheckFigures {
  wallMs: number;
  cpuMs: number;
  peakRssMb: number;
  exitCode: number;
}

/** Medians over the runs (peak RSS: the highest). */
export interface CliCheckResult {
  label: string;
  probes: number;
  runs: number;
  cold: CliCheckFigures;
  warm: CliCheckFigures;
  all: { cold: CliCheckFigures; warm: CliCheckFigures }[];
}

/** Why the CLI rows cannot be measured here, or undefined. */
export function cliCheckUnavailable(): string | undefined {
  if (!existsSync(GNU_TIME)) return `${GNU_TIME} not found (Debian: apt-get install time)`;
  if (!existsSync(join(ROOT, 'dist', 'cli', 'main.mjs'))) return 'the CLI is not built (npm run build)';
  return undefined;
}

/** Runs one `ipdrift check` under GNU time; rejects on exit 2, a signal or the timeout. */
function once(configPath: string, stateDir: string, profileDir: string | undefined): Promise<CliCheckFigures> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    // --profile: the whole process's CPU profile (Node writes it at exit).
    const nodeFlags = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
    const child = spawnRaised(
      GNU_TIME,
      ['-f', 'BENCH-TIME %U %S %M', process.execPath, ...nodeFlags, CLI, 'check', '--config', configPath, '--state', stateDir, '--json'],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let err = '';
    child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), CHECK_TIMEOUT_MS);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      const wallMs = performance.now() - t0;
      const m = /BENCH-TIME ([\d.]+) ([\d.]+) (\d+)\s*$/.exec(err);
      if (!m || code === null || !CHECK_RAN.has(code)) {
        reject(new Error(`ipdrift check exited ${code ?? signal}: ${err.slice(-2000)}`));
        return;
      }
      resolve({ wallMs: round(wallMs), cpuMs: round((Number(m[1]) + Number(m[2])) * MS_PER_S), peakRssMb: round(Number(m[3]) / KB_PER_MB), exitCode: code });
    });
  });
}

const summary = (xs: readonly CliCheckFigures[]): CliCheckFigures => ({
  wallMs: round(median(xs.map((x) => x.wallMs))),
  cpuMs: round(median(xs.map((x) => x.cpuMs))),
  peakRssMb: Math.max(...xs.map((x) => x.peakRssMb)),
  exitCode: Math.max(...xs.map((x) => x.exitCode)),
});

/** `runs` pairs of fresh `ipdrift check` processes on `configPath`: cold (no state), then warm. */
export async function runCliChecks(
  label: string,
  configPath: string,
  probes: number,
  runs: number,
  workDir: string,
  profileDir?: string,
): Promise<CliCheckResult> {
  const all: CliCheckResult['all'] = [];
  for (let i = 0; i < runs; i++) {
    const stateDir = mkdtempSync(join(workDir, `cli-state-${label}-`));
    try {
      const cold = await once(configPath, stateDir, profileDir && join(profileDir, `cli-${label}-${i + 1}-cold`));
      const warm = await once(configPath, stateDir, profileDir && join(profileDir, `cli-${label}-${i + 1}-warm`));
      all.push({ cold, warm });
      process.stderr.write(`  ipdrift check ${label} run ${i + 1}/${runs}: cold ${cold.wallMs} ms, warm ${warm.wallMs} ms\n`);
    } finally {
      rmSync(stateDir, { recursive: true, force: true });
    }
  }
  return { label, probes, runs, cold: summary(all.map((r) => r.cold)), warm: summary(all.map((r) => r.warm)), all };
}
