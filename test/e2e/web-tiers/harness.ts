/**
 * The parent side of the web-tier proof (vitest, the matrix script): can this machine run it,
 * and run one scenario in namespaces of its own, returning the runner's JSON result. Several
 * scenarios may run at once: each has its own network, mount and PID namespace.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ScenarioResult, ScenarioSpec, ServerId } from './layout.ts';
import { TIMING, specId } from './layout.ts';
import { findBinary, missingFor } from './servers.ts';

/** The project root: the runner is started from here so `--import tsx` resolves. */
export const PROJECT_ROOT = join(import.meta.dirname, '..', '..', '..');
const RUNNER = join(import.meta.dirname, 'scenario-runner.ts');

/**
 * Namespaces: mount (private resolver files), network (own loopback, port 53), PID with the runner
 * as PID 1 (when it exits, the kernel ends every process it left), and `--kill-child`: when
 * `unshare` itself is killed, the runner gets SIGKILL, so nothing outlives a killed parent.
 */
const UNSHARE_ARGS = ['--mount', '--net', '--pid', '--fork', '--mount-proc', '--kill-child'] as const;

/** Bound on the trial `unshare ... true`. */
const TRIAL_TIMEOUT_MS = 10_000;
/** The parent kills a runner this long after its own deadline should have ended it. */
const PARENT_GRACE_MS = 10_000;
/** Upper bound on scenarios at once (each starts node, a server, four nodes and a DNS server). */
const MAX_CONCURRENCY = 8;
/**
 * Scenarios run at once: each is mostly waiting, but the machine has 2 cores. Override with
 * `WEB_TIERS_CONCURRENCY` (1-8), e.g. 1 on a loaded machine.
 */
export const DEFAULT_CONCURRENCY = Math.min(MAX_CONCURRENCY, Math.max(1, Number(process.env.WEB_TIERS_CONCURRENCY) || 3));

let namespaceReason: string | undefined | null = null;

/** Why scenarios cannot run here (not root, no unshare/ip/mount, namespaces refused), or undefined. */
export function namespaceMissing(): string | undefined {
  if (namespaceReason !== null) return namespaceReason;
  namespaceReason = (() => {
    if (process.platform !== 'linux') return `needs Linux namespaces (platform ${process.platform})`;
    if (process.getuid?.() !== 0) return 'needs root (unshare, mount --bind, a DNS server on port 53 inside the namespace)';
    for (const tool of ['unshare', 'ip', 'mount']) if (!findBinary([tool])) return `${tool} not found`;
    const trial = spawnSync(findBinary(['unshare'])!, [...UNSHARE_ARGS, '--', 'true'], { timeout: TRIAL_TIMEOUT_MS, encoding: 'utf8' });
    if (trial.status !== 0) return `unshare ${UNSHARE_ARGS.join(' ')} failed: ${(trial.stderr || trial.error?.message || `exit ${trial.status}`).trim()}`;
    return undefined;
  })();
  return namespaceReason;
}

/** Why `server` cannot be tested here, or undefined. */
export function serverMissing(server: ServerId): string | undefined {
  return namespaceMissing() ?? missingFor(server);
}

/** A failed result for a scenario whose runner did not print one. */
function failed(spec: ScenarioSpec, error: string, started: number): ScenarioResult {
  const none = { requests: 0, outcomes: {}, viaOld: 0, viaNew: 0, stalls: 0, maxMs: 0 };
  return { spec, ok: false, error, baseline: [], checks: [], traffic: { baseline: none, drain: none, after: none }, durationMs: Date.now() - started };
}

/** Prefix of the scenarios' temp dirs. */
export const TEMP_PREFIX = 'ipdrift-web-tiers-';

/** Temp dirs of the scenarios this process ran: they name every process a scenario started. */
const ownDirs = new Set<string>();

/** The temp dirs of every scenario this process ran (for leftover checks: other runs are not ours). */
export function scenarioDirs(): readonly string[] {
  return [...ownDirs];
}

/**
 * Runs one scenario in fresh namespaces, in a temp dir removed afterwards whatever happened.
 * Never throws: a runner failure comes back as `ok: false`.
 */
export async function runInNamespace(spec: ScenarioSpec, opts: { onLog?: (line: string) => void } = {}): Promise<ScenarioResult> {
  const dir = mkdtempSync(join(tmpdir(), `${TEMP_PREFIX}${spec.server}-`));
  ownDirs.add(dir);
  try {
    return await runRunner(spec, dir, opts.onLog);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function runRunner(spec: ScenarioSpec, dir: string, onLog: ((line: string) => void) | undefined): Promise<ScenarioResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(findBinary(['unshare']) ?? 'unshare', [...UNSHARE_ARGS, '--', process.execPath, '--import', 'tsx', RUNNER, JSON.stringify(spec), dir], {
      cwd: PROJECT_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      stderr += c;
      if (onLog) for (const line of c.split('\n').filter(Boolean)) onLog(line);
    });
    // SIGKILL: unshare ignores SIGTERM while it waits; killed, it takes the runner (--kill-child) with it.
    const timer = setTimeout(() => child.kill('SIGKILL'), TIMING.runnerDeadlineMs + PARENT_GRACE_MS);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve(failed(spec, `cannot start unshare: ${err.message}`, started));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const line = stdout.trim().split('\n').pop() ?? '';
      try {
        resolve(JSON.parse(line) as ScenarioResult);
      } catch {
        resolve(failed(spec, `runner for ${specId(spec)} ended (${code ?? signal}) without a result: ${stderr.slice(-1500)}`, started));
      }
    });
  });
}

/** Runs `tasks` with at most `concurrency` at a time; results in input order. */
export async function pool<T>(tasks: readonly (() => Promise<T>)[], concurrency: number): Promise<T[]> {
  const results: T[] = new Array<T>(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await tasks[i]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, tasks.length) }, worker));
  return results;
}

/** A semaphore for callers that start tasks one by one (vitest's concurrent tests). */
export function limiter(concurrency: number): <T>(task: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async <T>(task: () => Promise<T>) => {
    if (active < concurrency) active++;
    else await new Promise<void>((r) => waiting.push(r)); // the finishing task hands its slot over
    try {
      return await task();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else active--;
    }
  };
}
