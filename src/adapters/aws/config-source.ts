/**
 * Where the Lambda gets its configuration: the JSON file bundled next to the function. Only
 * there: the stack derives IAM, security-group ports, rules and alarms from that same file at
 * synth time, so a config change is a redeploy. Validated with core/config.ts; cached across
 * warm invocations so a check does not pay for it every minute.
 */
import { isAbsolute, resolve } from 'node:path';
import type { Config } from '../../core/config.ts';
import { MAX_CONFIG_BYTES, readConfigFile } from '../local/config-file.ts';

/** Loads the validated configuration; throws ConfigError when it is missing or invalid. */
export type ConfigLoader = () => Promise<Config>;

/** Limits of configuration sources. */
export const CONFIG_SOURCE_LIMITS = {
  /** Largest config file read (a config is a few KB; anything bigger is a mistake). */
  maxFileBytes: MAX_CONFIG_BYTES,
} as const;

/**
 * Caches a loader's result; a failure is not cached (the next invocation tries again).
 * `maxAgeMs` undefined: for the life of the container.
 */
export function cachedLoader(load: ConfigLoader, maxAgeMs?: number, now: () => number = Date.now): ConfigLoader {
  let cached: { at: number; config: Promise<Config> } | undefined;
  return () => {
    if (cached && (maxAgeMs === undefined || now() - cached.at < maxAgeMs)) return cached.config;
    const entry = { at: now(), config: load() };
    cached = entry;
    entry.config.catch(() => {
      if (cached === entry) cached = undefined;
    });
    return entry.config;
  };
}

/** A JSON file; a relative path is taken from `baseDir` (the bundle's directory in Lambda). */
export function fileConfigLoader(path: string, baseDir: string): ConfigLoader {
  const full = isAbsolute(path) ? path : resolve(baseDir, path);
  return cachedLoader(() => readConfigFile(full));
}
