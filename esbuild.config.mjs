// Bundles the Lambda entry points to dist/*.mjs: ESM, node20, minified, with source maps.
// The AWS SDK is bundled (tree-shaken) rather than taken from the runtime, so the deployed
// code runs exactly the SDK version tested here. `npm run build` prints each bundle's size.
import { build } from 'esbuild';
import { existsSync, rmSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = dirname(fileURLToPath(import.meta.url));
const OUT_DIR = join(ROOT, 'dist');
const BYTES_PER_KB = 1024;

/** The Lambda entry points (src/lambda/), each bundled to dist/<out>.mjs. */
export const ENTRIES = [
  { in: 'src/lambda/monitor.ts', out: 'monitor' },
  { in: 'src/lambda/failover-watch.ts', out: 'failover-watch' },
  // Fan-out past one invocation (infra/lib/fan-out.ts): the Step Functions scheduler and its workers.
  { in: 'src/lambda/scheduler.ts', out: 'scheduler' },
  { in: 'src/lambda/worker.ts', out: 'worker' },
];

/** Where the Lambda bundles' chunks go, beside them (infra/lib/lambda-bundle.ts stages it whole). */
export const LAMBDA_CHUNK_DIR = 'chunks';

/** Some dependencies still `require()` node builtins; ESM output needs a real `require` for them. */
const BANNER = "import { createRequire } from 'module'; const require = createRequire(import.meta.url);";

/**
 * The files a cold start of `output` loads before its handler runs: the file and every chunk it
 * imports statically, transitively (esbuild metafile); lazily imported chunks are not among them.
 */
function startFiles(outputs, output, seen = new Set()) {
  if (seen.has(output)) return seen;
  seen.add(output);
  for (const i of outputs[output].imports) if (i.kind === 'import-statement' && !i.external) startFiles(outputs, i.path, seen);
  return seen;
}

/** Builds every existing entry; returns [{ entry, file, bytes, startFiles, startBytes }]. */
export async function buildAll({ outDir = OUT_DIR, quiet = false } = {}) {
  const entries = ENTRIES.filter((e) => existsSync(join(ROOT, e.in)));
  // Chunk names carry content hashes: start without old ones.
  rmSync(join(outDir, LAMBDA_CHUNK_DIR), { recursive: true, force: true });
  const built = await build({
    absWorkingDir: ROOT,
    entryPoints: entries.map((e) => ({ in: e.in, out: e.out })),
    outdir: outDir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    // Code shared by the entries, and what they import lazily (pg, mysql2 for the Aurora session
    // check), go to chunks: a cold start parses only what its function imports at once.
    splitting: true,
    chunkNames: `${LAMBDA_CHUNK_DIR}/[name]-[hash]`,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    minify: true,
    sourcemap: true,
    treeShaking: true,
    // Only node builtins stay external; everything else, the AWS SDK included, is bundled.
    external: [...builtinModules, ...builtinModules.map((m) => `node:${m}`)],
    banner: { js: BANNER },
    // Prefer ESM builds of dependencies: better tree-shaking.
    mainFields: ['module', 'main'],
    legalComments: 'none',
    metafile: true,
    logLevel: quiet ? 'silent' : 'warning',
  });
  const outputs = built.metafile.outputs;
  const results = entries.map((e) => {
    const file = join(outDir, `${e.out}.mjs`);
    const start = [...startFiles(outputs, relative(ROOT, file))].map((f) => join(ROOT, f));
    return { entry: e.in, file, bytes: statSync(file).size, startFiles: start, startBytes: start.reduce((sum, f) => sum + statSync(f).size, 0) };
  });
  if (!quiet) {
    for (const r of results)
      console.log(`${relative(process.cwd(), r.file)}  ${(r.startBytes / BYTES_PER_KB).toFixed(1)} KB loaded at start (with its chunks)`);
  }
  return results;
}

/** Where the built CLI goes: `bin/ipdrift.mjs` runs `dist/cli/main.mjs`. */
export const CLI_OUT_DIR = join(OUT_DIR, 'cli');

/**
 * Builds the CLI (src/cli/main.ts) so that `ipdrift` starts without a TypeScript loader.
 * Dependencies are bundled but the AWS SDK stays external, and each command is a chunk of its
 * own (splitting): the SDK is loaded only by the command that needs it (`failover-drill --yes`),
 * never at start. Not minified: stack traces and `--help` stay readable.
 */
export async function buildCli({ outDir = CLI_OUT_DIR, quiet = false } = {}) {
  // Chunk names carry content hashes: start empty so no stale chunk is left behind.
  rmSync(outDir, { recursive: true, force: true });
  await build({
    absWorkingDir: ROOT,
    entryPoints: [{ in: 'src/cli/main.ts', out: 'main' }],
    outdir: outDir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    sourcemap: true,
    external: [...builtinModules, ...builtinModules.map((m) => `node:${m}`), '@aws-sdk/*'],
    banner: { js: BANNER },
    mainFields: ['module', 'main'],
    legalComments: 'none',
    logLevel: quiet ? 'silent' : 'warning',
  });
  const file = join(outDir, 'main.mjs');
  if (!quiet) console.log(`${relative(process.cwd(), file)}  ${(statSync(file).size / BYTES_PER_KB).toFixed(1)} KB (+ a chunk per command)`);
  return file;
}

// Run as a script, not when imported: `node esbuild.config.mjs` builds the Lambda bundles and
// the CLI; `--outdir DIR` only the Lambda bundles, into DIR; `--cli-only` only the CLI.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const at = process.argv.indexOf('--outdir');
  const cliOnly = process.argv.includes('--cli-only');
  const quiet = process.argv.includes('--quiet');
  if (!cliOnly) await buildAll({ quiet, ...(at > 0 && process.argv[at + 1] ? { outDir: resolve(process.argv[at + 1]) } : {}) });
  if (cliOnly || at < 0) await buildCli({ quiet });
}
