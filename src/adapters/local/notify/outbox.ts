/**
 * The queue of notices not yet delivered, per sink, in the state directory: one file per notice
 * (`<state>/outbox/<sink>/<ms>-<seq>-<id>.json`, written to a temp name and renamed), so two
 * processes sharing a state directory never overwrite each other's notices, and a crash loses
 * none. A delivered notice moves to `<sink>/sent/<id>.json` (the newest SENT_KEPT are kept): a
 * notice the engine sends again (after a failed save, or from a second process) has the same id
 * and is not queued twice. One a receiver refused for good moves to `<sink>/refused/` (kept, and said).
 */
import { createHash } from 'node:crypto';
import { access, mkdir, readdir, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AlertTransition } from '../../../core/types.ts';
import { writeFileAtomic } from '../atomic-write.ts';
import { readBoundedFile } from '../bounded-read.ts';
import type { Delivery } from './types.ts';

/** Largest queued notice read back (a notice body is capped at 64 KB; its JSON, findings and all, stays well under). */
const MAX_QUEUED_BYTES = 1024 * 1024;
/** Where the queues live, under the state directory. */
export const OUTBOX_DIR = 'outbox';
/** A sink's set-aside notices, under its queue. */
export const REFUSED_DIR = 'refused';
/** A sink's delivered notices (their ids keep a repeat out of the queue), under its queue. */
export const SENT_DIR = 'sent';
/** Delivered notices kept per sink (a repeat comes within minutes; this is days of a busy system). */
const SENT_KEPT = 1000;
const QUEUED_RE = /^\d{13}-\d{6}-[0-9a-f]{16}-[0-9a-f]{16}\.json$/;

/**
 * The id of a transition's notice: the same whenever the engine sends the same notice again
 * (alert key, incident, type, notices delivered before, severity, evidence signals; an event's
 * words too, since later events of a key fold into an undelivered one), another for any notice
 * that says more. Erring on "new": a repeat costs a second message, a swallowed escalation a page.
 */
export function noticeId(t: AlertTransition): string {
  const signals = [...(t.finding?.signals ?? [])].sort().join(',');
  const basis = [t.type, t.key, t.openedAt ?? t.at, t.sequence ?? t.at, t.severity, signals, t.type === 'event' ? t.summary : ''].join('\0');
  return createHash('sha256').update(basis).digest('hex').slice(0, 16);
}

/** A queued notice's file name ends in its id and its destination: a repeat is one for the same receiver only. */
const suffixOf = (id: string, destination: string) => `${id}-${destination}`;

/** A queued notice and its file. */
export interface Queued {
  file: string;
  delivery: Delivery;
}

const missingOk = (err: NodeJS.ErrnoException) => {
  if (err.code !== 'ENOENT') throw err;
};

/** The per-sink queues under `<state>/outbox`. */
export class Outbox {
  private seq = 0;
  constructor(private readonly root: string) {}

  private dirOf(sink: string) {
    return join(this.root, OUTBOX_DIR, sink);
  }

  /**
   * Queues `t` for `sink` (whose destination is `destination`); resolves once the notice is on
   * disk (then it counts as accepted), or at once when this notice is queued or sent already.
   */
  async put(sink: string, t: AlertTransition, destination: string, now: Date): Promise<Delivery | undefined> {
    const dir = this.dirOf(sink);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const id = noticeId(t);
    const suffix = suffixOf(id, destination);
    const queued = (await readdir(dir)).some((n) => n.endsWith(`-${suffix}.json`));
    const sent = await access(join(dir, SENT_DIR, `${suffix}.json`)).then(
      () => true,
      () => false,
    );
    if (queued || sent) return undefined;
    const name = `${String(now.getTime()).padStart(13, '0')}-${String(this.seq++ % 1_000_000).padStart(6, '0')}-${suffix}`;
    const delivery: Delivery = { id, queuedAt: now.toISOString(), destination, transition: t };
    await writeFileAtomic(join(dir, `${name}.json`), JSON.stringify(delivery), 0o600);
    return delivery;
  }

  /**
   * The oldest `limit` notices queued for `sink`, in order. A file that cannot be read back is
   * named in `unreadable` and left where it is (never deleted, never counted as queued).
   */
  async list(sink: string, limit: number): Promise<{ queued: Queued[]; total: number; unreadable: string[] }> {
    const names = await readdir(this.dirOf(sink)).catch((err: NodeJS.ErrnoException) => {
      missingOk(err);
      return [] as string[];
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
    return { queued, total: files.length - unreadable.length, unreadable };
  }

  /** The notice was delivered: it moves to the sink's sent notices. */
  async done(sink: string, q: Queued): Promise<void> {
    const dir = join(this.dirOf(sink), SENT_DIR);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    // Another process sharing the state directory may have delivered it too.
    await rename(q.file, join(dir, `${suffixOf(q.delivery.id, q.delivery.destination)}.json`)).catch(missingOk);
  }

  /** Keeps the newest SENT_KEPT sent notices of `sink`. */
  async prune(sink: string): Promise<void> {
    const dir = join(this.dirOf(sink), SENT_DIR);
    const names = await readdir(dir).catch(() => [] as string[]);
    if (names.length <= SENT_KEPT) return;
    const aged = await Promise.all(names.map(async (n) => ({ n, t: (await stat(join(dir, n)).catch(() => undefined))?.mtimeMs ?? 0 })));
    aged.sort((a, b) => b.t - a.t);
    await Promise.all(aged.slice(SENT_KEPT).map(({ n }) => unlink(join(dir, n)).catch(missingOk)));
  }

  /** Set aside, with the reason, out of the queue (refused for good, or queued for another destination). */
  async refuse(sink: string, q: Queued, reason: string): Promise<string> {
    const dir = join(this.dirOf(sink), REFUSED_DIR);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const kept = join(dir, `${q.delivery.id}.json`);
    await writeFile(kept, JSON.stringify({ ...q.delivery, refused: reason }), { mode: 0o600 });
    await unlink(q.file).catch(missingOk);
    return kept;
  }

  /** The queue directories under the outbox (one per sink that ever had a notice). */
  async sinks(): Promise<string[]> {
    const entries = await readdir(join(this.root, OUTBOX_DIR), { withFileTypes: true }).catch(() => []);
    return entries.filter((e) => e.isDirectory()).map((e) => e.name);
  }
}
