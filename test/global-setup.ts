/**
 * Builds the CLI before any test runs: the end-to-end tests run `bin/ipdrift.mjs`, which runs
 * the built `dist/cli/main.mjs`, and must run the code under test, never a stale build.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..');

export default function buildCli(): void {
  execFileSync(process.execPath, [join(ROOT, 'esbuild.config.mjs'), '--cli-only', '--quiet'], { cwd: ROOT, stdio: 'inherit', timeout: 120_000 });
}
