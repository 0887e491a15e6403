/** Reads and validates a config file for the CLI. */
import type { Config } from '../core/config.ts';
import { readConfigFile } from '../adapters/local/config-file.ts';
import { UsageError } from './errors.ts';

export async function loadConfigFile(path: string | undefined, usage: string): Promise<Config> {
  if (!path) throw new UsageError('--config FILE is required', usage);
  return readConfigFile(path);
}
