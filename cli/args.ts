/** Flag parsing on node:util parseArgs with usage errors that say what is wrong. */
import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';
import { UsageError } from './errors.ts';

type Options = NonNullable<ParseArgsConfig['options']>;

/** Parses argv for one command; unknown flags and missing values become UsageErrors. */
export function parse<O extends Options>(argv: string[], options: O, usage: string) {
  try {
    return parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message.replace(/^TypeError \[[A-Z_]+\]: /, ''), usage);
  }
}

const DURATION_UNITS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

/** "10s", "1m", "500ms", "2h" or plain milliseconds -> ms. */
export function parseDuration(text: string, flag: string, usage: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new UsageError(`${flag}: expected a duration such as 10s, 1m or 500ms, got "${text}"`, usage);
  const ms = Number(m[1]) * DURATION_UNITS[(m[2] ?? 'ms') as keyof typeof DURATION_UNITS];
  if (ms <= 0) throw new UsageError(`${flag}: must be more than 0`, usage);
  return ms;
}

/** A positive whole number flag. */
export function parseCount(text: string, flag: string, usage: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`${flag}: expected a positive whole number, got "${text}"`, usage);
  return n;
}
