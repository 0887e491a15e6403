/**
 * Reading a file that must be a regular file of bounded size (a state file, a config file)
 * without hanging on a FIFO, reading a device forever, or loading a huge file before noticing.
 * The size limit is enforced while reading, not trusted from `stat` (0 for devices).
 */
import { constants } from 'node:fs';
import { lstat, open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { IpdriftError } from '../../core/errors.ts';

/** Why a bounded read failed. */
export type BoundedReadFailure = 'missing' | 'dangling-symlink' | 'not-regular' | 'too-large' | 'io';

/** A bounded read failed; `reason` says why, the message says it for people, `cause` is the system error. */
export class BoundedReadError extends IpdriftError {
  override readonly name = 'BoundedReadError';
  readonly code = 'bounded-read';
  constructor(
    readonly reason: BoundedReadFailure,
    readonly path: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Bytes read per chunk. */
const CHUNK_BYTES = 64 * 1024;
/** Smallest read once the file's stat size is used up (it may have grown). */
const MIN_READ_BYTES = 4096;

/** What a non-regular file is, in words. */
function kindOf(s: { isDirectory(): boolean; isFIFO(): boolean; isSocket(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean }): string {
  if (s.isDirectory()) return 'a directory';
  if (s.isFIFO()) return 'a FIFO (named pipe)';
  if (s.isSocket()) return 'a socket';
  if (s.isCharacterDevice() || s.isBlockDevice()) return 'a device';
  return 'not a regular file';
}

/**
 * The UTF-8 text of the regular file at `path`, at most `maxBytes` long. Symlinks to regular
 * files are followed. Throws BoundedReadError (`missing` only when nothing is at the path).
 */
export async function readBoundedFile(path: string, maxBytes: number): Promise<string> {
  let handle: FileHandle;
  try {
    // O_NONBLOCK: opening a FIFO with no writer returns at once instead of waiting forever.
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      const link = await lstat(path).catch(() => undefined);
      if (link?.isSymbolicLink()) throw new BoundedReadError('dangling-symlink', path, 'is a symbolic link to a file that does not exist', { cause: err });
      throw new BoundedReadError('missing', path, 'no such file', { cause: err });
    }
    if (code === 'EISDIR') throw new BoundedReadError('not-regular', path, 'is a directory, not a file', { cause: err });
    throw new BoundedReadError('io', path, `cannot open: ${(err as Error).message}`, { cause: err });
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new BoundedReadError('not-regular', path, `is ${kindOf(info)}, not a regular file`);
    if (info.size > maxBytes) throw new BoundedReadError('too-large', path, `is ${info.size} bytes, larger than the ${maxBytes}-byte limit`);
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      // Sized by stat (one read for the file, one more to see its end), never past the limit;
      // not zero-filled: only the bytes read are used.
      const buf = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, maxBytes + 1 - total, Math.max(info.size - total + 1, MIN_READ_BYTES)));
      const { bytesRead } = await handle.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      total += bytesRead;
      // The file grew while we read it (or stat lied): stop at the limit, never read on.
      if (total > maxBytes) throw new BoundedReadError('too-large', path, `is larger than the ${maxBytes}-byte limit`);
      chunks.push(buf.subarray(0, bytesRead));
      // A regular file's read comes back short only at its end: no second read to see it.
      if (bytesRead < buf.length) break;
    }
    return Buffer.concat(chunks, total).toString('utf8');
  } catch (err) {
    if (err instanceof BoundedReadError) throw err;
    throw new BoundedReadError('io', path, `cannot read: ${(err as Error).message}`, { cause: err });
  } finally {
    await handle.close().catch(() => undefined);
  }
}
