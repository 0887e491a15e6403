/** Flag parsing on node:util parseArgs with usage errors that say what is wrong. */
import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';
import { DEFAULTS } from '../core/constants.ts';
import { UsageError } from './errors.ts';
import { closest } from '../core/suggest.ts';

type Options = NonNullable<ParseArgsConfig['options']>;

/** Parses argv for one command; unknown flags and missing values become UsageErrors. */
export function parse<O extends Options>(argv: string[], options: O, usage: string) {
  try {
    return parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (err) {
    const message = (err as Error).message.replace(/^TypeError \[[A-Z_]+\]: /, '');
    // Node's text for an unknown flag explains positionals; say the flag and the nearest known one.
    const unknown = /^Unknown option '([^']+)'/.exec(message)?.[1];
    if (unknown === undefined) throw new UsageError(message, usage);
    const flags = Object.keys({ ...options, help: true }).map((name) => `--${name}`);
    const near = closest(unknown.replace(/=.*$/, ''), flags);
    throw new UsageError(`unknown option "${unknown}"${near ? `; did you mean "${near}"?` : ''}`, usage);
  }
}

const DURATION_UNITS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** Duration limits of the CLI's flags: a timer past 2^31-1 ms fires at once in Node (clamped to 1 ms). */
export const DURATION_LIMITS = {
  /** Node's largest timer. */
  maxTimerMs: 2 ** 31 - 1,
  /** A check's deadline: as the config's `deadlineMs`. */
  deadlineMaxMs: DEFAULTS.checkDeadlineMaxMs,
  /** `watch --interval`: one day. */
  intervalMaxMs: 86_400_000,
} as const;

/** "1m 30s" style text for a limit in an error message. */
function describeMs(ms: number): string {
  if (ms % DURATION_UNITS.d === 0 && ms > DURATION_UNITS.d) return `${ms / DURATION_UNITS.d}d`;
  if (ms % DURATION_UNITS.h === 0) return `${ms / DURATION_UNITS.h}h`;
  if (ms % DURATION_UNITS.m === 0) return `${ms / DURATION_UNITS.m}m`;
  if (ms % DURATION_UNITS.s === 0) return `${ms / DURATION_UNITS.s}s`;
  return `${ms}ms`;
}

/**
 * "10s", "1m", "500ms", "2h", "7d", a sum of them ("1m30s", "1h15m") or plain milliseconds ->
 * whole ms, from 1 ms up to `maxMs` (default: Node's largest timer). Anything else is a UsageError
 * naming the flag and the range.
 */
export function parseDuration(text: string, flag: string, usage: string, maxMs: number = DURATION_LIMITS.maxTimerMs): number {
  const t = text.trim();
  const plain = /^\d+(?:\.\d+)?$/.test(t);
  if (!plain && !/^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/.test(t))
    throw new UsageError(`${flag}: expected a duration such as 10s, 1m30s or 500ms, got "${text}"`, usage);
  const parts = plain ? [[t, t, 'ms']] : [...t.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)];
  const raw = parts.reduce((sum, p) => sum + Number(p[1]) * DURATION_UNITS[p[2] as keyof typeof DURATION_UNITS], 0);
  // 4.1m is 245999.99999999997 in floating point: whole milliseconds up to rounding noise.
  const ms = Math.abs(raw - Math.round(raw)) < 1e-6 ? Math.round(raw) : raw;
  if (!Number.isInteger(ms)) throw new UsageError(`${flag}: expected whole milliseconds, got "${text}" (${ms} ms)`, usage);
  if (ms <= 0) throw new UsageError(`${flag}: must be more than 0`, usage);
  if (ms > maxMs) throw new UsageError(`${flag}: at most ${describeMs(maxMs)}, got "${text}"`, usage);
  return ms;
}

/** A positive whole number flag. */
export function parseCount(text: string, flag: string, usage: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n <= 0) throw new UsageError(`${flag}: expected a positive whole number, got "${text}"`, usage);
  return n;
}
