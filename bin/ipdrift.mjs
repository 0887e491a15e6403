#!/usr/bin/env node
// Runs the built CLI (dist/cli/main.mjs): `npm ci` builds it (the prepare script), as does
// `npm run build`. No TypeScript loader at start.
import { existsSync } from 'node:fs';

const built = new URL('../dist/cli/main.mjs', import.meta.url);
if (!existsSync(built)) {
  process.stderr.write('ipdrift: the CLI is not built (dist/cli/main.mjs is missing): run "npm run build" (npm ci does it)\n');
  process.exit(2);
}
const { main } = await import(built.href);
process.exitCode = await main(process.argv.slice(2));
