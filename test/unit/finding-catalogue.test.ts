/**
 * The finding catalogue (src/core/finding-catalogue.ts) is the one place a kind is described:
 * the engine's tables come from it, and the README's and the architecture's kind tables are held
 * to it (a kind added there and not in the docs, or a severity changed in one place, fails here).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FINDING_CATALOGUE } from '../../src/core/finding-catalogue.ts';
import { adviceFor } from '../../src/core/advice.ts';
import { KIND_MEANING } from '../../src/core/notice.ts';
import { CONDITION_OF, EVENT_KINDS, FINDING_KINDS, RISK_KINDS } from '../../src/core/types.ts';

const ROOT = join(import.meta.dirname, '../..');
const KINDS = Object.keys(FINDING_CATALOGUE) as (keyof typeof FINDING_CATALOGUE)[];

/** The rows of the markdown table under `header` in `file`: [kind, severity cell]. */
function kindTable(file: string, header: string): [string, string][] {
  const lines = readFileSync(join(ROOT, file), 'utf8').split('\n');
  const start = lines.indexOf(header);
  expect(start, `${file}: no table "${header}"`).toBeGreaterThan(-1);
  const rows: [string, string][] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    const [, kind, severity] = line.split('|').map((c) => c.trim());
    rows.push([kind!.replaceAll('`', ''), severity!]);
  }
  return rows;
}

describe('the finding catalogue', () => {
  it("derives the engine's tables: severity, events, risks, conditions, meaning, advice", () => {
    for (const k of KINDS) {
      const e: { severity: string; event?: true; risk?: true; condition?: string; meaning: string; advice: string } = FINDING_CATALOGUE[k];
      expect(FINDING_KINDS[k]).toBe(e.severity);
      expect(EVENT_KINDS.has(k)).toBe(e.event === true);
      expect(RISK_KINDS.has(k)).toBe(e.risk === true);
      expect(CONDITION_OF[k]).toBe(e.condition);
      expect(KIND_MEANING[k]).toBe(e.meaning);
      expect(adviceFor(k)).toBe(e.advice);
    }
    // Events and risks are information: never a page by themselves.
    for (const k of [...EVENT_KINDS, ...RISK_KINDS]) expect(FINDING_KINDS[k]).toBe('info');
  });

  it.each([
    ['README.md', '| kind | severity | meaning |'],
    ['docs/architecture.md', '| kind | severity |'],
  ])('%s lists every kind once, with its severity', (file, header) => {
    // Act
    const rows = kindTable(file, header);
    // Assess
    expect(rows.map(([k]) => k).sort()).toEqual([...KINDS].sort());
    for (const [kind, cell] of rows) {
      const e: { severity: string; event?: true } = FINDING_CATALOGUE[kind as (typeof KINDS)[number]];
      expect(cell.split(/[ ;]/)[0], `${file}: ${kind}`).toBe(e.severity);
      expect(cell.includes('(event)'), `${file}: ${kind} is an event`).toBe(e.event === true);
    }
  });
});
