/**
 * Bad input: fuzzed configurations (random JSON, mutations of a valid config, random text)
 * either parse or fail with a ConfigError whose every line starts with the path of the problem;
 * the CLI turns them into exit 2 without a stack trace; secrets and non-HTTP URLs are refused
 * without being repeated; oversized and corrupt state files stop the check with an error naming
 * the file, which is left byte for byte as it was.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCheck } from '../../src/core/check.ts';
import { ConfigError, findSecret, parseConfig, parseConfigText } from '../../src/core/config.ts';
import { StateError } from '../../src/core/ports.ts';
import { probeUrl } from '../../src/core/probe/web.ts';
import { FileStore, MAX_STATE_FILE_BYTES } from '../../src/adapters/local/file-store.ts';
import { ManualClock, RecordingNotifier, seedFromEnv } from './harness.ts';

const BIN = join(import.meta.dirname, '../../bin/ipdrift.mjs');
const VALID = JSON.parse(readFileSync(join(import.meta.dirname, '../fixtures/config/valid-full.json'), 'utf8')) as Record<string, unknown>;
/** `targets[0].port: ...`, `resolvers[1]: ...`, `(root): ...`: a path, a colon, a message. */
const PATH_RE = /^(?:\(root\)|[A-Za-z_$][\w$]*(?:\[\d+\]|\.[A-Za-z_$][\w$]*)*): \S/;
/** A stack frame in CLI output means a user error was reported as a crash. */
const STACK_RE = /\n\s+at /;
const CLI_TIMEOUT_MS = 30_000;
const FUZZ_RUNS = { json: 500, mutations: 1000, text: 300 } as const;
const CLI_FUZZ_FILES = 3;
const SECRET = 'hunter2-d0nt-l0g-me';

/** Runs the real CLI; resolves with its exit code and output (never rejects on exit != 0). */
function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { timeout: CLI_TIMEOUT_MS, env: { ...process.env, NO_COLOR: '1' } }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stdout, stderr });
    });
  });
}

/** Calls parseConfig(Text) and classifies the outcome; any other exception is returned as such. */
function outcome(fn: () => unknown): { ok: true } | { ok: false; issues: string[] } | { crash: unknown } {
  try {
    fn();
    return { ok: true };
  } catch (err) {
    return err instanceof ConfigError ? { ok: false, issues: err.issues } : { crash: err };
  }
}

/** The property every outcome must have: valid, or ConfigError with path-named issues only. */
function expectPathNamed(result: ReturnType<typeof outcome>): void {
  expect(result).not.toHaveProperty('crash');
  if ('issues' in result) {
    expect(result.issues.length).toBeGreaterThan(0);
    for (const issue of result.issues) expect(issue).toMatch(PATH_RE);
  }
}

/** Every path into a JSON value (the root is []). */
function pathsOf(value: unknown, at: (string | number)[] = []): (string | number)[][] {
  const out = [at];
  if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) out.push(...pathsOf(v, [...at, Array.isArray(value) ? Number(k) : k]));
  }
  return out;
}

const VALID_PATHS = pathsOf(VALID);
type Mutation = { at: number; op: 'replace' | 'delete' | 'add-key'; value: unknown; key: string };

/** Applies one mutation to a copy of the valid config: replace a value, delete it, or add a key next to it. */
function mutate(m: Mutation): unknown {
  const copy = structuredClone(VALID) as Record<string, unknown>;
  const path = VALID_PATHS[m.at % VALID_PATHS.length]!;
  if (path.length === 0) return m.op === 'replace' ? m.value : copy;
  let parent = copy as Record<string | number, unknown>;
  for (const k of path.slice(0, -1)) parent = parent[k] as Record<string | number, unknown>;
  const last = path[path.length - 1]!;
  if (m.op === 'replace') parent[last] = m.value;
  else if (m.op === 'delete') Array.isArray(parent) ? parent.splice(Number(last), 1) : delete parent[last];
  else {
    const here = parent[last];
    if (here !== null && typeof here === 'object' && !Array.isArray(here)) (here as Record<string, unknown>)[m.key] = m.value;
    else parent[last] = m.value;
  }
  return copy;
}

const mutationArb: fc.Arbitrary<Mutation> = fc.record({
  at: fc.nat(),
  op: fc.constantFrom('replace', 'delete', 'add-key'),
  value: fc.jsonValue(),
  key: fc.string({ minLength: 1, maxLength: 12 }),
});

describe('bad input', () => {
  const seed = seedFromEnv('IPDRIFT_FUZZ_SEED');
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ipdrift-faults-bad-input-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  describe(`config fuzzing (seed ${seed}; replay with IPDRIFT_FUZZ_SEED)`, () => {
    it('random JSON values: valid, or ConfigError with path-named issues, nothing else', () => {
      fc.assert(
        fc.property(fc.jsonValue(), (v) => expectPathNamed(outcome(() => parseConfig(v)))),
        { seed, numRuns: FUZZ_RUNS.json },
      );
    });

    it('mutations of a valid config: valid, or ConfigError with path-named issues, nothing else', () => {
      fc.assert(
        fc.property(mutationArb, (m) => expectPathNamed(outcome(() => parseConfig(mutate(m))))),
        { seed, numRuns: FUZZ_RUNS.mutations },
      );
    });

    it('random text: a ConfigError, and malformed JSON never quotes the text back (it may hold a secret)', () => {
      fc.assert(
        fc.property(fc.string(), fc.string(), (before, after) => {
          const text = `${before}"${SECRET}"${after}`;
          const r = outcome(() => parseConfigText(text, 'fuzz.json'));
          expectPathNamed(r);
          if ('issues' in r) expect(r.issues.join('\n')).not.toContain(SECRET);
        }),
        { seed, numRuns: FUZZ_RUNS.text },
      );
    });

    it.each([
      ['/x?api_key=1', 'query parameter "api_key"'],
      ['/x?accessToken=abc', 'query parameter "accessToken"'],
      ['/x?X-Amz-Security-Token=abc', 'query parameter "X-Amz-Security-Token"'],
      ['/x?password=', 'query parameter "password"'],
      ['http://h.example/?key=abc', 'query parameter "key"'],
      ['http://h.example/#access_token=abc', 'fragment parameter "access_token"'],
      ['/v1;jsessionid=abc', 'path segment "jsessionid=..."'],
      ['/token=abc/x', 'path segment "token=..."'],
      ['/a%3Btoken%3Dabc', 'path segment "token=..."'],
      ['/keys/AKIAIOSFODNN7EXAMPLE', 'an AWS access key id'],
      [`/hook/ghp_${'a'.repeat(36)}`, 'a GitHub token'],
      ['/health', undefined],
      ['/health?region=eu-west-1&build=42', undefined],
      ['/author?page=2', undefined],
      ['/passage?bypass=1', undefined],
      ['/tokens/list', undefined],
      ['/x?monkey=1&keyboard=us', undefined],
    ])('findSecret(%s) names %s', (url, expected) => {
      // Act
      const found = findSecret(url);
      // Assess
      if (expected === undefined) expect(found).toBeUndefined();
      else expect(found).toContain(expected);
    });

    it.each(['file:///etc/passwd', 'ftp://files.example/health', 'data:text/plain,ok', 'javascript:alert(1)', 'gopher://h.example/'])(
      'refuses the URL %s (only http and https)',
      async (url) => {
        // Act
        const r = outcome(() =>
          parseConfig({
            targets: [
              { name: 'app', type: 'elb', host: 'app.example.com', port: 80 },
              { name: 'w', type: 'web-tier', url, upstream: 'app' },
            ],
          }),
        );
        // Assess: refused at load, and the probe refuses it too if it ever got one.
        expect(r).toEqual({ ok: false, issues: ['targets[1].url: expected an http:// or https:// URL without credentials'] });
        const probe = await probeUrl(url, { timeoutMs: 100, maxBodyBytes: 1024 });
        expect(probe).toMatchObject({ ok: false, error: { code: 'error' } });
      },
    );
  });

  it('the CLI: fuzzed invalid configs and secret-bearing ones exit 2, path-named, no stack, secret never printed', async () => {
    // Prepare: invalid mutations of the valid config (deterministic from the seed), and configs carrying a secret.
    const fuzzed = fc
      .sample(mutationArb, { seed, numRuns: 200 })
      .map(mutate)
      .filter((c) => 'issues' in outcome(() => parseConfig(c)))
      .slice(0, CLI_FUZZ_FILES);
    expect(fuzzed).toHaveLength(CLI_FUZZ_FILES);
    const web = (url: string) => ({
      targets: [
        { name: 'app', type: 'elb', host: 'app.example.com', port: 80 },
        { name: 'web', type: 'web-tier', url, upstream: 'app' },
      ],
    });
    const files: { name: string; text: string; secret: boolean }[] = [
      ...fuzzed.map((c, i) => ({ name: `fuzz-${i}.json`, text: JSON.stringify(c, null, 2), secret: false })),
      { name: 'secret-query.json', text: JSON.stringify(web(`http://web.example.com/health?token=${SECRET}`)), secret: true },
      { name: 'secret-userinfo.json', text: JSON.stringify(web(`http://admin:${SECRET}@web.example.com/health`)), secret: true },
      { name: 'secret-malformed.json', text: `{"targets": [{"url": "http://web.example.com/?password=${SECRET}" x}]}`, secret: true },
    ];
    await Promise.all(files.map((f) => writeFile(join(dir, f.name), f.text)));
    // Act
    const results = await Promise.all(files.map((f) => cli(['validate', join(dir, f.name)])));
    // Assess
    results.forEach((r, i) => {
      const f = files[i]!;
      expect(r.code, `${f.name}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toContain(`${join(dir, f.name)}: invalid configuration`);
      expect(r.stderr).not.toMatch(STACK_RE);
      expect(r.stderr).not.toContain('internal error');
      const problems = r.stderr
        .split('\n')
        .filter((l) => l.startsWith('  '))
        .map((l) => l.trim());
      expect(problems.length).toBeGreaterThan(0);
      for (const p of problems) expect(p).toMatch(PATH_RE);
      if (f.secret) expect(`${r.stdout}${r.stderr}`).not.toContain(SECRET);
    });
  });

  describe('oversized and corrupt state files', () => {
    const TARGET = 'stateful';
    const cfg = parseConfig({ targets: [{ name: TARGET, type: 'elb', host: 'stateful.badinput.elb.test', port: 8080 }] });
    const good = {
      schemaVersion: 1,
      state: {
        schemaVersion: 1,
        target: TARGET,
        version: 3,
        addresses: [{ address: '10.0.0.1', firstSeen: '2026-11-25T00:00:00.000Z', lastSeen: '2026-11-25T00:05:00.000Z' }],
        alerts: {},
      },
      changes: [],
    };
    const withState = (patch: Record<string, unknown>) => JSON.stringify({ ...good, state: { ...good.state, ...patch } });
    const goodText = JSON.stringify(good);
    /** Each corruption and a fragment of the error it must produce. */
    const CASES: [string, string | 'oversized', string][] = [
      ['oversized (> 8 MB)', 'oversized', 'larger than the'],
      ['not JSON', 'this is not json', 'corrupt state file (not JSON'],
      ['cut short (disk full)', goodText.slice(0, goodText.length / 2), 'corrupt state file (not JSON'],
      ['empty', '', 'corrupt state file (not JSON'],
      ['binary garbage', '\u0000\u0001\u00ff\u00fe'.repeat(64), 'corrupt state file (not JSON'],
      ['another schema', JSON.stringify({ ...good, schemaVersion: 99 }), 'not an ipdrift state file'],
      ['another target', withState({ target: 'someone-else' }), 'belongs to target "someone-else"'],
      ['addresses that are not records', withState({ addresses: [42, null] }), 'addresses[0]'],
      [
        'an address that is not an IP',
        withState({ addresses: [{ ...good.state.addresses[0], address: 'not-an-ip' }] }),
        'addresses[0].address: expected an IP address',
      ],
      ['an alert that is null', withState({ alerts: { k: null } }), 'alerts.k'],
      ['an alert of an unknown kind', withState({ alerts: { k: { key: 'k', kind: 'made-up' } } }), 'alerts.k.kind'],
      ['a fractional version', withState({ version: 1.5 }), 'version: expected a whole number >= 0'],
      [
        'an address listed twice',
        withState({ addresses: [good.state.addresses[0], good.state.addresses[0]] }),
        'addresses[1].address: address 10.0.0.1 listed twice',
      ],
    ];

    /** Writes one corrupt state file in a fresh directory; returns the directory, path and digest. */
    async function corrupt(content: string | 'oversized') {
      const stateDir = await mkdtemp(join(dir, 'state-'));
      const path = join(stateDir, `${TARGET}.json`);
      if (content === 'oversized') {
        await writeFile(path, '{');
        await truncate(path, MAX_STATE_FILE_BYTES + 1); // sparse: cheap to make
      } else await writeFile(path, content);
      const digest = async () =>
        createHash('sha256')
          .update(await readFile(path))
          .digest('hex');
      return { stateDir, path, digest, before: await digest() };
    }

    it.each(CASES)('%s: the check stops with an error naming the file, which is left untouched', async (_name, content, fragment) => {
      // Prepare
      const { stateDir, path, digest, before } = await corrupt(content);
      // Act
      const result = await runCheck(cfg, { store: new FileStore(stateDir), notifier: new RecordingNotifier(), clock: new ManualClock() }).then(
        () => undefined,
        (err: unknown) => err,
      );
      // Assess
      expect(result).toBeInstanceOf(StateError);
      expect((result as StateError).message).toContain(path);
      expect((result as StateError).message).toContain(fragment);
      expect(await digest()).toBe(before);
      expect(await readdir(stateDir)).toEqual([`${TARGET}.json`]);
    });

    it('the CLI: exit 2 naming the file, no stack trace, file untouched (deep corruption and oversized)', async () => {
      // Prepare
      const configPath = join(dir, 'state-check.json');
      await writeFile(configPath, JSON.stringify({ targets: [{ name: TARGET, type: 'elb', host: 'stateful.badinput.elb.test', port: 8080 }] }));
      const files = await Promise.all([corrupt(withState({ alerts: { k: null } })), corrupt('oversized')]);
      // Act
      const results = await Promise.all(files.map((f) => cli(['check', '--config', configPath, '--state', f.stateDir])));
      // Assess
      for (const [i, r] of results.entries()) {
        const f = files[i]!;
        expect(r.code, r.stderr).toBe(2);
        expect(r.stderr).toContain(f.path);
        expect(r.stderr).toContain('left untouched');
        expect(r.stderr).not.toMatch(STACK_RE);
        expect(await f.digest()).toBe(f.before);
      }
    });
  });
});
