/**
 * The deployed check, measured: the built bundle's own `handler` (dist/monitor.mjs) with its
 * real adapters (DynamoDB store, SNS notifier, CloudWatch sink) pointed by AWS_ENDPOINT_URL_*
 * at bench/aws-child.ts, invoked CHECKS times in one process as Lambda reuses a warm one: the
 * first is the cold invocation, the rest warm. CPU per invocation from `process.cpuUsage()`
 * (every thread), wall from `performance.now()`. Prints one result line.
 *
 * Usage (from bench/run.ts, bundled first; the environment names the table, topics, config):
 *   node lambda-check.mjs BUNDLE.mjs CHECKS
 */
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { RESULT_PREFIX, mb, round } from './common.ts';

/** One invocation. */
export interface InvocationFigures {
  wallMs: number;
  cpuMs: number;
  /** What the handler returned: ok, targets, findings (sanity). */
  ok: boolean;
  rssMb: number;
}

/** Remaining time the fake context claims: the engine's deadline comes from it. */
const REMAINING_MS = 60_000;

const [bundlePath, checksArg] = process.argv.slice(2);
const checks = Number(checksArg);
if (!bundlePath || !Number.isInteger(checks) || checks < 1) {
  console.error('usage: lambda-check BUNDLE.mjs CHECKS');
  process.exit(2);
}
const { handler } = (await import(pathToFileURL(bundlePath).href)) as { handler: (event: unknown, context: unknown) => Promise<{ ok?: boolean }> };
const figures: InvocationFigures[] = [];
for (let i = 0; i < checks; i++) {
  const context = { awsRequestId: `bench-${i + 1}`, getRemainingTimeInMillis: () => REMAINING_MS };
  const event = { source: 'aws.events', 'detail-type': 'Scheduled Event', time: new Date().toISOString(), detail: {} };
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const summary = await handler(event, context);
  const wallMs = performance.now() - t0;
  const c = process.cpuUsage(c0);
  figures.push({ wallMs: round(wallMs), cpuMs: round((c.user + c.system) / 1000), ok: summary?.ok === true, rssMb: mb(process.memoryUsage.rss()) });
}
process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(figures)}\n`);
// The bundle's module-scope SDK clients keep sockets open: do not wait for them.
process.exit(0);
