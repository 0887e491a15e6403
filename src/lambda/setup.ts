/**
 * What every Lambda entry point shares when it wires itself: reading its environment (a
 * missing or malformed variable is one error class, naming the variable), the bundle's own
 * directory (where the config sits), and how an error is written into a log line. The SDK
 * clients and the logger live in src/adapters/aws/runtime.ts.
 */
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { errorWithName } from '../core/error-text.ts';
import { IpdriftError } from '../core/errors.ts';

/** A required environment variable is missing or malformed: the function is misconfigured, not a target. */
export class SetupError extends IpdriftError {
  override readonly name = 'SetupError';
  readonly code = 'setup';
  constructor(
    readonly variable: string,
    detail = 'is not set',
  ) {
    super(`environment variable ${variable}${detail.startsWith(':') ? '' : ' '}${detail}`);
  }
}

/** The value of `name`; SetupError when it is missing or empty. */
export function requiredEnv(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name];
  if (!value) throw new SetupError(name);
  return value;
}

/** A positive whole number from `name`, or `fallback` when it is unset; SetupError otherwise. */
export function positiveEnv(env: NodeJS.ProcessEnv, name: string, fallback?: number): number {
  const text = env[name];
  if (text === undefined || text === '') {
    if (fallback !== undefined) return fallback;
    throw new SetupError(name);
  }
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new SetupError(name, `: expected a positive whole number, got "${text}"`);
  return n;
}

/** The directory of the bundle that calls it (the config is bundled beside it). */
export const bundleDirOf = (moduleUrl: string) => dirname(fileURLToPath(moduleUrl));

/** `Name: message` of an error, for a log line. */
export const errorText = errorWithName;
