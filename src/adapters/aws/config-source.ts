/**
 * Where the Lambda gets its configuration: the JSON file bundled next to the function. Only
 * there: the stack derives IAM, security-group ports, rules and alarms from that same file at
 * synth time, so a config change is a redeploy. Validated with core/config.ts; cached across
 * warm invocations so a check does not pay for it every minute.
 */
import { isAbsolute, resolve } from 'node:path';
import type { Config } from '../../core/config.ts';
import { readConfigFile } from '../local/config-file.ts';

/** Loads the validated configuration; throws ConfigError when it is missing or invalid. */
export type ConfigLoader = () => Promise<Config>;

/** Caches a loader's result for the life of the container; a failure is not cached (the next invocation tries again). */
export function cachedLoader(load: ConfigLoader): ConfigLoader {
  let cached: Promise<Config> | undefined;
  return () => {
    if (cached) return cached;
    const config = load();
    cached = config;
    config.catch(() => {
      if (cached === config) cached = undefined;
    });
    return config;
  };
}

/** A JSON file; a relative path is taken from `baseDir` (the bundle's directory in Lambda). */
export function fileConfigLoader(path: string, baseDir: string): ConfigLoader {
  const full = isAbsolute(path) ? path : resolve(baseDir, path);
  return cachedLoader(() => readConfigFile(full));
}
