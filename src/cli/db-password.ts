/** `--db-password-file`: the password the session check logs in with (never in the config). */
import type { AuroraTarget } from '../core/config.ts';
import { readSecretFile } from './secret-file.ts';
import { DriverSessionCheck, SessionCheckError } from '../adapters/db/session-check.ts';
import type { SessionCheck } from '../core/ports.ts';

/** Reads the password (one trailing newline dropped); warns when others may read the file. */
export const readPasswordFile = (path: string, usage: string): Promise<string> => readSecretFile(path, '--db-password-file', usage);

/** The session check of the CLI: every target's `login.user`, the one password. */
export function cliSessionCheck(password: string): SessionCheck {
  return new DriverSessionCheck(async (t: AuroraTarget) => {
    if (!t.login?.user) throw new SessionCheckError(`${t.name}: "login.user" is needed with --db-password-file`);
    return { user: t.login.user, password };
  });
}
