/** The CLI's state directory, checked before any work: never a hang, never a late failure. */
import { chmod, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareStateDir } from '../../src/adapters/local/state-dir.ts';
import { StateError } from '../../src/core/ports.ts';

describe('prepareStateDir', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ipdrift-statedir-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('makes the missing levels, and leaves no trace of its write test', async () => {
    // Act
    await prepareStateDir(join(dir, 'a', 'b', 'state'));
    // Assess
    expect(await readdir(join(dir, 'a', 'b', 'state'))).toEqual([]);
  });

  it('under /proc: a StateError naming the step, at once (Node’s recursive mkdir spins there)', async () => {
    // Act
    const started = Date.now();
    const run = prepareStateDir('/proc/ipdrift-no-such/state');
    // Assess
    await expect(run).rejects.toBeInstanceOf(StateError);
    await expect(run).rejects.toThrow('/proc/ipdrift-no-such/state: cannot create /proc/ipdrift-no-such (');
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('a file where the directory should be, or under it: not a directory', async () => {
    // Prepare
    const file = join(dir, 'file');
    await writeFile(file, 'x');
    // Act / Assess
    await expect(prepareStateDir(file)).rejects.toThrow(`${file}: not a directory`);
    await expect(prepareStateDir(join(file, 'state'))).rejects.toThrow(`${join(file, 'state')}: ${file} is not a directory`);
  });

  it('a directory nothing can be written in: named before any work (a real write, not the mode bits)', async () => {
    // Prepare: /proc itself is a directory no file can be made in, even by root.
    // Act / Assess
    await expect(prepareStateDir('/proc')).rejects.toThrow('/proc: cannot write in the state directory (');
    // And a read-only directory for a non-root user.
    const ro = join(dir, 'ro');
    await prepareStateDir(ro);
    await chmod(ro, 0o500);
    if (process.getuid?.() !== 0) await expect(prepareStateDir(ro)).rejects.toThrow(`${ro}: cannot write in the state directory (EACCES)`);
    await chmod(ro, 0o700);
  });
});
