/**
 * Local state: one JSON file per target under a directory (default `.ipdrift/`), written
 * atomically (temp file + rename), with a schema version. A corrupt or foreign file is reported
 * with its path and never overwritten. A save holds `<target>.json.lock` (created exclusively)
 * from the version check to the rename, so two processes saving at once cannot both win.
 */
import { mkdir, open, readFile, rename, writeFile, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { randomBytes } from 'node:crypto';
import { LIMITS, STATE_SCHEMA_VERSION } from '../core/constants.ts';
import type { Store } from '../core/ports.ts';
import { StateError, VersionConflictError } from '../core/ports.ts';
import { checkTargetState } from '../core/state.ts';
import type { ChangeRecord, TargetState } from '../core/types.ts';

/** Largest state file read; anything bigger is not ours (state is bounded far below this). */
export const MAX_STATE_FILE_BYTES = 8 * 1024 * 1024;

/** The save lock: how often and how long a save waits for another writer, and when a lock is abandoned. */
export const FILE_LOCK = {
  retryMs: 5,
  waitMs: 2000,
  /** A lock older than this was left by a writer that died; a save takes it over. */
  staleMs: 30_000,
} as const;

interface StateFile {
  schemaVersion: typeof STATE_SCHEMA_VERSION;
  state: TargetState;
  changes: ChangeRecord[];
}

/** File-per-target store for the CLI. */
export class FileStore implements Store {
  constructor(readonly dir: string) {}

  /** Path of one target's file. */
  pathOf(target: string): string {
    return join(this.dir, `${target}.json`);
  }

  private async read(target: string): Promise<StateFile | undefined> {
    const path = this.pathOf(target);
    let text: string;
    try {
      const info = await stat(path);
      if (info.size > MAX_STATE_FILE_BYTES) throw new StateError(`state file is ${info.size} bytes, larger than the ${MAX_STATE_FILE_BYTES}-byte limit; not an ipdrift state file? (left untouched)`, path);
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      if (err instanceof StateError) throw err;
      throw new StateError(`cannot read state file: ${(err as Error).message}`, path, { cause: err });
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw new StateError(`corrupt state file (not JSON: ${(err as Error).message}); left untouched — move it away to start this target afresh`, path, { cause: err });
    }
    const file = parsed as Partial<StateFile>;
    if (typeof file !== 'object' || file === null || file.schemaVersion !== STATE_SCHEMA_VERSION || typeof file.state !== 'object' || file.state === null || !Array.isArray(file.state.addresses) || typeof file.state.version !== 'number') {
      throw new StateError(`not an ipdrift state file of schema version ${STATE_SCHEMA_VERSION}; left untouched`, path);
    }
    if (file.state.target !== target) throw new StateError(`state file belongs to target "${String(file.state.target)}", not "${target}"; left untouched`, path);
    // The envelope is ours; its content must be too, field by field (a damaged file is never saved back).
    const state = checkTargetState({ ...file.state, alerts: file.state.alerts ?? {} }, target, path);
    if (file.changes !== undefined && !Array.isArray(file.changes)) throw new StateError('corrupt state (left untouched): changes: expected an array', path);
    return { schemaVersion: STATE_SCHEMA_VERSION, state, changes: file.changes ?? [] };
  }

  async load(targets: readonly string[]): Promise<Map<string, TargetState | undefined>> {
    const files = await Promise.all(targets.map(async (t) => [t, (await this.read(t))?.state] as const));
    return new Map(files);
  }

  async save(state: TargetState, expectedVersion: number, changes: readonly ChangeRecord[]): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await this.locked(state.target, expectedVersion, () => this.saveLocked(state, expectedVersion, changes));
  }

  /**
   * Runs `fn` holding the target's lock file. Another writer's lock is waited for, up to
   * FILE_LOCK.waitMs (then: VersionConflictError, so the caller re-reads and retries).
   */
  private async locked(target: string, expectedVersion: number, fn: () => Promise<void>): Promise<void> {
    const lock = `${this.pathOf(target)}.lock`;
    const giveUpAt = Date.now() + FILE_LOCK.waitMs;
    for (;;) {
      try {
        await (await open(lock, 'wx', 0o600)).close();
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new StateError(`cannot create the lock file: ${(err as Error).message}`, lock, { cause: err });
        const held = await stat(lock).catch(() => undefined);
        if (held && Date.now() - held.mtimeMs > FILE_LOCK.staleMs) {
          await unlink(lock).catch(() => undefined);
          continue;
        }
        if (Date.now() >= giveUpAt) throw new VersionConflictError(target, expectedVersion);
        await sleep(FILE_LOCK.retryMs);
      }
    }
    try {
      await fn();
    } finally {
      await unlink(lock).catch(() => undefined);
    }
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
    const tmp = `${this.pathOf(state.target)}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      await writeFile(tmp, `${JSON.stringify(file, null, 1)}\n`, { mode: 0o600 });
      await rename(tmp, this.pathOf(state.target));
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw err;
    }
  }

  async history(target: string, limit: number): Promise<ChangeRecord[]> {
    const file = await this.read(target);
    return (file?.changes ?? []).slice(-limit).reverse();
  }
}
