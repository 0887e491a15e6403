/**
 * Lambda shape: the size of the bundle the function ships (dist/monitor.mjs, built by
 * `node esbuild.config.mjs`) and its cold init: a fresh `node` importing it and running one
 * handler call with local adapters against a small lab (3 targets x 3 addresses), median of several runs;
 * and the deployed check on workload A: the bundle's handler with its real adapters against
 * DynamoDB, SNS and CloudWatch on loopback, cold then warm invocations in one process.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { gzipSync } from 'node:zlib';
import { builtinModules } from 'node:module';
import { build } from 'esbuild';
import { median, parseResult, round } from './common.ts';
import type { LabSet } from './common.ts';
import { ROOT, childPath, runToEnd, spawnNode } from './children.ts';
import type { InitFigures } from './lambda-init.ts';
import type { ChildProcess } from 'node:child_process';
import type { AwsEndpoints } from './aws-child.ts';
import type { InvocationFigures } from './lambda-check.ts';
import { bundleEnv } from '../test/integration/aws-fakes.ts';

/** The bundle the Lambda ships, and what builds it. */
export const BUNDLE = join(ROOT, 'dist', 'monitor.mjs');
export const BUNDLE_CONFIG = join(ROOT, 'esbuild.config.mjs');
/** Cold starts measured; the median is reported. */
export const INIT_RUNS = 5;
/** Bounds: a build or a cold start that takes longer is reported as failed. */
const INIT_TIMEOUT_MS = 60_000;
/** Entry point of the bundle (for the composition breakdown). */
const MONITOR_ENTRY = join(ROOT, 'src', 'lambda', 'monitor.ts');
/** Packages listed in the composition breakdown. */
const COMPOSITION_TOP = 8;
/** Probe timeout in the small lab's config. */
const INIT_PROBE_TIMEOUT_MS = 2000;

/** The Lambda shape figures, or why they are missing. */
export interface LambdaResult {
  status: 'measured' | 'not built yet' | 'build failed' | 'init failed';
  detail?: string;
  bundleBytes?: number;
  bundleGzipBytes?: number;
  /** Minified bytes by package (our own code as "ipdrift"), largest first, lazily loaded ones included; from an equivalent esbuild build. */
  composition?: Array<{ module: string; bytes: number }>;
  /** Medians over INIT_RUNS fresh processes. */
  init?: {
    runs: number;
    bootMs: number;
    importMs: number;
    handlerMs: number;
    /** boot + import + first handler call. */
    coldMs: number;
    /** Spawn -> exit, as the parent sees it. */
    processMs: number;
    rssMb: number;
    returned: string;
    all: Array<InitFigures & { processMs: number }>;
  };
}

/** What a cold start of the monitor function loads, from a build of the tree as it is now. */
let startSet: { files: string[]; bytes: number } | undefined;

/** The build of this run, made once: the deployed check and the bundle shape both need it. */
let built: Promise<LambdaResult | undefined> | undefined;
const ensureBundle = () => (built ??= buildBundle());

async function buildBundle(): Promise<LambdaResult | undefined> {
  if (!existsSync(BUNDLE_CONFIG)) {
    return existsSync(BUNDLE) ? undefined : { status: 'not built yet', detail: 'no esbuild.config.mjs and no dist/monitor.mjs' };
  }
  try {
    // Build what the function would ship now (`npm run build`'s Lambda part), so the size is never stale.
    const { buildAll } = (await import(pathToFileURL(BUNDLE_CONFIG).href)) as {
      buildAll(o: { quiet: boolean }): Promise<{ file: string; startFiles: string[]; startBytes: number }[]>;
    };
    const monitor = (await buildAll({ quiet: true })).find((r) => r.file === BUNDLE);
    if (monitor) startSet = { files: monitor.startFiles, bytes: monitor.startBytes };
  } catch (err) {
    return { status: 'build failed', detail: err instanceof Error ? err.message.slice(0, 500) : String(err) };
  }
  return existsSync(BUNDLE) ? undefined : { status: 'not built yet', detail: 'esbuild.config.mjs ran but wrote no dist/monitor.mjs' };
}

/** The package an esbuild input path belongs to (`node_modules/@aws-sdk/client-sns/...` -> `@aws-sdk/client-sns`). */
function packageOf(input: string): string {
  const i = input.lastIndexOf('node_modules/');
  if (i === -1) return 'ipdrift';
  const parts = input.slice(i + 'node_modules/'.length).split('/');
  return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
}

/**
 * What the bundle is made of: the monitor entry built again in memory with the options of
 * esbuild.config.mjs that change sizes (minified, ESM, node20, module-first), with a metafile.
 */
export async function composition(): Promise<Array<{ module: string; bytes: number }> | undefined> {
  if (!existsSync(MONITOR_ENTRY)) return undefined;
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: [MONITOR_ENTRY],
    bundle: true,
    write: false,
    outdir: join(ROOT, 'bench', '.build', 'composition'),
    outExtension: { '.js': '.mjs' },
    format: 'esm',
    platform: 'node',
    target: 'node20',
    minify: true,
    treeShaking: true,
    mainFields: ['module', 'main'],
    external: [...builtinModules, ...builtinModules.map((m) => `node:${m}`)],
    legalComments: 'none',
    metafile: true,
    logLevel: 'silent',
  });
  const bytes = new Map<string, number>();
  for (const out of Object.values(result.metafile.outputs)) {
    for (const [input, info] of Object.entries(out.inputs)) bytes.set(packageOf(input), (bytes.get(packageOf(input)) ?? 0) + info.bytesInOutput);
  }
  return [...bytes.entries()]
    .map(([module, b]) => ({ module, bytes: b }))
    .sort((a, b) => b.bytes - a.bytes)
    .slice(0, COMPOSITION_TOP);
}

/** Measures the bundle and its cold init against `lab` (a small started lab set). */
export async function lambdaShape(lab: LabSet, workDir: string): Promise<LambdaResult> {
  const missing = await ensureBundle();
  if (missing) return missing;
  // What a cold start parses: the entry and its static chunks (lazily imported ones come later).
  const files = startSet?.files ?? [BUNDLE];
  const bytes = Buffer.concat(files.map((f) => readFileSync(f)));
  const parts = await composition().catch(() => undefined);
  const shape = { bundleBytes: bytes.length, bundleGzipBytes: gzipSync(bytes).length, ...(parts ? { composition: parts } : {}) };

  const configPath = join(workDir, 'lambda-config.json');
  writeFileSync(
    configPath,
    JSON.stringify({
      resolvers: [lab.dns],
      allowLoopback: true,
      targets: lab.targets.map((t) => ({
        name: t.name,
        type: 'elb',
        host: t.host,
        port: t.port,
        probe: { protocol: 'http', path: '/health' },
        timeoutMs: INIT_PROBE_TIMEOUT_MS,
      })),
    }),
  );
  const all: Array<InitFigures & { processMs: number }> = [];
  try {
    for (let i = 0; i < INIT_RUNS; i++) {
      const t0 = performance.now();
      const out = await runToEnd(
        spawnNode(childPath('lambdaInit'), [BUNDLE, configPath], [], { stdio: ['ignore', 'pipe', 'pipe'] }),
        'lambda cold init',
        INIT_TIMEOUT_MS,
      );
      const processMs = round(performance.now() - t0);
      all.push({ ...parseResult<InitFigures>(out, 'lambda cold init'), processMs });
    }
  } catch (err) {
    return { status: 'init failed', ...shape, detail: err instanceof Error ? err.message.slice(0, 800) : String(err) };
  }
  const med = (f: (x: InitFigures & { processMs: number }) => number) => round(median(all.map(f)));
  return {
    status: 'measured',
    ...shape,
    init: {
      runs: all.length,
      bootMs: med((x) => x.bootMs),
      importMs: med((x) => x.importMs),
      handlerMs: med((x) => x.handlerMs),
      coldMs: med((x) => x.coldMs),
      processMs: med((x) => x.processMs),
      rssMb: med((x) => x.rssMb),
      returned: all[0]!.returned,
      all,
    },
  };
}

/** Invocations of the deployed check in one process: the cold one, then warm ones. */
export const LAMBDA_CHECKS = 4;
/** How long AWS-on-loopback may take to come up. */
const AWS_READY_TIMEOUT_MS = 20_000;
const BENCH_TABLE = 'ipdrift-bench';
const BENCH_TOPIC = 'arn:aws:sns:us-east-1:123456789012:bench-oncall';
const BENCH_EVENTS_TOPIC = 'arn:aws:sns:us-east-1:123456789012:bench-events';

/** The deployed check's invocations (bench/lambda-check.ts), or why they are missing. */
export type LambdaCheckResult =
  | { status: 'measured'; cold: InvocationFigures; warm: InvocationFigures; all: InvocationFigures[] }
  | { status: 'failed'; detail: string };

/** Waits for a child's result line on stdout (the child keeps running). */
function firstResult<T>(child: ChildProcess, what: string, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${what}: not ready within ${timeoutMs} ms`)), timeoutMs);
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      if (!out.includes('\n')) return;
      clearTimeout(timer);
      try {
        resolve(parseResult<T>(out, what));
      } catch (err) {
        reject(err);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited ${code}`));
    });
  });
}

/**
 * Runs the built bundle's handler LAMBDA_CHECKS times in one process on `configPath` (workload
 * A's), with DynamoDB, SNS and CloudWatch on loopback in another process. `profileDir`: a CPU
 * profile of the whole invocation process goes there.
 */
export async function lambdaCheck(configPath: string, profileDir?: string): Promise<LambdaCheckResult> {
  const missing = await ensureBundle();
  if (missing) return { status: 'failed', detail: `${missing.status}${missing.detail ? `: ${missing.detail}` : ''}` };
  const aws = spawnNode(childPath('aws'), [BENCH_TABLE], [], { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, NODE_NO_WARNINGS: '1' } });
  try {
    const endpoints = await firstResult<AwsEndpoints>(aws, 'AWS on loopback', AWS_READY_TIMEOUT_MS);
    const env = bundleEnv({
      dynamodb: endpoints.dynamodb,
      fake: endpoints.fake,
      table: BENCH_TABLE,
      topicArn: BENCH_TOPIC,
      eventsTopicArn: BENCH_EVENTS_TOPIC,
      configFile: configPath,
    });
    const out = await runToEnd(
      // --profile: the whole process (cold and warm invocations), written at exit.
      spawnNode(childPath('lambdaCheck'), [BUNDLE, String(LAMBDA_CHECKS)], profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env,
      }),
      'lambda check',
      INIT_TIMEOUT_MS,
    );
    const all = parseResult<InvocationFigures[]>(out, 'lambda check');
    const warm = all.slice(1);
    if (all.some((f) => !f.ok)) return { status: 'failed', detail: `an invocation did not return ok: ${JSON.stringify(all)}` };
    const med = (f: (x: InvocationFigures) => number) => round(median(warm.map(f)));
    return {
      status: 'measured',
      cold: all[0]!,
      warm: { wallMs: med((x) => x.wallMs), cpuMs: med((x) => x.cpuMs), ok: true, rssMb: Math.max(...all.map((x) => x.rssMb)) },
      all,
    };
  } catch (err) {
    return { status: 'failed', detail: err instanceof Error ? err.message.slice(0, 800) : String(err) };
  } finally {
    aws.stdin?.end();
  }
}
