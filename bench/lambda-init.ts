/**
 * Cold init of the Lambda bundle, as a fresh `node` process sees it: import dist/monitor.mjs,
 * build the handler through its exported `createHandler` with local adapters (MemoryStore, a
 * console notifier, no metrics) and run one invocation against a small lab. Prints one result line.
 *
 * `performance.now()` counts from the process's time origin, so "boot" is Node's own start-up
 * and "boot + import + handler" is what a Lambda cold start adds to the first invocation
 * (minus the runtime's own bootstrap). The adapters are loaded after the bundle, not timed.
 *
 * Usage (from bench/run.ts, bundled first): node lambda-init.mjs BUNDLE.mjs CONFIG.json
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { RESULT_PREFIX, mb, round } from './common.ts';

/** What one cold start reports. */
export interface InitFigures {
  /** Process start -> this script running (Node boot). */
  bootMs: number;
  /** The bundle's import (parse, evaluate, module-scope SDK clients). */
  importMs: number;
  /** The first handler call. */
  handlerMs: number;
  /** boot + import + handler. */
  coldMs: number;
  rssMb: number;
  /** What the handler returned, shortened (sanity: ok, targets, findings). */
  returned: string;
}

/** Remaining time the fake Lambda context claims (the engine's deadline comes from it). */
const REMAINING_MS = 60_000;
const RETURN_PREVIEW_CHARS = 300;

const bootMs = performance.now();
const [bundlePath, configPath] = process.argv.slice(2);
if (!bundlePath || !configPath) {
  console.error('usage: lambda-init BUNDLE.mjs CONFIG.json');
  process.exit(2);
}

const i0 = performance.now();
const mod = (await import(pathToFileURL(bundlePath).href)) as { createHandler?: unknown };
const importMs = performance.now() - i0;
if (typeof mod.createHandler !== 'function') {
  console.error(`${bundlePath} exports no createHandler function (exports: ${Object.keys(mod).join(', ') || 'none'})`);
  process.exit(3);
}

// A non-literal specifier: esbuild leaves it alone, so the adapters stay a module of their own.
const adaptersUrl = new URL('./lambda-adapters.mjs', import.meta.url).href;
const { MemoryStore, ConsoleNotifier, parseConfigText } = (await import(adaptersUrl)) as typeof import('./lambda-adapters.ts');
const config = parseConfigText(readFileSync(configPath, 'utf8'), configPath);
const silent = { info() {}, warn() {}, error() {} };
// In place of DynamoDB, SNS and CloudWatch: the figure is the bundle's own cost, not AWS's.
const deps = {
  store: new MemoryStore(),
  notifier: new ConsoleNotifier(() => undefined),
  metrics: { publishMetrics: async () => undefined },
  loadConfig: async () => config,
  clock: { now: () => new Date() },
  logger: silent,
};
const handler = (mod.createHandler as (d: typeof deps) => unknown)(deps);
if (typeof handler !== 'function') {
  console.error('createHandler(deps) did not return a function');
  process.exit(3);
}
const context = { awsRequestId: 'bench-cold-init', getRemainingTimeInMillis: () => REMAINING_MS };
const event = { source: 'aws.events', 'detail-type': 'Scheduled Event', time: new Date().toISOString(), detail: {} };
const h0 = performance.now();
const returned: unknown = await (handler as (e: unknown, c: unknown) => Promise<unknown>)(event, context);
const handlerMs = performance.now() - h0;

const figures: InitFigures = {
  bootMs: round(bootMs),
  importMs: round(importMs),
  handlerMs: round(handlerMs),
  coldMs: round(bootMs + importMs + handlerMs),
  rssMb: mb(process.memoryUsage.rss()),
  returned: (JSON.stringify(returned) ?? String(returned)).slice(0, RETURN_PREVIEW_CHARS),
};
process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(figures)}\n`);
// The bundle's module-scope SDK clients may keep the loop alive: a cold-start figure must not wait.
process.exit(0);
