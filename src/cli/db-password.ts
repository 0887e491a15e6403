/** `--db-password-file`: the password the session check logs in with (never in the config). */
import { stat } from 'node:fs/promises';
import type { AuroraTarget } from '../core/config.ts';
import { readBoundedFile } from '../adapters/local/bounded-read.ts';
import { DriverSessionCheck, SessionCheckError } from '../adapters/db/session-check.ts';
import type { SessionCheck } from '../core/ports.ts';
import { UsageError } from './errors.ts';

/** A password file is a line, not a document. */
const MAX_PASSWORD_FILE_BYTES = 4096;

/** Reads the password (one trailing newline dropped); warns when others may read the file. */
export async function readPasswordFile(path: string, usage: string): Promise<string> {
  let text: string;
  try {
    text = await readBoundedFile(path, MAX_PASSWORD_FILE_BYTES);
  } catch (err) {
    throw new UsageError(`--db-password-file ${path}: ${(err as Error).message}`, usage);
  }
  const password = text.replace(/\r?\n$/, '');
  if (password === '' || password.includes('\n')) throw new UsageError(`--db-password-file ${path}: expected one line, the password`, usage);
  const mode = (await stat(path)).mode;
  if (mode & 0o077) console.error(`warning: --db-password-file ${path} can be read by others (mode ${(mode & 0o777).toString(8)}); chmod 600 it`);
  return password;
}

/** The session check of the CLI: every target's `login.user`, the one password. */
export function cliSessionCheck(password: string): SessionCheck {
  return new DriverSessionCheck(async (t: AuroraTarget) => {
    if (!t.login?.user) throw new SessionCheckError(`${t.name}: "login.user" is needed with --db-password-file`);
    return { user: t.login.user, password };
  });
}
