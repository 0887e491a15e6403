/** A secret kept in a file of its own (a password, an HMAC key): never in the config, never on the command line. */
import { stat } from 'node:fs/promises';
import { readBoundedFile } from '../adapters/local/bounded-read.ts';
import { UsageError } from './errors.ts';

/** A secret file is a line, not a document. */
const MAX_SECRET_FILE_BYTES = 4096;

/**
 * Reads the secret in `path` (one trailing newline dropped); `what` names it in errors
 * (`--db-password-file x`, `notify[0].secretFile x`). Warns when others may read the file.
 */
export async function readSecretFile(path: string, what: string, usage?: string): Promise<string> {
  let text: string;
  try {
    text = await readBoundedFile(path, MAX_SECRET_FILE_BYTES);
  } catch (err) {
    throw new UsageError(`${what} ${path}: ${(err as Error).message}`, usage);
  }
  const secret = text.replace(/\r?\n$/, '');
  if (secret === '' || secret.includes('\n')) throw new UsageError(`${what} ${path}: expected one line, the secret`, usage);
  const mode = (await stat(path)).mode;
  if (mode & 0o077) console.error(`warning: ${what} ${path} can be read by others (mode ${(mode & 0o777).toString(8)}); chmod 600 it`);
  return secret;
}
