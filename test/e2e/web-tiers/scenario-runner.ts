/**
 * Entry point of one scenario, run by harness.ts as
 * `unshare -m -n -p -f --mount-proc --kill-child -- node --import tsx scenario-runner.ts '<spec json>' <temp dir>`.
 * It is PID 1 of its namespaces: when it exits, the kernel ends every process left in them and
 * the network namespace and bind mounts go away. Prints exactly one JSON line (ScenarioResult).
 * The temp dir (server config, logs, pid files) belongs to the caller, who removes it.
 */
import { statSync } from 'node:fs';
import type { ScenarioResult, ScenarioSpec } from './layout.ts';
import { CONFIG_KINDS, SCENARIOS, SERVERS, STORIES, TIMING, specId } from './layout.ts';
import { runChurn, runPooled, runScenario } from './scenario.ts';

/** Exit codes: 0 result printed (even a failed scenario), 2 bad arguments, 3 deadline or signal. */
const EXIT = { bad: 2, aborted: 3 } as const;

function parseSpec(arg: string | undefined): ScenarioSpec {
  const v = JSON.parse(arg ?? 'null') as Partial<ScenarioSpec> | null;
  if (
    !v ||
    !SERVERS.includes(v.server as never) ||
    !CONFIG_KINDS.includes(v.config as never) ||
    !SCENARIOS.includes(v.scenario as never) ||
    (v.story !== undefined && !STORIES.includes(v.story))
  ) {
    throw new Error(`expected {"server":${SERVERS.join('|')},"config":${CONFIG_KINDS.join('|')},"scenario":${SCENARIOS.join('|')}}, got ${arg}`);
  }
  return { server: v.server!, config: v.config!, scenario: v.scenario!, ...(v.story ? { story: v.story } : {}) };
}

let spec: ScenarioSpec;
try {
  spec = parseSpec(process.argv[2]);
} catch (err) {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(EXIT.bad);
}

const dir = process.argv[3] ?? '';
if (!dir || !statSync(dir, { throwIfNoEntry: false })?.isDirectory()) {
  process.stderr.write(`expected an existing temp dir as the second argument, got "${dir}"\n`);
  process.exit(EXIT.bad);
}
const log = (msg: string) => process.stderr.write(`[${specId(spec)}] ${msg}\n`);

// PID 1 ignores signals it has no handler for: exit on them, the kernel then reaps the rest.
for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
  process.on(sig, () => {
    log(`${sig}: exiting`);
    process.exit(EXIT.aborted);
  });
}
const deadline = setTimeout(() => {
  log(`deadline of ${TIMING.runnerDeadlineMs} ms reached: exiting`);
  process.exit(EXIT.aborted);
}, TIMING.runnerDeadlineMs);
deadline.unref();

const run = spec.story === 'churn' ? runChurn : spec.story === 'pooled' ? runPooled : runScenario;
const result: ScenarioResult = await run(spec, dir, log);
process.stdout.write(`${JSON.stringify(result)}\n`);
// Exit at once: the namespace (and anything a server left behind) ends with this process.
process.exit(0);
