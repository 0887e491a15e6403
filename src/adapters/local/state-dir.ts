/**
 * The CLI's state directory, made ready before any work (issue: `--state /proc/x` spun for ever in
 * Node's recursive mkdir, and a read-only directory failed only after the whole check had run):
 * an existing path must be a directory a file can be written in; a missing one is made one level
 * at a time below its nearest existing ancestor, each step's error named. Bounded: at most one
 * step per path component.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { StateError } from '../../core/ports.ts';

const code = (err: unknown) => (err as NodeJS.ErrnoException).code ?? (err as Error).message;

/** Makes `dir` ready for the file store, or throws a StateError that names the path and why. */
export async function prepareStateDir(dir: string): Promise<void> {
  const target = resolve(dir);
  // The missing components, nearest existing ancestor first.
  const missing: string[] = [];
  let at = target;
  for (;;) {
    try {
      const s = await stat(at);
      if (!s.isDirectory()) throw new StateError(missing.length === 0 ? 'not a directory' : `${at} is not a directory`, target);
      break;
    } catch (err) {
      if (err instanceof StateError) throw err;
      // ENOTDIR: a file on the way; the walk up names it.
      if (code(err) !== 'ENOENT' && code(err) !== 'ENOTDIR') throw new StateError(`cannot read ${at} (${code(err)})`, target, { cause: err });
      const up = dirname(at);
      if (up === at) throw new StateError('no existing ancestor directory', target);
      missing.unshift(at);
      at = up;
    }
  }
  for (const step of missing) {
    try {
      await mkdir(step);
    } catch (err) {
      throw new StateError(`cannot create ${step} (${code(err)})`, target, { cause: err });
    }
  }
  // A real write: permission bits say nothing on a read-only mount, or to root on /proc.
  const probe = join(target, `.write-test.${process.pid}.${randomBytes(4).toString('hex')}`);
  try {
    await writeFile(probe, '');
    await unlink(probe);
  } catch (err) {
    throw new StateError(`cannot write in the state directory (${code(err)})`, target, { cause: err });
  }
}
