/**
 * Where the Lambda gets its configuration: a JSON file bundled next to the function, or an SSM
 * parameter (SecureString allowed). Validated with core/config.ts; cached across warm
 * invocations so a check does not pay for it every minute.
 */
import { isAbsolute, resolve } from 'node:path';
import { GetParameterCommand } from '@aws-sdk/client-ssm';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { ConfigError, parseConfigText } from '../core/config.ts';
import type { Config } from '../core/config.ts';
import { MAX_CONFIG_BYTES, readConfigFile } from '../local/config-file.ts';

/** Loads the validated configuration; throws ConfigError when it is missing or invalid. */
export type ConfigLoader = () => Promise<Config>;

/** Limits of configuration sources. */
export const CONFIG_SOURCE_LIMITS = {
  /** Largest config file read (a config is a few KB; anything bigger is a mistake). */
  maxFileBytes: MAX_CONFIG_BYTES,
  /** How long an SSM-held config is reused before it is read again (edits apply within this). */
  ssmCacheMs: 5 * 60_000,
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

/** An SSM parameter holding the JSON (GetParameter with decryption), re-read every CONFIG_SOURCE_LIMITS.ssmCacheMs. */
export function ssmConfigLoader(client: SSMClient, name: string, maxAgeMs: number = CONFIG_SOURCE_LIMITS.ssmCacheMs): ConfigLoader {
  const source = `ssm:${name}`;
  return cachedLoader(async () => {
    let value: string | undefined;
    try {
      const res = await client.send(new GetParameterCommand({ Name: name, WithDecryption: true }));
      value = res.Parameter?.Value;
    } catch (err) {
      const why = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      throw new ConfigError([`(root): cannot read the parameter (${why})`], source, { cause: err });
    }
    if (value === undefined || value === '') throw new ConfigError(['(root): the parameter has no value'], source);
    return parseConfigText(value, source);
  }, maxAgeMs);
}
