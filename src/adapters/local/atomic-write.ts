/**
 * One way to replace a file whole: a temp file beside it (`<path>.<pid>.<hex>.tmp`, the name the
 * file store's sweep of dead writers' temps knows), then a rename, so a reader (a scraper, another
 * process sharing the state directory) sees the old file or the new one, never half of one.
 */
import { randomBytes } from 'node:crypto';
import { rename, unlink, writeFile } from 'node:fs/promises';

/** Writes `data` to `path` with `mode`, whole or not at all; the temp file is removed when a step fails. */
export async function writeFileAtomic(path: string, data: string, mode: number): Promise<void> {
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, data, { mode, flag: 'wx' });
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}
