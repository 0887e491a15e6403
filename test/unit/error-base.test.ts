/**
 * One error base (src/core/errors.ts): every error class of src/ extends IpdriftError, directly
 * or through another, and every `code` a class declares is its own.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/config.ts';
import { IpdriftError, UnreachableError, unreachable } from '../../src/core/errors.ts';
import { LookupError } from '../../src/core/resolve.ts';
import { UsageError } from '../../src/cli/errors.ts';

const SRC = join(import.meta.dirname, '../../src');
const sources = (readdirSync(SRC, { recursive: true }) as string[])
  .filter((f) => f.endsWith('.ts'))
  .map((f) => [f, readFileSync(join(SRC, f), 'utf8')] as const);

describe('errors', () => {
  it('no class extends Error but the base itself', () => {
    const direct = sources.flatMap(([f, text]) => [...text.matchAll(/class (\w+) extends Error\b/g)].map((m) => `${f}: ${m[1]}`));
    expect(direct).toEqual(['core/errors.ts: IpdriftError']);
  });

  it('every declared code is kebab-case and used by one class only', () => {
    const codes = sources.flatMap(([, text]) => [...text.matchAll(/readonly code = '([^']+)'/g)].map((m) => m[1]!));
    expect(codes.length).toBeGreaterThan(30);
    expect(codes.filter((c) => !/^[a-z]+(-[a-z]+)*$/.test(c))).toEqual([]);
    expect(codes.filter((c, i) => codes.indexOf(c) !== i)).toEqual([]);
  });

  it('an error says its code and class, and keeps its cause', () => {
    // Prepare
    const cause = new Error('below');
    // Act
    const errors = [new ConfigError(['x: y'], 'f.json', { cause }), new UsageError('bad flag'), new LookupError('timeout', 'a.test', 'a.test: no answer')];
    // Assess
    expect(errors.map((e) => [e instanceof IpdriftError, e.code, e.name])).toEqual([
      [true, 'config', 'ConfigError'],
      [true, 'usage', 'UsageError'],
      [true, 'timeout', 'LookupError'],
    ]);
    expect(errors[0]!.cause).toBe(cause);
  });

  it('unreachable: the default of an exhaustive switch throws what it was given, if the types were bypassed', () => {
    // Act / Assess
    expect(() => unreachable('queue' as never, 'target type')).toThrow(new UnreachableError('target type: "queue" is not handled'));
  });
});
