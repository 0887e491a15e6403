/**
 * A configuration file, read bounded (core/config.ts validates the text): the CLI, the Lambda's
 * bundled config and `ipdrift cost` all read it here, so a FIFO, a device or a huge file fails
 * the same clear way everywhere.
 */
import { ConfigError, parseConfigText } from '../../core/config.ts';
import type { Config } from '../../core/config.ts';
import { BoundedReadError, readBoundedFile } from './bounded-read.ts';

/** Largest config file read (a config is a few KB; anything bigger is a mistake). */
export const MAX_CONFIG_BYTES = 1024 * 1024;

/** The text of a config file; ConfigError naming the file when it cannot be read. */
export async function readConfigText(path: string): Promise<string> {
  try {
    return await readBoundedFile(path, MAX_CONFIG_BYTES);
  } catch (err) {
    const why = err instanceof BoundedReadError ? err.message : (err as Error).message;
    throw new ConfigError([`(root): cannot read the file (${why})`], path, { cause: err });
  }
}

/** Reads and validates a config file. */
export async function readConfigFile(path: string): Promise<Config> {
  return parseConfigText(await readConfigText(path), path);
}
