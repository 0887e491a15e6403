/**
 * Stages the Lambda asset: the esbuild bundle plus the ipdrift config, side by side.
 *
 * The asset directory must hold both files, but `dist/` is the build's and the config is
 * the deployer's, so neither directory is the asset as it stands. We copy both into a
 * directory named after a hash of what goes in it: the same inputs give the same directory
 * (repeated synths reuse it, nothing piles up in the temp dir), and CDK hashes the asset by
 * content anyway, so the directory's path never reaches the template.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { BUNDLED_CONFIG_FILE, BUNDLE_ENTRIES } from '../../src/contract.ts';

/** File names inside the Lambda asset (and so under `/var/task`). */
export const BUNDLE_FILES = {
  /** The esbuild output; `monitor.handler` is its exported handler. */
  entry: 'monitor.mjs',
  /** Optional source map next to the bundle (`NODE_OPTIONS=--enable-source-maps`). */
  sourceMap: 'monitor.mjs.map',
  /** The deployer's config, bundled so a check never depends on a network fetch. */
  config: BUNDLED_CONFIG_FILE,
  /** The chunks the bundles import (esbuild.config.mjs `chunkNames`; test/integration/aws-bundle.test.ts runs a staged bundle). */
  chunkDir: 'chunks',
} as const;

/** Where the Lambda runtime unpacks the asset. */
export const LAMBDA_TASK_ROOT = '/var/task' as const;

/** A missing bundle: the message says how to produce it. */
export class BundleNotFoundError extends Error {
  override readonly name = 'BundleNotFoundError';
}

/** The esbuild outputs a function can ship (src/contract.ts). */
export { BUNDLE_ENTRIES };
export type BundleEntry = (typeof BUNDLE_ENTRIES)[keyof typeof BUNDLE_ENTRIES];

/**
 * Copies `<codePath>/<entry>.mjs` (and its source map when present), and the same for each of
 * `extras` (other entries sharing the asset: the failover watcher beside the monitor), and
 * writes `configJson` as `ipdrift.config.json` into a content-addressed directory; returns
 * that directory.
 *
 * @throws BundleNotFoundError when `<codePath>/<entry>.mjs` (or an extra's) does not exist.
 */
export function stageLambdaBundle(
  codePath: string,
  configJson: string,
  name: BundleEntry = BUNDLE_ENTRIES.monitor,
  extras: readonly BundleEntry[] = [],
): string {
  const dir = resolve(codePath);
  const files: Array<[name: string, content: Buffer]> = [];
  for (const entryName of [name, ...extras.filter((e) => e !== name)]) {
    const file = `${entryName}.mjs`;
    const entry = join(dir, file);
    if (!existsSync(entry)) {
      throw new BundleNotFoundError(
        `${entry} not found: run \`npm run build\` first, or point the codePath prop / \`-c codePath=DIR\` at a directory holding ${file}`,
      );
    }
    const mapFile = `${file}.map`;
    const map = join(dir, mapFile);
    files.push([file, readFileSync(entry)]);
    if (existsSync(map)) files.push([mapFile, readFileSync(map)]);
  }
  // The chunks the entries share and import (esbuild splitting): every function gets them all.
  const chunks = join(dir, BUNDLE_FILES.chunkDir);
  if (existsSync(chunks)) {
    for (const chunk of readdirSync(chunks).sort()) files.push([`${BUNDLE_FILES.chunkDir}/${chunk}`, readFileSync(join(chunks, chunk))]);
  }
  files.push([BUNDLE_FILES.config, Buffer.from(configJson, 'utf8')]);

  const hash = createHash('sha256');
  for (const [name, content] of files) hash.update(name).update('\0').update(content).update('\0');
  const staged = join(tmpdir(), `ipdrift-lambda-${hash.digest('hex').slice(0, 16)}`);
  if (existsSync(join(staged, BUNDLE_FILES.config))) return staged;

  // Build beside the final name and rename: a concurrent synth never sees a half-written dir.
  const building = `${staged}.${process.pid}.${Date.now()}`;
  mkdirSync(building, { recursive: true });
  for (const [name, content] of files) {
    mkdirSync(dirname(join(building, name)), { recursive: true });
    writeFileSync(join(building, name), content);
  }
  try {
    renameSync(building, staged);
  } catch (err) {
    // Another process won the race with identical content: use theirs.
    rmSync(building, { recursive: true, force: true });
    if (!existsSync(join(staged, BUNDLE_FILES.config))) throw err;
  }
  return staged;
}
