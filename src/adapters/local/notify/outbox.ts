/**
 * The queue of notices not yet delivered, per sink, in the state directory: one file per notice
 * (`<state>/outbox/<sink>/<ms>-<seq>-<random>.json`, written to a temp name and renamed), so two
 * processes sharing a state directory never overwrite each other's notices, and a crash loses
 * none. A notice a receiver refused for good moves to `<sink>/refused/` (kept, and said).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AlertTransition } from '../../../core/types.ts';
import { readBoundedFile } from '../bounded-read.ts';
import type { Delivery } from './types.ts';

/** Largest queued notice read back (a notice body is capped at 64 KB; its JSON, findings and all, stays well under). */
const MAX_QUEUED_BYTES = 1024 * 1024;
/** Where the queues live, under the state directory. */
export const OUTBOX_DIR = 'outbox';
/** A sink's set-aside notices, under its queue. */
export const REFUSED_DIR = 'refused';
const QUEUED_RE = /^\d{13}-\d{6}-[0-9a-f]{8}\.json$/;

/** A queued notice and its file. */
export interface Queued {
  file: string;
  delivery: Delivery;
}

/** The per-sink queues under `<state>/outbox`. */
export class Outbox {
  private seq = 0;
  constructor(private readonly root: string) {}

  private dirOf(sink: string) {
    return join(this.root, OUTBOX_DIR, sink);
  }

  /** A new notice's id (and its queue files' name): time, then sequence, so names sort in the order notices happened. */
  newId(now: Date): string {
    const seq = String(this.seq++ % 1_000_000).padStart(6, '0');
    return `${String(now.getTime()).padStart(13, '0')}-${seq}-${randomBytes(4).toString('hex')}`;
  }

  /** Queues `t` for `sink` as notice `id` (one id for every sink); resolves once it is on disk (then it counts as accepted). */
  async put(sink: string, t: AlertTransition, id: string, now: Date): Promise<Delivery> {
    const dir = this.dirOf(sink);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const delivery: Delivery = { id, queuedAt: now.toISOString(), transition: t };
    const tmp = join(dir, `.${id}.${process.pid}.tmp`);
    await writeFile(tmp, JSON.stringify(delivery), { mode: 0o600 });
    await rename(tmp, join(dir, `${id}.json`));
    return delivery;
  }

  /**
   * The oldest `limit` notices queued for `sink`, in order. A file that cannot be read back is
   * named in `unreadable` and left where it is (never deleted).
   */
  async list(sink: string, limit: number): Promise<{ queued: Queued[]; total: number; unreadable: string[] }> {
    const names = await readdir(this.dirOf(sink)).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return [] as string[];
      throw err;
    });
    const files = names.filter((n) => QUEUED_RE.test(n)).sort();
    const queued: Queued[] = [];
    const unreadable: string[] = [];
    for (const name of files.slice(0, limit)) {
      const file = join(this.dirOf(sink), name);
      try {
        queued.push({ file, delivery: JSON.parse(await readBoundedFile(file, MAX_QUEUED_BYTES)) as Delivery });
      } catch (err) {
        unreadable.push(`${file}: ${(err as Error).message}`);
      }
    }
    return { queued, total: files.length, unreadable };
  }

  /** The notice was delivered. */
  async done(q: Queued): Promise<void> {
    await unlink(q.file).catch((err: NodeJS.ErrnoException) => {
      // Another process sharing the state directory delivered it too.
      if (err.code !== 'ENOENT') throw err;
    });
  }

  /** The receiver refused the notice for good: set it aside with the reason, out of the queue. */
  async refuse(sink: string, q: Queued, reason: string): Promise<string> {
    const dir = join(this.dirOf(sink), REFUSED_DIR);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const kept = join(dir, `${q.delivery.id}.json`);
    await writeFile(kept, JSON.stringify({ ...q.delivery, refused: reason }), { mode: 0o600 });
    await this.done(q);
    return kept;
  }
}
