/**
 * Whole-process cost of starting the CLI: `ipdrift --help` (the built dist/cli/main.mjs) beside
 * a bare `node -e 0`, median of N runs each, interleaved so machine noise hits both alike.
 * Wall time from outside; CPU (user + system) and peak RSS from GNU time. Prints the ratio to
 * the bare node (goal: within 2x). Nothing asserted: machines are noisy.
 *
 *   npx tsx bench/cli-start.ts [RUNS]
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

const ROOT = join(import.meta.dirname, '..');
const RUNS = Number(process.argv[2] ?? 15);
/** The goal: `--help` within this factor of a bare node start. */
const GOAL_RATIO = 2;
const GNU_TIME = '/usr/bin/time';
const MS_PER_S = 1000;
const KB_PER_MB = 1024;

interface Sample {
  wallMs: number;
  cpuMs: number;
  rssMb: number;
}

/** One run of `node ...args` under GNU time. */
function once(args: readonly string[]): Sample {
  const t0 = performance.now();
  const r = spawnSync(GNU_TIME, ['-f', '%U %S %M', process.execPath, ...args], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
  const wallMs = performance.now() - t0;
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  const m = /([\d.]+) ([\d.]+) (\d+)\s*$/.exec(r.stderr);
  if (!m) throw new Error(`unexpected GNU time output: ${r.stderr}`);
  return { wallMs, cpuMs: (Number(m[1]) + Number(m[2])) * MS_PER_S, rssMb: Number(m[3]) / KB_PER_MB };
}

const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

if (!existsSync(GNU_TIME)) throw new Error(`${GNU_TIME} is needed (Debian: apt-get install time)`);
if (!existsSync(join(ROOT, 'dist/cli/main.mjs'))) throw new Error('build the CLI first: npm run build');
const CASES = { bare: ['-e', '0'], cli: [join(ROOT, 'bin/ipdrift.mjs'), '--help'] } as const;
const samples = { bare: [] as Sample[], cli: [] as Sample[] };
for (let i = 0; i < RUNS; i++) for (const k of ['bare', 'cli'] as const) samples[k].push(once(CASES[k]));
const row = (k: 'bare' | 'cli') => ({
  wall: median(samples[k].map((s) => s.wallMs)),
  cpu: median(samples[k].map((s) => s.cpuMs)),
  rss: median(samples[k].map((s) => s.rssMb)),
});
const bare = row('bare');
const cli = row('cli');
console.log(`CLI start, median of ${RUNS} runs each (interleaved), Node ${process.version}:`);
console.log(`  node -e 0        wall ${bare.wall.toFixed(0)} ms  CPU ${bare.cpu.toFixed(0)} ms  peak RSS ${bare.rss.toFixed(0)} MB`);
console.log(`  ipdrift --help   wall ${cli.wall.toFixed(0)} ms  CPU ${cli.cpu.toFixed(0)} ms  peak RSS ${cli.rss.toFixed(0)} MB`);
const ratio = cli.wall / bare.wall;
console.log(
  `  ratio: wall ${ratio.toFixed(2)}x, CPU ${(cli.cpu / bare.cpu).toFixed(2)}x, RSS ${(cli.rss / bare.rss).toFixed(2)}x (goal <= ${GOAL_RATIO}x wall: ${ratio <= GOAL_RATIO ? 'met' : 'missed'})`,
);
