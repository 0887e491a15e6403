/**
 * The file store against hostile paths and crashed writers: a lock that cannot be removed, a
 * state or config path that is a FIFO, a device or a dangling symlink, locks and temp files
 * left by a writer that was killed, a read-only state directory, and four checks at once. Every
 * case ends on its own, says what happened with the path, and never loses or overwrites state.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, symlink, truncate, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCheck } from '../../src/core/check.ts';
import { emptyState } from '../../src/core/save.ts';
import { parseConfig } from '../../src/core/config.ts';
import { StateError, VersionConflictError } from '../../src/core/ports.ts';
import { limiter } from '../../src/core/limit.ts';
import { FileStore } from '../../src/adapters/local/file-store.ts';
import { readConfigFile } from '../../src/adapters/local/config-file.ts';
import { ManualClock, MS_PER_MINUTE, RecordingNotifier } from './harness.ts';

const run = promisify(execFile);
const BIN = join(import.meta.dirname, '../../bin/ipdrift.mjs');
const IN_CI = !!process.env.CI && !['false', '0'].includes(process.env.CI);
const TARGET = 'app';
/** A check of a target whose name never resolves (no DNS answer is needed to exercise the store). */
const CFG = parseConfig({
  deadlineMs: 1000,
  resolvers: ['127.0.88.1:9'],
  targets: [{ name: TARGET, type: 'elb', host: 'app.filestore.elb.test', port: 8080, timeoutMs: 200 }],
});
/** Bound on "ends on its own": far under the old behaviour (forever, or 30 s), far over the work. */
const ENDS_WITHIN_MS = 5000;
const CLI_TIMEOUT_MS = 30_000;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ipdrift-filestore-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const freshDir = () => mkdtemp(join(dir, 'state-'));
/** The lock file's text now, or undefined when there is none. */
const readLockNow = (path: string) => (existsSync(path) ? readFileSync(path, 'utf8') : undefined);
const check = (store: FileStore, clock = new ManualClock()) => runCheck(CFG, { store, notifier: new RecordingNotifier(), clock });

/** A pid that no process has now: a child that has already exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0']);
  await new Promise((r) => child.on('exit', r));
  return child.pid!;
}

async function bootId(): Promise<string | undefined> {
  return (await readFile('/proc/sys/kernel/random/boot_id', 'utf8').catch(() => '')).trim() || undefined;
}

describe('file store: locks', () => {
  it('a lock path that is a directory: the save fails at once, naming the path (no busy loop)', async () => {
    // Prepare
    const stateDir = await freshDir();
    await mkdir(new FileStore(stateDir).lockPath);
    // Act
    const t0 = performance.now();
    const report = await check(new FileStore(stateDir));
    // Assess
    expect(performance.now() - t0).toBeLessThan(ENDS_WITHIN_MS);
    expect(report.unsaved).toEqual([TARGET]);
    expect(report.errors.join('\n')).toContain(`${new FileStore(stateDir).lockPath}: the lock path is a directory`);
  });

  it('a lock left by a writer that was killed (its pid is gone) is taken over at once, not after 30 s', async () => {
    // Prepare: a fresh lock naming a dead pid on this host, and a temp file that writer left.
    const stateDir = await freshDir();
    const pid = await deadPid();
    const boot = await bootId();
    await writeFile(new FileStore(stateDir).lockPath, JSON.stringify({ pid, host: hostname(), ...(boot ? { boot } : {}), at: new Date().toISOString() }));
    await writeFile(join(stateDir, `${TARGET}.json.${pid}.0123abcd.tmp`), '{"half": ');
    // Act
    const t0 = performance.now();
    const report = await check(new FileStore(stateDir));
    // Assess: saved, quickly; neither the lock nor the temp file is left.
    expect(performance.now() - t0).toBeLessThan(ENDS_WITHIN_MS);
    expect(report.unsaved).toEqual([]);
    expect((await readdir(stateDir)).sort()).toEqual([`${TARGET}.json`]);
  });

  it("a lock's temp file of a writer this host cannot see (another host) stays while fresh, and goes once stale", async () => {
    // Prepare: two lock temp files naming a pid that does not run here, one just written, one 10 s old.
    const stateDir = await freshDir();
    const pid = await deadPid();
    const fresh = join(stateDir, `.lock.${pid}.0123abcd.tmp`);
    const stale = join(stateDir, `.lock.${pid}.4567cdef.tmp`);
    await writeFile(fresh, '{}');
    await writeFile(stale, '{}');
    const old = new Date(Date.now() - 10_000);
    await utimes(stale, old, old);
    // Act
    await new FileStore(stateDir).save({ ...emptyState(TARGET), version: 1 }, 0, []);
    // Assess: a contender elsewhere may be about to link the fresh one into place.
    expect(existsSync(fresh)).toBe(true);
    expect(existsSync(stale)).toBe(false);
  });

  it("a dead writer's lock taken over by several writers at once: exactly one save wins each round (no lock removed from under its owner)", async () => {
    // Prepare / Act: 40 rounds of four writers racing for one dead owner's lock, each saving version 1.
    const pid = await deadPid();
    const boot = await bootId();
    const winners: number[] = [];
    for (let round = 0; round < 40; round++) {
      const stateDir = await freshDir();
      await writeFile(new FileStore(stateDir).lockPath, JSON.stringify({ pid, host: hostname(), ...(boot ? { boot } : {}), at: new Date().toISOString() }));
      const results = await Promise.allSettled(Array.from({ length: 4 }, () => new FileStore(stateDir).save({ ...emptyState(TARGET), version: 1 }, 0, [])));
      winners.push(results.filter((r) => r.status === 'fulfilled').length);
    }
    // Assess: one winner per round; the others saw the version move (a conflict), never two saves of version 1.
    expect(winners).toEqual(winners.map(() => 1));
  });

  it("a check's saves share one hold of the directory lock, released when the last ends", async () => {
    // Prepare: 40 targets saved four at a time, as a check's limiter does.
    const stateDir = await freshDir();
    const store = new FileStore(stateDir);
    const lim = limiter(4);
    const seen: (string | undefined)[] = [];
    // Act: after each save but the last, read the lock while the others are still in flight
    // (synchronously: the check's next save starts in the same turn, and so must the look).
    let left = 40;
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        lim(async () => {
          await store.save({ ...emptyState(`t${i}`), version: 1 }, 0, []);
          if (--left > 0) seen.push(readLockNow(store.lockPath));
        }),
      ),
    );
    // Assess: one owner record the whole time (one acquisition), and no lock left after.
    expect(seen).toHaveLength(39);
    expect(new Set(seen).size).toBe(1);
    expect(seen[0]).toContain(`"pid":${process.pid}`);
    expect(existsSync(store.lockPath)).toBe(false);
    expect((await store.targets()).length).toBe(40);
  });

  it('two saves of one target at once through one store: the second sees the first (a conflict, not a lost update)', async () => {
    // Prepare
    const store = new FileStore(await freshDir());
    // Act
    const results = await Promise.allSettled([
      store.save({ ...emptyState(TARGET), version: 1 }, 0, []),
      store.save({ ...emptyState(TARGET), version: 1 }, 0, []),
    ]);
    // Assess
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected']);
    expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(VersionConflictError);
  });

  it('a lock from before a reboot (another boot id) is taken over even if its pid runs now', async () => {
    const boot = await bootId();
    if (!boot) return; // not Linux: no boot id to compare
    const stateDir = await freshDir();
    await writeFile(
      new FileStore(stateDir).lockPath,
      JSON.stringify({ pid: process.pid, host: hostname(), boot: 'another-boot', at: new Date().toISOString() }),
    );
    const report = await check(new FileStore(stateDir));
    expect(report.unsaved).toEqual([]);
  });

  it('a lock a live process holds: the save waits its bound, then says who holds it (never "state changed")', async () => {
    // Prepare: this process "holds" the lock.
    const stateDir = await freshDir();
    await writeFile(new FileStore(stateDir).lockPath, JSON.stringify({ pid: process.pid, host: hostname(), at: '2026-12-01T00:00:00.000Z' }));
    // Act
    const report = await check(new FileStore(stateDir, 300));
    // Assess
    expect(report.unsaved).toEqual([TARGET]);
    expect(report.errors.join('\n')).toContain(`another ipdrift process holds the lock: pid ${process.pid} on ${hostname()}`);
    expect(report.errors.join('\n')).not.toContain('changed since version');
  });

  it('four checks at once on one state directory: every save lands', async () => {
    // Prepare: a saved state at version 1.
    const stateDir = await freshDir();
    await new FileStore(stateDir).save({ ...emptyState(TARGET), version: 1 }, 0, []);
    const clock = new ManualClock();
    clock.advance(MS_PER_MINUTE);
    // Act
    const reports = await Promise.all(Array.from({ length: 4 }, () => check(new FileStore(stateDir), clock)));
    // Assess
    expect(reports.flatMap((r) => r.unsaved)).toEqual([]);
    const state = (await new FileStore(stateDir).load([TARGET])).get(TARGET);
    expect(state?.version).toBe(5);
  });
});

describe('file store: paths that are not regular files', () => {
  const hasMkfifo = existsSync('/usr/bin/mkfifo') || existsSync('/bin/mkfifo');

  it.each([
    ['a FIFO', 'fifo', 'is a FIFO (named pipe), not a regular file'],
    ['a symlink to /dev/zero', 'zero', 'is a device, not a regular file'],
    ['a dangling symlink', 'dangling', 'is a symbolic link to a file that does not exist'],
    ['a directory', 'dir', 'is a directory'],
  ] as const)('state file is %s: the check stops with an error naming it, at once, and leaves it', async (_name, kind, fragment) => {
    if (kind === 'fifo' && !hasMkfifo) return;
    // Prepare
    const stateDir = await freshDir();
    const path = join(stateDir, `${TARGET}.json`);
    if (kind === 'fifo') await run('mkfifo', [path]);
    if (kind === 'zero') await symlink('/dev/zero', path);
    if (kind === 'dangling') await symlink(join(stateDir, 'gone.json'), path);
    if (kind === 'dir') await mkdir(path);
    // Act
    const t0 = performance.now();
    const err = await check(new FileStore(stateDir)).then(
      () => undefined,
      (e: unknown) => e,
    );
    // Assess
    expect(performance.now() - t0).toBeLessThan(ENDS_WITHIN_MS);
    expect(err).toBeInstanceOf(StateError);
    expect((err as Error).message).toContain(path);
    expect((err as Error).message).toContain(fragment);
    expect(await readdir(stateDir)).toEqual([`${TARGET}.json`]);
  });

  it.each([
    ['a FIFO', 'fifo', 'is a FIFO (named pipe), not a regular file'],
    ['a symlink to /dev/zero', 'zero', 'is a device, not a regular file'],
    ['100 MB (sparse)', 'huge', 'larger than the 1048576-byte limit'],
  ] as const)('config file is %s: a ConfigError naming it, at once', async (_name, kind, fragment) => {
    if (kind === 'fifo' && !hasMkfifo) return;
    const path = join(await freshDir(), 'config.json');
    if (kind === 'fifo') await run('mkfifo', [path]);
    if (kind === 'zero') await symlink('/dev/zero', path);
    if (kind === 'huge') {
      await writeFile(path, '{');
      await truncate(path, 100 * 1024 * 1024);
    }
    const t0 = performance.now();
    const err = await readConfigFile(path).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(performance.now() - t0).toBeLessThan(ENDS_WITHIN_MS);
    expect((err as Error).message).toContain(path);
    expect((err as Error).message).toContain(fragment);
  });
});

describe('file store: a state directory that cannot be written', () => {
  // Root ignores file modes, so the directory is made read-only for real: a read-only bind mount
  // inside a mount namespace of its own (unshare -m -r would not be root's view).
  const unshare = ['/usr/bin/unshare', '/bin/unshare'].find((p) => existsSync(p));

  it('check --json: exit 2 before any work, the path and the reason on stderr (never a silent 0)', async () => {
    if (!unshare) {
      if (IN_CI) throw new Error('unshare is required under CI');
      return;
    }
    // Prepare: a saved state, then a config, outside the read-only directory.
    const stateDir = await freshDir();
    await new FileStore(stateDir).save({ ...emptyState(TARGET), version: 1 }, 0, []);
    const configPath = join(dir, 'ro-config.json');
    await writeFile(
      configPath,
      JSON.stringify({
        deadlineMs: 1000,
        resolvers: ['127.0.88.1:9'],
        targets: [{ name: TARGET, type: 'elb', host: 'app.filestore.elb.test', port: 8080, timeoutMs: 200 }],
      }),
    );
    const before = await readFile(join(stateDir, `${TARGET}.json`), 'utf8');
    // Act
    const script = `mount --bind ${stateDir} ${stateDir} && mount -o remount,bind,ro ${stateDir} && exec ${process.execPath} ${BIN} check --json --config ${configPath} --state ${stateDir}`;
    let r: { code: number; stdout: string; stderr: string };
    try {
      const out = await run(unshare, ['-m', '--', 'sh', '-c', script], { timeout: CLI_TIMEOUT_MS });
      r = { code: 0, ...out };
    } catch (err) {
      const e = err as { code?: number; stdout?: string; stderr?: string };
      r = { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
    }
    // Assess
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(`${stateDir}: cannot write in the state directory (EROFS)`);
    // Tried first: no check ran, nothing printed as if it had.
    expect(r.stdout).toBe('');
    expect(await readFile(join(stateDir, `${TARGET}.json`), 'utf8')).toBe(before);
  });
});
