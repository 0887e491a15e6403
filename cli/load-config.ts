/** Reads and validates a config file for the CLI. */
import { readFile } from 'node:fs/promises';
import { ConfigError, parseConfigText } from '../functions/core/config.ts';
import type { Config } from '../functions/core/config.ts';
import { UsageError } from './errors.ts';

/** Largest config file read (a config is a few KB; anything bigger is a mistake). */
const MAX_CONFIG_BYTES = 1024 * 1024;

export async function loadConfigFile(path: string | undefined, usage: string): Promise<Config> {
  if (!path) throw new UsageError('--config FILE is required', usage);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError([`(root): cannot read the file (${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (err as Error).message})`], path, { cause: err });
  }
  if (Buffer.byteLength(text) > MAX_CONFIG_BYTES) throw new ConfigError([`(root): file is larger than ${MAX_CONFIG_BYTES} bytes`], path);
  return parseConfigText(text, path);
}
