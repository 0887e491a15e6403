/**
 * The shipped JSON Schema (config.schema.json): the one zod generates today, and it agrees with
 * `ipdrift validate` on every example the README and the repository show, checked by a real
 * JSON Schema validator (Ajv, draft 2020-12), as an editor would check them.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/core/config.ts';
import { configJsonSchema } from '../../src/core/config-json-schema.ts';

const ROOT = join(import.meta.dirname, '../..');
const FIXTURES = join(ROOT, 'test/fixtures/config');
const shipped = JSON.parse(readFileSync(join(ROOT, 'config.schema.json'), 'utf8')) as Record<string, unknown>;
// strict: false lets Ajv read the keywords zod writes for editors (`default`, `description`) without complaint.
const validate = new Ajv2020({ strict: false, allErrors: true }).compile(shipped);

/** The ```json blocks of the README, each with the line it starts on. */
function readmeExamples(): [string, string][] {
  const lines = readFileSync(join(ROOT, 'README.md'), 'utf8').split('\n');
  const out: [string, string][] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] !== '```json') continue;
    const end = lines.indexOf('```', i + 1);
    out.push([`README.md:${i + 2}`, lines.slice(i + 1, end).join('\n')]);
    i = end;
  }
  return out;
}

/** Invalid fixtures whose fault is the file's shape (a schema sees it); the rest need code. */
const SHAPE_FAULTS = [
  'invalid-engine.json',
  'invalid-key-typos.json',
  'invalid-metrics.json',
  'invalid-missing-port.json',
  'invalid-no-targets.json',
  'invalid-notify.json',
  'invalid-port-type.json',
  'invalid-port.json',
  'invalid-protocol.json',
  'invalid-timeout.json',
  'invalid-type.json',
  'invalid-unknown-key.json',
];

describe('config.schema.json', () => {
  it('is what the zod schema generates today (else: npm run build && npm run schema)', () => {
    expect(shipped).toEqual(configJsonSchema());
  });

  it('the README shows at least two configs, and every one names the schema', () => {
    const examples = readmeExamples();
    expect(examples.length).toBeGreaterThanOrEqual(2);
    for (const [, text] of examples) expect(JSON.parse(text).$schema).toBe('./config.schema.json');
  });

  const valid: [string, string][] = [
    ...readmeExamples(),
    ['infra/example.config.json', readFileSync(join(ROOT, 'infra/example.config.json'), 'utf8')],
    ...readdirSync(FIXTURES)
      .filter((f) => f.startsWith('valid-'))
      .map((f): [string, string] => [f, readFileSync(join(FIXTURES, f), 'utf8')]),
  ];
  it.each(valid)('%s: valid for the schema and for ipdrift validate', (where, text) => {
    // Act
    const bySchema = validate(JSON.parse(text));
    // Assess
    expect(validate.errors ?? []).toEqual([]);
    expect(bySchema).toBe(true);
    expect(() => parseConfigText(text, where)).not.toThrow();
  });

  it.each(SHAPE_FAULTS)('%s: refused by the schema as by ipdrift validate', (file) => {
    // Prepare
    const text = readFileSync(join(FIXTURES, file), 'utf8');
    // Act / Assess
    expect(validate(JSON.parse(text))).toBe(false);
    expect(() => parseConfigText(text, file)).toThrow(/invalid configuration/);
  });
});
