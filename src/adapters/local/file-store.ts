/**
 * Local state: one JSON file per target under a directory (default `.ipdrift/`), written
 * atomically (temp file + rename), with a schema version. A corrupt or foreign file is reported
 * with its path and never overwritten; a path that is not a regular file (a FIFO, a device, a
 * dangling symlink) is an error, never a hang. A save holds the directory's `.lock` (created
 * exclusively, naming its owner: pid and boot) from the version check to the rename, so two
 * processes saving at once cannot both win; a lock whose owner is dead is taken over at once.
 * The saves of one check share one hold of it.
 */
import { readFileSync } from 'node:fs';
import { link, lstat, mkdir, readdir, writeFile, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { randomBytes } from 'node:crypto';
import { writeFileAtomic } from './atomic-write.ts';
import { BoundedReadError, readBoundedFile } from './bounded-read.ts';
import { LIMITS, READABLE_STATE_VERSIONS, STATE_SCHEMA_VERSION } from '../../core/constants.ts';
import type { Store } from '../../core/ports.ts';
import { StateError, VersionConflictError } from '../../core/ports.ts';
import { checkTargetState } from '../../core/state.ts';
import type { ChangeRecord, TargetState } from '../../core/types.ts';

/** Largest state file read; anything bigger is not ours (state is bounded far below this). */
export const MAX_STATE_FILE_BYTES = 8 * 1024 * 1024;

/** The save lock: how often and how long a save waits for another writer, and when a lock is abandoned. */
export const FILE_LOCK = {
  retryMs: 5,
  /** A live writer holds a lock for milliseconds; waiting longer than this means something is wrong. */
  waitMs: 10_000,
  /** A lock whose owner cannot be checked (another host, an unreadable lock) is abandoned after this. */
  staleMs: 30_000,
  /** Largest lock file read. */
  maxBytes: 4096,
  /** A takeover guard is held for milliseconds; one older than this was left by a taker that died. */
  takeoverStaleMs: 5_000,
  /** Dead writers' temp files are looked for at most this often by one store (a `watch` keeps its store). */
  sweepEveryMs: 60_000,
} as const;

/** Who holds a lock: enough to tell, on this host, whether that process still runs. */
interface LockOwner {
  pid: number;
  host: string;
  /** Linux boot id: a pid from before a reboot is not the process running now. */
  boot?: string;
  at: string;
}

let bootIdCache: string | undefined | null = null;
/** This machine's boot id (Linux), read once; undefined elsewhere. */
function bootId(): string | undefined {
  if (bootIdCache === null) {
    try {
      bootIdCache = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || undefined;
    } catch {
      bootIdCache = undefined;
    }
  }
  return bootIdCache;
}

/** True when process `pid` runs on this machine now (EPERM: it runs, as another user). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether `owner`'s process is gone (true), runs (false), or cannot be told from here (undefined). */
function ownerGone(owner: LockOwner | undefined): boolean | undefined {
  if (!owner || owner.host !== hostname()) return undefined;
  const boot = bootId();
  if (boot !== undefined && owner.boot !== undefined && owner.boot !== boot) return true;
  return !isAlive(owner.pid);
}

/** A lock's owner, or undefined when the file is not one of ours (old format, half written). */
function parseOwner(text: string): LockOwner | undefined {
  try {
    const v = JSON.parse(text) as Partial<LockOwner>;
    return Number.isInteger(v.pid) && typeof v.host === 'string' && typeof v.at === 'string' ? (v as LockOwner) : undefined;
  } catch {
    return undefined;
  }
}

/** A lock file's text, read within FILE_LOCK.maxBytes; '' when it cannot be read (gone, too big). */
const readLock = (lock: string) => readBoundedFile(lock, FILE_LOCK.maxBytes).catch(() => '');

/** The directory's save lock (a dot name: target names start with a letter or digit). */
const DIR_LOCK = '.lock';

/** A state file's temp (`<target>.json.<pid>.<random>.tmp`): written only under the directory lock. */
const STATE_TMP_RE = /\.json\.(\d+)\.[0-9a-f]+\.tmp$/;
/**
 * A lock's temp (`.lock[.takeover].<pid>.<random>.tmp`, and the per-target locks' of earlier
 * versions): written by a writer that does not hold the lock yet, perhaps on another host.
 */
const LOCK_TMP_RE = /(?:\.json\.lock|^\.lock)(?:\.takeover)?\.(\d+)\.[0-9a-f]+\.tmp$/;

interface StateFile {
  schemaVersion: typeof STATE_SCHEMA_VERSION;
  state: TargetState;
  changes: ChangeRecord[];
}

/** File-per-target store for the CLI. */
export class FileStore implements Store {
  #swept: Promise<void> | undefined;
  #sweptAt = 0;
  /** The current hold of the directory lock, shared by the saves in flight. */
  #hold: { acquired: Promise<() => Promise<void>>; users: number } | undefined;
  /** The last save of each target in flight here. */
  readonly #queues = new Map<string, Promise<void>>();

  constructor(
    readonly dir: string,
    /** How long a save waits for a live writer's lock (tests shorten it). */
    private readonly lockWaitMs: number = FILE_LOCK.waitMs,
  ) {}

  /** Names of the targets with a state file here (sorted); none when the directory does not exist. */
  async targets(): Promise<string[]> {
    return (await this.list())
      .filter((n) => n.endsWith('.json') && !n.startsWith('.'))
      .map((n) => n.slice(0, -'.json'.length))
      .sort();
  }

  /** The directory's entries; none when it does not exist. */
  private list(): Promise<string[]> {
    return readdir(this.dir).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return [] as string[];
      throw new StateError(`cannot list the state directory: ${err.message}`, this.dir, { cause: err });
    });
  }

  /** Path of one target's file. */
  pathOf(target: string): string {
    return join(this.dir, `${target}.json`);
  }

  private async read(target: string): Promise<StateFile | undefined> {
    const path = this.pathOf(target);
    let text: string;
    try {
      text = await readBoundedFile(path, MAX_STATE_FILE_BYTES);
    } catch (err) {
      if (err instanceof BoundedReadError && err.reason === 'missing') return undefined;
      const why = err instanceof BoundedReadError ? err.message : (err as Error).message;
      const hint = err instanceof BoundedReadError && err.reason !== 'io' ? '; not an ipdrift state file? (left untouched)' : '';
      throw new StateError(`cannot read state file: ${why}${hint}`, path, { cause: err });
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw new StateError(`corrupt state file (not JSON: ${(err as Error).message}); left untouched — move it away to start this target afresh`, path, {
        cause: err,
      });
    }
    const file = parsed as Partial<StateFile>;
    if (
      typeof file !== 'object' ||
      file === null ||
      !READABLE_STATE_VERSIONS.includes(file.schemaVersion as number) ||
      typeof file.state !== 'object' ||
      file.state === null ||
      !Array.isArray(file.state.addresses) ||
      typeof file.state.version !== 'number'
    ) {
      throw new StateError(`not an ipdrift state file of a schema version it reads (${READABLE_STATE_VERSIONS.join(', ')}); left untouched`, path);
    }
    if (file.state.target !== target)
      throw new StateError(`state file belongs to target "${String(file.state.target)}", not "${target}"; left untouched`, path);
    // The envelope is ours; its content must be too, field by field (a damaged file is never saved back).
    const state = checkTargetState({ ...file.state, alerts: file.state.alerts ?? {} }, target, path);
    if (file.changes !== undefined && !Array.isArray(file.changes)) throw new StateError('corrupt state (left untouched): changes: expected an array', path);
    return { schemaVersion: STATE_SCHEMA_VERSION, state, changes: file.changes ?? [] };
  }

  async load(targets: readonly string[]): Promise<Map<string, TargetState | undefined>> {
    // One listing instead of a failed open (and its symlink check) per target never saved: a
    // first check of 1,000 targets read nothing 2,000 times. A file written after the listing
    // is caught by the save's version check under the lock.
    const present = new Set(await this.list());
    const files = await Promise.all(targets.map(async (t) => [t, present.has(`${t}.json`) ? (await this.read(t))?.state : undefined] as const));
    return new Map(files);
  }

  async save(state: TargetState, expectedVersion: number, changes: readonly ChangeRecord[]): Promise<void> {
    await this.serial(state.target, () => this.underLock(() => this.saveLocked(state, expectedVersion, changes)));
  }

  /** The directory's save lock. A dot name: no target's file can be called that. */
  get lockPath(): string {
    return join(this.dir, DIR_LOCK);
  }

  /**
   * Runs `fn` holding the directory's lock. Saves in flight at once share one hold: a check's
   * saves take the lock once, not once per target (a lock is four file operations). The hold
   * ends when the last of them ends and no other started in the same turn.
   */
  private async underLock<T>(fn: () => Promise<T>): Promise<T> {
    // The directory is made (again, if someone removed it) once per hold, before its lock.
    const hold = (this.#hold ??= { acquired: mkdir(this.dir, { recursive: true }).then(() => this.acquire(this.lockPath)), users: 0 });
    hold.users++;
    try {
      await hold.acquired;
      await this.swept();
      return await fn();
    } finally {
      hold.users--;
      if (hold.users === 0) {
        // A check's next save starts as the previous one ends: let it join this hold.
        await new Promise((resolve) => setImmediate(resolve));
        if (hold.users === 0 && this.#hold === hold) {
          this.#hold = undefined;
          const release = await hold.acquired.catch(() => undefined);
          await release?.();
        }
      }
    }
  }

  /** Runs saves of one target one after another: under a shared hold, two at once would both read the same version. */
  private async serial<T>(target: string, fn: () => Promise<T>): Promise<T> {
    const before = this.#queues.get(target);
    const run = before ? before.then(fn) : fn();
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    this.#queues.set(target, tail);
    try {
      return await run;
    } finally {
      if (this.#queues.get(target) === tail) this.#queues.delete(target);
    }
  }

  /** Dead writers' temp files are gone: looked for under the lock, at most once per FILE_LOCK.sweepEveryMs. */
  private swept(): Promise<void> {
    if (!this.#swept || Date.now() - this.#sweptAt >= FILE_LOCK.sweepEveryMs) {
      this.#sweptAt = Date.now();
      this.#swept = this.sweepTemps();
    }
    return this.#swept;
  }

  /**
   * Takes the lock file `lock`; resolves with its release. A live writer's lock is waited for,
   * up to FILE_LOCK.waitMs; a dead writer's (its pid gone, or from before a reboot) is taken over
   * at once; one that cannot be removed, or is not a file, is a StateError naming the path.
   */
  private async acquire(lock: string): Promise<() => Promise<void>> {
    const giveUpAt = Date.now() + this.lockWaitMs;
    const owner = JSON.stringify({
      pid: process.pid,
      host: hostname(),
      ...(bootId() ? { boot: bootId()! } : {}),
      at: new Date().toISOString(),
    } satisfies LockOwner);
    for (;;) {
      if (await this.tryCreateLock(lock, owner)) break;
      const held = await lstat(lock).catch(() => undefined);
      if (!held) continue; // released between our attempt and the look: try again
      if (!held.isFile()) throw new StateError(`the lock path is ${held.isDirectory() ? 'a directory' : 'not a regular file'}; remove it by hand`, lock);
      const text = await readLock(lock);
      const holder = parseOwner(text);
      const gone = ownerGone(holder);
      if (gone === true || (gone === undefined && Date.now() - held.mtimeMs > FILE_LOCK.staleMs)) {
        await this.takeOver(lock, text, holder);
        continue;
      }
      if (Date.now() >= giveUpAt) {
        const who = holder
          ? `pid ${holder.pid} on ${holder.host}, since ${holder.at}`
          : `an unknown writer (lock ${Math.round((Date.now() - held.mtimeMs) / 1000)} s old)`;
        throw new StateError(`another ipdrift process holds the lock: ${who}; waited ${this.lockWaitMs} ms`, lock);
      }
      await sleep(FILE_LOCK.retryMs);
    }
    return async () => {
      // Only our own lock: had someone judged us dead and taken over, theirs is not ours to remove.
      if ((await readLock(lock)) === owner) await unlink(lock).catch(() => undefined);
    };
  }

  /**
   * Creates the lock with its owner already in it: written to a temp file, then hard-linked to
   * the lock path (which fails if the path exists). A lock is never seen empty, and a failed
   * write (a full disk) leaves no lock behind.
   */
  private async tryCreateLock(lock: string, owner: string): Promise<boolean> {
    const tmp = `${lock}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      await writeFile(tmp, owner, { mode: 0o600, flag: 'wx' });
      await link(tmp, lock);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw new StateError(`cannot create the lock file: ${(err as Error).message}`, lock, { cause: err });
    } finally {
      await unlink(tmp).catch(() => undefined);
    }
  }

  /**
   * Removes a dead writer's lock, at most one taker at a time: under `<lock>.takeover`
   * (exclusive), and only if the lock still holds what was judged dead (`seen`). Without the
   * guard, two takers could each remove a lock, the second removing the first's live one.
   */
  private async takeOver(lock: string, seen: string, holder: LockOwner | undefined): Promise<void> {
    const guard = `${lock}.takeover`;
    if (!(await this.tryCreateLock(guard, seen))) {
      // Another taker is at it (for milliseconds); a guard left by a taker that died goes after a while.
      const info = await lstat(guard).catch(() => undefined);
      if (info && Date.now() - info.mtimeMs > FILE_LOCK.takeoverStaleMs) await unlink(guard).catch(() => undefined);
      await sleep(FILE_LOCK.retryMs);
      return;
    }
    try {
      if ((await readLock(lock)) !== seen) return;
      await unlink(lock);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      const who = holder ? `pid ${holder.pid} (no longer running)` : 'a writer that left it over 30 s ago';
      throw new StateError(`a stale lock left by ${who} cannot be removed (${(err as Error).message}); remove it by hand`, lock, { cause: err });
    } finally {
      await unlink(guard).catch(() => undefined);
    }
  }

  /**
   * Removes temp files left by writers that died mid-save (kill -9, power loss); called holding
   * the directory lock. A state file's temp is written only under that lock, so any other than
   * a live process's on this host is abandoned (another host's too). A lock's temp is written by
   * a contender outside the lock, maybe on another host: only a dead pid's that has lain
   * FILE_LOCK.takeoverStaleMs goes. One listing serves every target.
   */
  private async sweepTemps(): Promise<void> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    await Promise.all(
      names.map(async (name) => {
        const state = STATE_TMP_RE.exec(name);
        const lock = state ? null : LOCK_TMP_RE.exec(name);
        const pid = Number((state ?? lock)?.[1]);
        if ((!state && !lock) || pid === process.pid || isAlive(pid)) return;
        const path = join(this.dir, name);
        if (lock) {
          const info = await lstat(path).catch(() => undefined);
          if (!info || Date.now() - info.mtimeMs < FILE_LOCK.takeoverStaleMs) return;
        }
        await unlink(path).catch(() => undefined);
      }),
    );
  }

  private async saveLocked(state: TargetState, expectedVersion: number, changes: readonly ChangeRecord[]): Promise<void> {
    const current = await this.read(state.target);
    const version = current?.state.version ?? 0;
    if (version !== expectedVersion) throw new VersionConflictError(state.target, expectedVersion);
    const file: StateFile = {
      schemaVersion: STATE_SCHEMA_VERSION,
      state: { ...state, version: expectedVersion + 1 },
      changes: [...(current?.changes ?? []), ...changes].slice(-LIMITS.maxChangesKept),
    };
    await writeFileAtomic(this.pathOf(state.target), `${JSON.stringify(file, null, 1)}\n`, 0o600);
  }

  async history(target: string, limit: number): Promise<ChangeRecord[]> {
    const file = await this.read(target);
    return (file?.changes ?? []).slice(-limit).reverse();
  }
}
