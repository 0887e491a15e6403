import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LabDnsServer } from '../../lab/dns-server.ts';
import { LabNode } from '../../lab/nodes.ts';
import { waitFor } from '../../lab/client.ts';
import { NotifyReceiver } from '../integration/notify-receiver.ts';
import { Scrape } from '../integration/prom-scrape.ts';

const BIN = join(import.meta.dirname, '../../bin/ipdrift.mjs');
const FIXTURES = join(import.meta.dirname, '../fixtures/config');

/** Runs the real CLI; resolves with its exit code and output (never rejects on exit != 0). */
function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { timeout: 30_000, env: { ...process.env, NO_COLOR: '1' } }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 99) : 0, stdout, stderr });
    });
  });
}

/** The pid a command wrote to `file`, once it has (bounded: 10 s). */
const waitForPid = (file: string): Promise<number> =>
  waitFor(
    async () => {
      const text = await readFile(file, 'utf8').catch(() => '');
      return text.endsWith('\n') ? Number(text.trim()) : undefined;
    },
    { timeoutMs: 10_000, intervalMs: 50, what: `a pid in ${file}` },
  );

/** Whether process `pid` has gone within 3 s. */
const gone = (pid: number): Promise<boolean> =>
  waitFor(
    async () => {
      // A killed process whose parent has exited may linger as a zombie until it is reaped: gone too.
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
      return stat === '' || / Z /.test(stat);
    },
    { timeoutMs: 3_000, intervalMs: 50, what: `process ${pid} gone` },
  ).then(
    () => true,
    () => false,
  );

describe('ipdrift CLI: usage and bad input', () => {
  it.each([['check'], ['watch'], ['validate'], ['history'], ['demo'], ['report'], ['cost'], ['failover-drill'], ['preflight'], ['demo', 'aurora'], ['start']])(
    '%s %s --help prints usage, examples and the exit status, and exits 0',
    async (...cmd) => {
      const r = await cli([...cmd.filter((c) => c !== undefined), '--help']);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`Usage: ipdrift ${cmd.filter((c) => c !== undefined).join(' ')}`);
      expect(r.stdout).toContain('\nExamples:\n');
      expect(r.stdout).toMatch(/\nExit status\b/);
    },
  );

  it('demo --report / demo aurora --report onto a file that is not a report: exit 2 before the lab starts, the file kept', async () => {
    // Prepare
    const dir = await mkdtemp(join(tmpdir(), 'ipdrift-cli-report-'));
    const mine = join(dir, 'mine.html');
    await writeFile(mine, 'mine\n');
    try {
      // Act
      const started = Date.now();
      const runs = await Promise.all([cli(['demo', '--report', mine]), cli(['demo', 'aurora', '--report', mine])]);
      // Assess: refused at once (the demo takes 17 s, the drill 6 s).
      expect(Date.now() - started).toBeLessThan(5_000);
      for (const r of runs) {
        expect(r.code).toBe(2);
        expect(r.stderr).toContain(`--report ${mine}: the file exists and is not an ipdrift report; not overwritten`);
      }
      expect(await readFile(mine, 'utf8')).toBe('mine\n');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('no command: usage on stdout, exit 2; unknown command: exit 2', async () => {
    const none = await cli([]);
    const unknown = await cli(['frobnicate']);
    expect(none.code).toBe(2);
    expect(none.stdout).toContain('Commands:');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command "frobnicate" (ipdrift --help lists the commands)');
  });

  it("start --help is its own (which of demo and watch it runs), not demo's", async () => {
    const r = await cli(['start', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: ipdrift start [--config FILE [watch options]]');
    expect(r.stdout).toContain('npm start -- --config ipdrift.json');
  });

  it('preflight: a missing region or a malformed VPC id is a usage error (exit 2) before any AWS call', async () => {
    const noRegion = await cli(['preflight', '--vpc-id', 'vpc-0123456789abcdef0']);
    const badVpc = await cli(['preflight', '--region', 'eu-west-1', '--vpc-id', 'my-vpc']);
    expect(noRegion.code).toBe(2);
    expect(noRegion.stderr).toContain('--region R is required');
    expect(badVpc.code).toBe(2);
    expect(badVpc.stderr).toContain('--vpc-id: expected a VPC id such as vpc-0123456789abcdef0, got "my-vpc"');
  });

  it('validate takes --config FILE as the other commands do', async () => {
    const r = await cli(['validate', '--config', join(FIXTURES, 'valid-full.json')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('valid-full.json: valid, ');
  });

  it('a mistyped command gets a suggestion, not the whole usage', async () => {
    const r = await cli(['chek', '--config', 'x.json']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('ipdrift: unknown command "chek"; did you mean "check"? (ipdrift --help lists the commands)');
  });

  it('an unknown flag is a usage error naming the flag and the nearest one, not the whole usage', async () => {
    const bogus = await cli(['check', '--config', 'x.json', '--bogus']);
    const typo = await cli(['watch', '--confg', 'x.json']);
    expect(bogus.code).toBe(2);
    expect(bogus.stderr.trim()).toBe('ipdrift check: unknown option "--bogus" (ipdrift check --help lists its options)');
    expect(typo.code).toBe(2);
    expect(typo.stderr.trim()).toBe('ipdrift watch: unknown option "--confg"; did you mean "--config"? (ipdrift watch --help lists its options)');
  });

  it('validate: an invalid config exits 2 with the path of each problem and no stack trace', async () => {
    const r = await cli(['validate', join(FIXTURES, 'invalid-port.json')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('targets[1].port: expected a port number 1-65535');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('validate: a valid config exits 0 and lists the targets', async () => {
    const r = await cli(['validate', join(FIXTURES, 'valid-full.json')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('valid, 3 target(s)');
  });

  it('check: a missing config file exits 2 naming the file', async () => {
    const r = await cli(['check', '--config', '/nonexistent/ipdrift.json']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('/nonexistent/ipdrift.json: invalid configuration');
    expect(r.stderr).toContain('no such file');
  });

  it('check --state under /proc: exit 2 at once naming the path, before any work (it used to spin for ever)', async () => {
    const started = Date.now();
    const r = await cli(['check', '--config', join(FIXTURES, 'valid-full.json'), '--state', '/proc/ipdrift-state']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('/proc/ipdrift-state: cannot create /proc/ipdrift-state (');
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('check --deadline with a bad duration exits 2', async () => {
    const r = await cli(['check', '--config', join(FIXTURES, 'valid-full.json'), '--deadline', 'soon']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--deadline: expected a duration');
  });
});

describe('ipdrift check against a lab ELB', () => {
  // Addresses of this file: 127.0.51.0/24.
  const NAME = 'internal-cli.elb.test';
  let dns: LabDnsServer;
  let nodes: LabNode[];
  let dir: string;
  let configPath: string;

  beforeAll(async () => {
    dns = await LabDnsServer.start({ host: '127.0.51.1', port: 0 });
    const first = await LabNode.start({ host: '127.0.51.11', port: 0 });
    nodes = [first, await LabNode.start({ host: '127.0.51.12', port: first.port })];
    dns.setA(`all.${NAME}`, ['127.0.51.11'], 60);
    dir = await mkdtemp(join(tmpdir(), 'ipdrift-cli-'));
    configPath = join(dir, 'config.json');
    await writeFile(
      configPath,
      JSON.stringify({
        resolvers: [dns.address],
        allowLoopback: true,
        targets: [{ name: 'app', type: 'elb', host: NAME, port: first.port, timeoutMs: 500, openAfterChecks: 1, probe: { protocol: 'http', path: '/health' } }],
      }),
    );
  });
  afterAll(async () => {
    await Promise.all([dns.stop(), ...nodes.map((n) => n.stop())]);
    await rm(dir, { recursive: true, force: true });
  });

  it('reports changes across checks, exits 1 on a warning, and keeps history', async () => {
    const state = join(dir, 'state');
    // Act 1: baseline.
    const first = await cli(['check', '--config', configPath, '--state', state, '--json']);
    // Act 2: the name moves; the old node keeps answering.
    dns.setA(`all.${NAME}`, ['127.0.51.12'], 60);
    const second = await cli(['check', '--config', configPath, '--state', state, '--json']);
    // Act 3: the current node refuses.
    await nodes[1]!.setMode('refuse');
    const third = await cli(['check', '--config', configPath, '--state', state]);
    await nodes[1]!.setMode('serve');
    const history = await cli(['history', 'app', '--state', state]);

    // Assess
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout).findings).toEqual([]);
    expect(second.code).toBe(0);
    const kinds = JSON.parse(second.stdout).findings.map((f: { kind: string }) => f.kind);
    expect(kinds).toEqual(['address-set-changed', 'retired-address-answering']);
    expect(third.code).toBe(1);
    expect(third.stdout).toMatch(/WARN\s+app\s+current-address-unhealthy/);
    // The notice it caused is printed, as `watch` prints it (the README promises it for check too).
    expect(third.stdout).toMatch(/-> OPENED\s+\[WARNING\] app: /);
    expect(history.code).toBe(0);
    expect(history.stdout).toContain('127.0.51.11');
    expect(history.stdout).toMatch(/retired 20\d\d-/);
    expect(history.stdout).toContain('address-set-changed');
  });

  it('report: one HTML file from that state; replaces an earlier report, never another file', async () => {
    // Prepare: the state the previous test left (two checks moved the name, the third paged).
    const state = join(dir, 'state');
    const out = join(dir, 'report.html');
    const notes = join(dir, 'notes.html');
    await writeFile(notes, '<p>my notes</p>\n');
    // Act
    const first = await cli(['report', '--state', state, '--config', configPath, '--out', out]);
    const html = await readFile(out, 'utf8');
    const again = await cli(['report', '--state', state, '--out', out, '--since', '7d']);
    const refused = await cli(['report', '--state', state, '--out', notes]);
    const badSince = await cli(['report', '--state', state, '--since', '0s']);
    const empty = await cli(['report', '--state', join(dir, 'nowhere'), '--out', join(dir, 'x.html')]);
    // Assess
    expect(first).toMatchObject({ code: 0, stderr: '' });
    expect(first.stdout).toMatch(/^wrote .*report\.html: 1 target\(s\), 1 incident\(s\) opened, 1 message\(s\) to on-call/);
    expect(html.startsWith('<!doctype html>\n<!-- ipdrift report -->')).toBe(true);
    expect(html).toContain('data-lane="127.0.51.11" data-status="draining"');
    expect(html).toContain('data-lane="127.0.51.12" data-status="current"');
    expect(html).toContain('data-incident="app/current-address-unhealthy" data-severity="warning"');
    expect(html).not.toMatch(/(src|href)="https?:/);
    // Without --since the window starts a minute before the first record (seconds ago), not a day back.
    const span = (page: string) => {
      const m = /<p class="meta">(\S+) to (\S+) \(UTC\)/.exec(page)!;
      return Date.parse(m[2]!) - Date.parse(m[1]!);
    };
    expect(span(html)).toBeGreaterThanOrEqual(60_000);
    expect(span(html)).toBeLessThan(5 * 60_000);
    expect(again.code).toBe(0);
    expect(span(await readFile(out, 'utf8'))).toBe(7 * 86_400_000);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`--out ${notes}: the file exists and is not an ipdrift report; not overwritten`);
    expect(await readFile(notes, 'utf8')).toBe('<p>my notes</p>\n');
    expect(badSince.code).toBe(2);
    expect(badSince.stderr).toContain('--since: must be more than 0');
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain('no target has state in');
  });

  it('check --quiet prints only the notices it caused: nothing when nothing changed, exit status as ever', async () => {
    // Prepare: a fresh state; the first check has nothing to say to on-call.
    const state = join(dir, 'quiet');
    dns.setA(`all.${NAME}`, ['127.0.51.11'], 60);
    // Act
    const calm = await cli(['check', '--config', configPath, '--state', state, '--quiet']);
    await nodes[0]!.setMode('refuse');
    const failing = await cli(['check', '--config', configPath, '--state', state, '-q']);
    await nodes[0]!.setMode('serve');
    // Assess
    expect([calm.code, calm.stdout]).toEqual([0, '']);
    expect(failing.code).toBe(1);
    expect(failing.stdout.trim().split('\n')).toEqual([expect.stringMatching(/^-> OPENED\s+\[WARNING\] app: /)]);
  });

  it('npm start with --config watches: bounded by --count, transitions printed as they happen', async () => {
    // Prepare: a fresh state dir, the name pointing at a node that refuses (a warning opens).
    const state = join(dir, 'watch');
    dns.setA(`all.${NAME}`, ['127.0.51.12'], 60);
    await nodes[1]!.setMode('refuse');
    // Act
    const r = await cli(['start', '--config', configPath, '--state', state, '--count', '2', '--interval', '100ms']);
    await nodes[1]!.setMode('serve');
    // Assess: it exits like its last check: the warning is still open (exit 1).
    expect(r.code).toBe(1);
    expect(r.stdout.match(/OPENED/g)?.length).toBe(1);
    expect(r.stdout).toContain('current address(es) fail: 127.0.51.12');
    expect(r.stdout).toMatch(/check 2: 1 finding\(s\), no change/);
  });

  it('watch stopped by SIGTERM exits 143 (128+15) at its next step, never needing SIGKILL', async () => {
    // Prepare
    const child = spawn(process.execPath, [BIN, 'watch', '--config', configPath, '--state', join(dir, 'signal'), '--interval', '200ms'], {
      env: { ...process.env, NO_COLOR: '1' },
    });
    const guard = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
    // Act: once it has checked (its first line), SIGTERM.
    await new Promise((resolve) => child.stdout.once('data', resolve));
    const sent = Date.now();
    child.kill('SIGTERM');
    const code = await exited;
    clearTimeout(guard);
    // Assess
    expect(code).toBe(143);
    expect(Date.now() - sent).toBeLessThan(10_000);
  });

  it('check with a webhook that is down: the notice is kept (a warning says so), the exit as ever; the next check delivers it, once', async () => {
    // Prepare: the node refuses (a warning opens); the receiver is down.
    const state = join(dir, 'notify');
    const receiver = await NotifyReceiver.start();
    const withHook = join(dir, 'notify.json');
    const base = JSON.parse(await readFile(configPath, 'utf8'));
    await writeFile(withHook, JSON.stringify({ ...base, notify: [{ type: 'webhook', url: `${receiver.url}/hook`, attempts: 1, timeoutMs: 1000 }] }));
    dns.setA(`all.${NAME}`, ['127.0.51.12'], 60);
    await nodes[1]!.setMode('refuse');
    await receiver.down();
    try {
      // Act
      const first = await cli(['check', '--config', withHook, '--state', state, '-q']);
      await receiver.up();
      const second = await cli(['check', '--config', withHook, '--state', state, '-q']);
      const third = await cli(['check', '--config', withHook, '--state', state, '-q']);
      // Assess
      expect(first.code).toBe(1);
      expect(first.stdout).toMatch(/^-> OPENED\s+\[WARNING\] app: /);
      expect(first.stderr).toMatch(/^warning: notify webhook-1: POST http:\/\/127\.0\.0\.1:\d+\/\.\.\.: .*; 1 notice\(s\) kept, retried next check$/m);
      expect([second.code, second.stdout, second.stderr]).toEqual([1, '', '']);
      expect([third.code, third.stdout, third.stderr]).toEqual([1, '', '']);
      expect(receiver.json().map((n) => `${n.type} ${n.key}`)).toEqual(['opened app/current-address-unhealthy']);
    } finally {
      await nodes[1]!.setMode('serve');
      await receiver.down();
    }
  });

  it('check stopped by Ctrl-C while a notify command runs: exit 130, the command stopped, the notice kept for the next check', async () => {
    // Prepare: a warning opens; the exec sink's command says its pid and hangs (it has a process group of its own, which the terminal's Ctrl-C does not reach).
    const state = join(dir, 'interrupt');
    const pidFile = join(dir, 'notify-command.pid');
    const withExec = join(dir, 'exec.json');
    const base = JSON.parse(await readFile(configPath, 'utf8'));
    await writeFile(
      withExec,
      JSON.stringify({ ...base, notify: [{ type: 'exec', command: ['/bin/sh', '-c', `echo $$ > ${pidFile}; exec sleep 30`], timeoutMs: 60_000 }] }),
    );
    dns.setA(`all.${NAME}`, ['127.0.51.12'], 60);
    await nodes[1]!.setMode('refuse');
    const child = spawn(process.execPath, [BIN, 'check', '--config', withExec, '--state', state, '-q'], { env: { ...process.env, NO_COLOR: '1' } });
    const guard = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    try {
      // Act: once the command runs, Ctrl-C (SIGINT to the check alone, as the terminal sends it to its foreground group).
      const pid = await waitForPid(pidFile);
      const sent = Date.now();
      child.kill('SIGINT');
      const code = await exited;
      // Assess
      expect(code).toBe(130);
      expect(Date.now() - sent).toBeLessThan(5_000);
      expect(await gone(pid)).toBe(true);
      expect(stderr).toMatch(/^warning: notify exec-1: \/bin\/sh: stopped: ipdrift was stopped; 1 notice\(s\) kept, retried next check$/m);
      expect(await readdir(join(state, 'outbox', 'exec-1'))).toEqual([expect.stringMatching(/\.json$/)]);
    } finally {
      clearTimeout(guard);
      await nodes[1]!.setMode('serve');
    }
  });

  it('watch --metrics-file: the text after each check (parsed), no temp file left; a bad --metrics-listen or a port in use: exit 2', async () => {
    // Prepare
    const file = join(dir, 'ipdrift.prom');
    const taken = await NotifyReceiver.start();
    try {
      // Act
      const r = await cli(['watch', '--config', configPath, '--state', join(dir, 'metrics'), '--count', '2', '--interval', '100ms', '--metrics-file', file]);
      const bad = await cli(['watch', '--config', configPath, '--metrics-listen', 'localhost']);
      const inUse = await cli(['watch', '--config', configPath, '--state', join(dir, 'metrics'), '--metrics-listen', `127.0.0.1:${taken.port}`]);
      const noDir = await cli(['watch', '--config', configPath, '--state', join(dir, 'metrics'), '--metrics-file', join(dir, 'nowhere', 'x.prom')]);
      // Assess
      expect(r.code).toBe(0);
      const scrape = new Scrape(await readFile(file, 'utf8'));
      expect(scrape.value('ipdrift_checks_total', { result: 'complete' })).toBe(2);
      expect(scrape.value('ipdrift_addresses', { target: 'app', state: 'current' })).toBe(1);
      expect((await readdir(dir)).filter((f) => f.startsWith('ipdrift.prom.'))).toEqual([]);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain('--metrics-listen: expected ADDRESS:PORT or PORT ("127.0.0.1:9464", "[::1]:9464", "9464"), got "localhost"');
      expect(inUse.code).toBe(2);
      expect(inUse.stderr).toContain(`--metrics-listen 127.0.0.1:${taken.port}: cannot listen (EADDRINUSE)`);
      expect(noDir.code).toBe(2);
      expect(noDir.stderr).toContain(`--metrics-file ${join(dir, 'nowhere', 'x.prom')}: cannot write (ENOENT)`);
    } finally {
      await taken.down();
    }
  });

  it('a corrupt state file: exit 2, its path named, the file left untouched', async () => {
    // Prepare
    const state = join(dir, 'corrupt');
    await mkdir(state, { recursive: true });
    const file = join(state, 'app.json');
    await writeFile(file, '{"schemaVersion":1,"state":{"addr');
    // Act
    const r = await cli(['check', '--config', configPath, '--state', state]);
    // Assess
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(file);
    expect(r.stderr).toContain('corrupt state file');
    expect(await readFile(file, 'utf8')).toBe('{"schemaVersion":1,"state":{"addr');
  });
});
