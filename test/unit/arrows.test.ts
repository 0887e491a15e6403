/**
 * Arrows point inward (docs/architecture.md, "Layout and arrows"): the core imports only itself,
 * src/contract.ts, Node's built-ins and zod, and never reads the environment; planning and
 * presentation import the core, never an adapter, an entry point or an SDK; nothing in the
 * core imports them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = join(import.meta.dirname, '../../src');

/** Every .ts file under `dir`, with the modules it imports (resolved to src-relative paths, or the package name). */
function importsUnder(dir: string): { file: string; imports: string[]; text: string }[] {
  const out: { file: string; imports: string[]; text: string }[] = [];
  for (const entry of readdirSync(join(SRC, dir), { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts')) continue;
    const path = join(entry.parentPath, entry.name);
    const text = readFileSync(path, 'utf8');
    const specs = [...text.matchAll(/^(?:import|export)\b[^;]*?from '([^']+)'/gms), ...text.matchAll(/import\('([^']+)'\)/g)].map((m) => m[1]!);
    out.push({ file: relative(SRC, path), imports: specs.map((s) => (s.startsWith('.') ? relative(SRC, resolve(dirname(path), s)) : s)), text });
  }
  return out;
}

describe('arrows point inward', () => {
  it('src/core imports only src/core, src/contract.ts, node: built-ins and zod, and never reads process.env', () => {
    // Act
    const bad = importsUnder('core').flatMap(({ file, imports, text }) => [
      ...imports.filter((i) => !(i.startsWith('core/') || i === 'contract.ts' || i.startsWith('node:') || i === 'zod')).map((i) => `${file} imports ${i}`),
      ...(/process\.env/.test(text) ? [`${file} reads process.env`] : []),
    ]);
    // Assess
    expect(bad).toEqual([]);
  });

  it.each(['planning', 'presentation'])('src/%s imports only the core, itself, node: built-ins and zod', (dir) => {
    const bad = importsUnder(dir).flatMap(({ file, imports }) =>
      imports.filter((i) => !(i.startsWith('core/') || i.startsWith(`${dir}/`) || i.startsWith('node:') || i === 'zod')).map((i) => `${file} imports ${i}`),
    );
    expect(bad).toEqual([]);
  });
});
