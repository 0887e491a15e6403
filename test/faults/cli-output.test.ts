/**
 * The CLI's flags and output under hostile use: durations out of range or fractional, a reader
 * that closes the pipe early, and control characters from the outside world (a probed server's
 * name in a state file, a config's unknown key) that must never reach the terminal raw.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDuration } from '../../src/cli/args.ts';

const run = promisify(execFile);
const BIN = join(import.meta.dirname, '../../bin/ipdrift.mjs');
const CLI_TIMEOUT_MS = 30_000;
const STACK_RE = /\n\s+at /;
/** ESC ] 0 ; title BEL (retitles the terminal) and ESC [ 2 J (clears it). */
const HOSTILE = '\u001b]0;pwned\u0007\u001b[2J';

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { timeout: CLI_TIMEOUT_MS });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

let dir: string;
let configPath: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ipdrift-cli-output-'));
  configPath = join(dir, 'config.json');
  // A target whose name never resolves (a dead loopback resolver): checks are quick and quiet.
  await writeFile(
    configPath,
    JSON.stringify({
      resolvers: ['127.0.88.1:9'],
      deadlineMs: 1000,
      targets: [{ name: 'app', type: 'elb', host: 'app.cli.elb.test', port: 8080, timeoutMs: 200 }],
    }),
  );
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('duration flags', () => {
  it.each([
    [['check', '--deadline', '2147483648'], '--deadline: at most 15m'],
    [['check', '--deadline', '600h'], '--deadline: at most 15m'],
    [['check', '--deadline', '1.5ms'], '--deadline: expected whole milliseconds'],
    [['watch', '--interval', '600h'], '--interval: at most 24h'],
    [['watch', '--interval', '0.25ms'], '--interval: expected whole milliseconds'],
    [['watch', '--count', '1e400'], '--count: expected a positive whole number'],
  ])('%j: exit 2, "%s", no stack trace', async (args, message) => {
    const r = await cli([...args, '--config', configPath, '--state', join(dir, 'state')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
    expect(r.stderr).not.toMatch(STACK_RE);
  });
});

describe('durations that floating point makes fractional', () => {
  it('4.1m is 246000 ms, not "fractional"', () => {
    expect(parseDuration('4.1m', '--interval', 'usage')).toBe(246_000);
    expect(parseDuration('0.1s', '--interval', 'usage')).toBe(100);
  });

  it('sums of units read as people write them: 1m30s, 1h15m, 2s500ms; a bare number is ms; gibberish is refused', () => {
    expect(['1m30s', '1h15m', '2s500ms', '250', '1.5m'].map((t) => parseDuration(t, '--interval', 'usage'))).toEqual([90_000, 4_500_000, 2_500, 250, 90_000]);
    for (const bad of ['1m30', 'm30s', '1 m', '1mm', '']) expect(() => parseDuration(bad, '--interval', 'usage')).toThrow('--interval: expected a duration');
  });
});

describe('a reader that closes the pipe early', () => {
  it('watch | head -1: ends quietly, no EPIPE trace', async () => {
    // Act: read the first chunk, then close our end, as `head -1` does.
    const child = spawn(process.execPath, [BIN, 'watch', '--config', configPath, '--state', join(dir, 'state-pipe'), '--interval', '50ms', '--count', '40'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.stdout.once('data', () => child.stdout.destroy());
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    // Assess
    expect(stderr).not.toContain('EPIPE');
    expect(stderr).not.toMatch(STACK_RE);
    expect(code).toBe(0);
  });
});

describe('control characters from outside never reach the terminal raw', () => {
  it("history: a probed server's name in the state file is printed escaped", async () => {
    // Prepare: a state file whose change summary carries what a hostile certificate could.
    const state = join(dir, 'state-escapes');
    await mkdir(state, { recursive: true });
    const at = '2026-12-01T00:00:00.000Z';
    await writeFile(
      join(state, 'app.json'),
      JSON.stringify({
        schemaVersion: 1,
        state: {
          schemaVersion: 1,
          target: 'app',
          version: 1,
          addresses: [{ address: '10.0.0.1', firstSeen: at, lastSeen: at, lastProbe: { at, ok: false, latencyMs: 3, error: `certificate is for ${HOSTILE}` } }],
          alerts: {},
        },
        changes: [{ at, target: 'app', kind: 'retired-address-reassigned', summary: `app: retired 10.0.0.1 now answers as ${HOSTILE}` }],
      }),
    );
    // Act
    const r = await cli(['history', 'app', '--state', state]);
    // Assess
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toContain('\u001b');
    expect(r.stdout).not.toContain('\u0007');
    expect(r.stdout).toContain('\\x1b]0;pwned\\x07\\x1b[2J');
  });

  it('validate: an unknown key with control characters is named escaped', async () => {
    const bad = join(dir, 'bad.json');
    await writeFile(bad, JSON.stringify({ targets: [{ name: 'app', type: 'elb', host: 'a.elb.test', port: 80 }], [`x${HOSTILE}`]: 1 }));
    const r = await cli(['validate', bad]);
    expect(r.code).toBe(2);
    expect(r.stderr).not.toContain('\u001b');
    expect(r.stderr).toContain('\\x1b');
  });
});
