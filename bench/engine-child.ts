/**
 * The measured process: a fresh `node` that runs full checks of one config with the file store
 * and prints the figures of three as one result line: the first (cold: no state, unoptimised
 * code), the second (warm: saved state, code still warming up: a CLI run, a Lambda's second
 * invocation) and the fifth (steady: optimised code too, as in a Lambda container or a `watch`
 * that has run a while).
 *
 * With PROFILE_PREFIX, each measured check is CPU-profiled on its own (inspector Profiler,
 * started right before runCheck and stopped right after), written to PREFIX-<phase>.cpuprofile:
 * the profile shows the check, not Node's boot or module loading.
 *
 * Usage (from bench/run.ts, bundled first): node engine-child.mjs CONFIG.json STATE_DIR [PROFILE_PREFIX]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { runCheck } from '../src/core/check.ts';
import { parseConfig } from '../src/core/config.ts';
import { FileStore } from '../src/adapters/local/file-store.ts';
import type { Store } from '../src/core/ports.ts';
import { ConsoleNotifier } from '../src/adapters/local/console.ts';
import { RESULT_PREFIX, mb, round } from './common.ts';
import type { CheckFigures, EngineRun } from './common.ts';

/** RSS sampling period: fine enough to catch the probe burst, cheap (a few hundred reads per check). */
const RSS_SAMPLE_MS = 5;
/** Event-loop delay histogram resolution (ms); Node's default. */
const ELD_RESOLUTION_MS = 10;
const NS_PER_MS = 1e6;
const US_PER_MS = 1e3;
const KB = 1024;
/** Profiler sampling interval (µs): finer than V8's 1 ms default, checks last a few hundred ms. */
const PROFILE_INTERVAL_US = 250;
/** Unmeasured checks between the warm one and the steady one. */
const STEADY_AFTER = 2;

const [configPath, stateDir, profilePrefix] = process.argv.slice(2);
if (!configPath || !stateDir) {
  console.error('usage: engine-child CONFIG.json STATE_DIR');
  process.exit(2);
}

const config = parseConfig(JSON.parse(readFileSync(configPath, 'utf8')), configPath);
const fileStore = new FileStore(stateDir);
/** When the store was used during the current check: splits the wall time into phases. */
const marks = { loadDone: 0, firstSave: 0, lastSaveDone: 0 };
// The engine sees an ordinary Store; the wrapper only notes the time (a few hundred calls).
const store: Store = {
  load: async (targets) => {
    const out = await fileStore.load(targets);
    marks.loadDone = performance.now();
    return out;
  },
  save: async (state, expected, changes) => {
    marks.firstSave ||= performance.now();
    await fileStore.save(state, expected, changes);
    marks.lastSaveDone = performance.now();
  },
};
let transitions = 0;
const notifier = new ConsoleNotifier(() => void transitions++);
const clock = { now: () => new Date() };

let session: Session | undefined;
if (profilePrefix) {
  session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: PROFILE_INTERVAL_US });
}

/** Runs one check and measures it from the outside of runCheck. */
async function measure(phase: 'cold' | 'warm' | 'steady'): Promise<CheckFigures> {
  if (session) await session.post('Profiler.start');
  const rssBefore = process.memoryUsage.rss();
  let peakRss = rssBefore;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage.rss());
  }, RSS_SAMPLE_MS);
  const eld = monitorEventLoopDelay({ resolution: ELD_RESOLUTION_MS });
  eld.enable();
  const cpu0 = process.cpuUsage();
  marks.loadDone = marks.firstSave = marks.lastSaveDone = 0;
  const t0 = performance.now();
  const report = await runCheck(config, { store, notifier, clock });
  const t1 = performance.now();
  const wallMs = t1 - t0;
  const cpu = process.cpuUsage(cpu0);
  if (session) {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(`${profilePrefix}-${phase}.cpuprofile`, JSON.stringify(profile));
  }
  eld.disable();
  clearInterval(sampler);
  peakRss = Math.max(peakRss, process.memoryUsage.rss());

  const probes = report.targets.flatMap((t) => t.probes);
  const failures: Record<string, number> = {};
  for (const p of probes) if (!p.ok) failures[p.error?.code ?? 'unknown'] = (failures[p.error?.code ?? 'unknown'] ?? 0) + 1;
  // Names resolve concurrently right after the load: the slowest resolution is that phase's wall.
  const resolveMs = Math.max(0, ...report.targets.map((t) => t.resolution?.durationMs ?? 0));
  const loadMs = marks.loadDone - t0;
  // A check of a quiet system saves nothing (core/save.ts isQuiet): its save phase is empty.
  if (marks.firstSave === 0) marks.firstSave = marks.lastSaveDone = t1;
  const saveMs = marks.lastSaveDone - marks.firstSave;
  return {
    wallMs: round(wallMs),
    phasesMs: {
      load: round(loadMs),
      resolve: round(resolveMs),
      probeAssess: round(marks.firstSave - marks.loadDone - resolveMs),
      save: round(saveMs),
      rest: round(t1 - marks.lastSaveDone),
    },
    cpuMs: round((cpu.user + cpu.system) / US_PER_MS),
    cpuUserMs: round(cpu.user / US_PER_MS),
    cpuSystemMs: round(cpu.system / US_PER_MS),
    peakRssMb: mb(peakRss),
    rssBeforeMb: mb(rssBefore),
    eventLoopDelayMs: {
      p50: round(eld.percentile(50) / NS_PER_MS),
      p99: round(eld.percentile(99) / NS_PER_MS),
      max: round(eld.max / NS_PER_MS),
    },
    reportedMs: report.durationMs,
    probes: probes.length,
    probesOk: probes.filter((p) => p.ok).length,
    failures,
    findings: report.findings.length,
    errors: report.errors.slice(0, 5),
  };
}

const baselineRss = process.memoryUsage.rss();
const cold = await measure('cold');
const warm = await measure('warm');
// Two more checks before the steady one: by then the probe and check code run optimised.
for (let i = 0; i < STEADY_AFTER; i++) await runCheck(config, { store, notifier, clock });
const steady = await measure('steady');
session?.disconnect();
const result: EngineRun = { cold, warm, steady, baselineRssMb: mb(baselineRss), maxRssMb: round(process.resourceUsage().maxRSS / KB, 1) };
process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(result)}\n`);
