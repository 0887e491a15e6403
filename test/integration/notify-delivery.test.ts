/**
 * Notice delivery from the CLI (README, "Notifications from the CLI"): the webhook, exec and
 * Alertmanager sinks against real loopback receivers and real processes, and the outbox that
 * keeps what a receiver did not take.
 */
import { createHmac } from 'node:crypto';
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { finding } from '../../src/core/assess.ts';
import { parseConfig } from '../../src/core/config.ts';
import type { AlertTransition } from '../../src/core/types.ts';
import { DeliveryNotifier } from '../../src/adapters/local/notify/delivery.ts';
import { Outbox, OUTBOX_DIR, REFUSED_DIR } from '../../src/adapters/local/notify/outbox.ts';
import { sinksOf } from '../../src/adapters/local/notify/registry.ts';
import { alertNameOf } from '../../src/adapters/local/notify/alertmanager.ts';
import { reportOf } from '../unit/report-fixtures.ts';
import { NotifyReceiver } from './notify-receiver.ts';

const AT = '2026-12-06T03:00:00.000Z';
const SECRET = 'correct horse battery staple';
const clock = { now: () => new Date(AT) };

const opened = (key = 'web/stale-upstream'): AlertTransition => {
  const f = finding('web', 'stale-address-confirmed', 'web: the tier still reaches retired 10.0.1.23', { via: 'echo' });
  return { type: 'opened', key, target: 'web', kind: f.kind, severity: f.severity, at: AT, finding: f, summary: f.summary, openedAt: AT };
};
const resolved = (key = 'web/stale-upstream'): AlertTransition => ({
  type: 'resolved',
  key,
  target: 'web',
  kind: 'stale-address-confirmed',
  severity: 'critical',
  at: '2026-12-06T03:10:00.000Z',
  summary: 'web-stale: recovered',
  was: 'web: the tier still reaches retired 10.0.1.23',
  openedAt: AT,
});
const event: AlertTransition = {
  type: 'event',
  key: 'app/address-set-changed',
  target: 'app',
  kind: 'address-set-changed',
  severity: 'info',
  at: AT,
  summary: 'app: +10.0.1.5 -10.0.1.23',
};

describe('notify sinks and the outbox', () => {
  let dir: string;
  let hook: NotifyReceiver;
  let other: NotifyReceiver;
  beforeAll(async () => {
    hook = await NotifyReceiver.start();
    other = await NotifyReceiver.start();
  });
  afterAll(async () => {
    await Promise.all([hook.down(), other.down()]);
  });
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ipdrift-notify-'));
    for (const r of [hook, other]) {
      r.received.length = 0;
      r.next.length = 0;
      r.status = 200;
      r.requests = 0;
      await r.up();
    }
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** A notifier over the config's `notify`, with the state in `dir`. */
  const notifierOf = (notify: unknown[], printed: AlertTransition[] = []) => {
    const config = parseConfig({ targets: [{ name: 'app', type: 'elb', host: 'app.internal', port: 80 }], notify });
    return new DeliveryNotifier(sinksOf(config, new Map([['/hook.key', SECRET]])), new Outbox(dir), clock, (t) => printed.push(t));
  };
  const report = reportOf([], AT);
  /** The notices queued for `sink` (its files; not its sent/ and refused/ folders). */
  const queueOf = async (sink: string) => (await readdir(join(dir, OUTBOX_DIR, sink)).catch(() => [])).filter((f) => f.endsWith('.json'));

  it('webhook: POSTs the notice as JSON, signed (HMAC-SHA256 of the exact body), with its delivery id', async () => {
    // Prepare
    const printed: AlertTransition[] = [];
    const n = notifierOf([{ type: 'webhook', url: `${hook.url}/ipdrift`, secretFile: '/hook.key' }], printed);
    // Act
    await n.notify(opened());
    const [flush] = await n.flush(report, 5000);
    // Assess
    expect(flush).toMatchObject({ sink: 'webhook-1', delivered: 1, queued: 0, refused: 0, failed: false, errors: [] });
    expect(printed.map((t) => t.type)).toEqual(['opened']);
    const [got] = hook.received;
    expect(got!.path).toBe('/ipdrift');
    expect(got!.headers['content-type']).toBe('application/json');
    expect(got!.headers['x-ipdrift-signature']).toBe(`sha256=${createHmac('sha256', SECRET).update(got!.body).digest('hex')}`);
    expect(got!.headers['x-ipdrift-event']).toBe('opened');
    const doc = JSON.parse(got!.body);
    expect(doc).toMatchObject({
      version: 1,
      id: got!.headers['x-ipdrift-delivery'],
      type: 'opened',
      audience: 'on-call',
      key: 'web/stale-upstream',
      severity: 'critical',
      summary: 'web: the tier still reaches retired 10.0.1.23',
      evidence: { via: 'echo' },
    });
    expect(doc.subject).toMatch(/^\[CRITICAL\] web: /);
    expect(doc.advice).toEqual(expect.any(String));
    // Delivered: nothing left in the queue.
    expect(await queueOf('webhook-1')).toEqual([]);
  });

  it('webhook: a 503 is tried again within the check; a receiver down keeps the notices, in order, for the next check', async () => {
    // Prepare
    const n = notifierOf([{ type: 'webhook', url: hook.url, attempts: 2, timeoutMs: 1000 }]);
    hook.next.push(503);
    // Act 1: one 503 then accepted.
    await n.notify(opened('a/x'));
    const [retried] = await n.flush(report, 5000);
    // Act 2: down for two checks, two notices meanwhile.
    await hook.down();
    await n.notify(opened('b/x'));
    const [down1] = await n.flush(report, 5000);
    await n.notify(resolved('b/x'));
    const [down2] = await n.flush(report, 5000);
    await hook.up();
    const [back] = await n.flush(report, 5000);
    const [again] = await n.flush(report, 5000);
    // Assess
    expect(retried).toMatchObject({ delivered: 1, failed: false });
    expect(hook.requests).toBeGreaterThanOrEqual(2);
    expect(down1).toMatchObject({ delivered: 0, queued: 1, failed: true });
    expect(down1!.errors[0]).toMatch(/^POST http:\/\/127\.0\.0\.1:\d+\/: .*; 1 notice\(s\) kept, retried next check$/);
    expect(down2).toMatchObject({ delivered: 0, queued: 2, failed: true });
    expect(back).toMatchObject({ delivered: 2, queued: 0, failed: false });
    expect(again).toMatchObject({ delivered: 0, queued: 0 });
    // Each notice once, in the order they happened.
    expect(hook.json().map((d) => `${d.type} ${d.key}`)).toEqual(['opened a/x', 'opened b/x', 'resolved b/x']);
  });

  it('webhook: a notice the receiver refuses for good (400) is set aside with the reason, and the queue goes on', async () => {
    // Prepare
    const n = notifierOf([{ type: 'webhook', url: hook.url }]);
    hook.next.push(400);
    await n.notify(opened('a/x'));
    await n.notify(opened('b/x'));
    // Act
    const [flush] = await n.flush(report, 5000);
    // Assess
    expect(flush).toMatchObject({ delivered: 1, refused: 1, queued: 0 });
    expect(flush!.errors[0]).toMatch(/HTTP 400 \(refused with 400\): refused for good, set aside in .*refused/);
    const kept = await readdir(join(dir, OUTBOX_DIR, 'webhook-1', REFUSED_DIR));
    const aside = JSON.parse(await readFile(join(dir, OUTBOX_DIR, 'webhook-1', REFUSED_DIR, kept[0]!), 'utf8'));
    expect(aside).toMatchObject({ transition: { key: 'a/x' }, refused: expect.stringContaining('HTTP 400') });
    expect(hook.json().map((d) => d.key)).toEqual(['b/x']);
  });

  it('webhook: a receiver that never answers fails at timeoutMs, not later', async () => {
    // Prepare: accepts connections, never answers.
    const sockets: Socket[] = [];
    const silent: Server = createServer((s) => sockets.push(s));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    const n = notifierOf([{ type: 'webhook', url: `http://127.0.0.1:${port}/`, timeoutMs: 300, attempts: 1 }]);
    await n.notify(opened());
    try {
      // Act
      const started = Date.now();
      const [flush] = await n.flush(report, 5000);
      // Assess
      expect(Date.now() - started).toBeLessThan(2000);
      expect(flush!.errors[0]).toContain('no answer within 300 ms');
      expect(flush!.queued).toBe(1);
    } finally {
      for (const s of sockets) s.destroy();
      silent.close();
    }
  });

  it('the audience: on-call sinks hear the pages, events sinks the events; one down never holds up the other', async () => {
    // Prepare
    const n = notifierOf([
      { type: 'webhook', name: 'pager', url: hook.url },
      { type: 'webhook', name: 'chat', url: other.url, audience: 'events' },
    ]);
    await other.down();
    // Act
    await n.notify(event);
    await n.notify(opened());
    const flushes = await n.flush(report, 5000);
    // Assess
    expect(hook.json().map((d) => d.type)).toEqual(['opened']);
    expect(flushes.map((f) => [f.sink, f.delivered, f.queued])).toEqual([
      ['pager', 1, 0],
      ['chat', 0, 1],
    ]);
  });

  it('exec: the notice on stdin and IPDRIFT_* variables; a failing command keeps it; one that hangs is killed at timeoutMs', async () => {
    // Prepare
    const out = join(dir, 'got.jsonl');
    const script = join(dir, 'sink.mjs');
    await writeFile(
      script,
      `import { appendFileSync, readFileSync } from 'node:fs';
const mode = readFileSync(${JSON.stringify(join(dir, 'mode'))}, 'utf8').trim();
if (mode === 'hang') setInterval(() => {}, 1000);
else if (mode === 'fail') { console.error('pager API said no'); process.exit(3); }
else appendFileSync(${JSON.stringify(out)}, JSON.stringify({ stdin: JSON.parse(readFileSync(0, 'utf8')), key: process.env.IPDRIFT_KEY, severity: process.env.IPDRIFT_SEVERITY, subject: process.env.IPDRIFT_SUBJECT }) + '\\n');
`,
    );
    const mode = (m: string) => writeFile(join(dir, 'mode'), m);
    const n = notifierOf([{ type: 'exec', command: [process.execPath, script], timeoutMs: 1500 }]);
    await n.notify(opened());
    // Act
    await mode('fail');
    const [failed] = await n.flush(report, 10_000);
    await mode('hang');
    const started = Date.now();
    const [hung] = await n.flush(report, 10_000);
    const hungMs = Date.now() - started;
    await mode('ok');
    const [ok] = await n.flush(report, 10_000);
    // Assess
    expect(failed).toMatchObject({ delivered: 0, queued: 1, failed: true });
    expect(failed!.errors[0]).toContain('exit 3 (pager API said no)');
    expect(hung!.errors[0]).toContain('did not exit within 1500 ms');
    expect(hungMs).toBeLessThan(5000);
    expect(ok).toMatchObject({ delivered: 1, queued: 0 });
    const lines = (await readFile(out, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ stdin: { type: 'opened', key: 'web/stale-upstream' }, key: 'web/stale-upstream', severity: 'critical' });
    expect(lines[0].subject).toMatch(/^\[CRITICAL\] web: /);
  });

  it('alertmanager: opened fires with endsAt holdMinutes ahead, an escalation closes the other severity, resolved closes it; open alerts are re-posted every check', async () => {
    // Prepare
    const n = notifierOf([{ type: 'alertmanager', url: `${hook.url}/`, holdMinutes: 5, labels: { team: 'sre' } }]);
    // One incident whose kind follows its evidence (suspected, then confirmed): one alert throughout.
    const warned = { ...opened(), kind: 'stale-address-suspected' as const, severity: 'warning' as const, type: 'opened' as const, sequence: 0 };
    const escalated = { ...opened(), type: 'updated' as const, at: '2026-12-06T03:01:00.000Z', sequence: 1 };
    const open = [
      { key: 'web/stale-upstream', severity: 'critical' as const, target: 'web', kind: 'stale-address-confirmed' as const, openedAt: AT, summary: 'still' },
    ];
    // Act
    await n.notify(event);
    await n.notify(warned);
    await n.notify(escalated);
    await n.flush({ ...report, targets: [{ ...report.targets[0]!, target: 'web' }], openPaging: open }, 5000);
    await n.notify(resolved());
    await n.flush(report, 5000);
    // Assess: events never reach it; every post went to the v2 API.
    const posts = hook.json<Array<Record<string, any>>>('/api/v2/alerts');
    expect(hook.received.every((r) => r.path === '/api/v2/alerts')).toBe(true);
    const labels = { alertname: alertNameOf('web/stale-upstream', 'web'), key: 'web/stale-upstream', target: 'web', team: 'sre' };
    expect(labels.alertname).toBe('IpdriftStaleUpstream');
    expect(alertNameOf('app/stale-client-seen/10.0.5.7', 'app')).toBe('IpdriftStaleClientSeen');
    expect(posts).toEqual([
      [expect.objectContaining({ labels: { ...labels, severity: 'warning' }, startsAt: AT, endsAt: '2026-12-06T03:05:00.000Z' })],
      [
        expect.objectContaining({ labels: { ...labels, severity: 'critical' }, endsAt: '2026-12-06T03:06:00.000Z' }),
        expect.objectContaining({ labels: { ...labels, severity: 'warning' }, endsAt: '2026-12-06T03:01:00.000Z' }),
      ],
      // The refresh after the check: still open, held 5 minutes from now.
      [expect.objectContaining({ labels: { ...labels, severity: 'critical' }, startsAt: AT, endsAt: '2026-12-06T03:05:00.000Z' })],
      [expect.objectContaining({ labels: { ...labels, severity: 'critical' }, endsAt: '2026-12-06T03:10:00.000Z' })],
    ]);
    expect(posts[0]![0]!.annotations).toMatchObject({
      summary: expect.stringMatching(/^\[WARNING\] web: /),
      description: warned.summary,
      kind: 'stale-address-suspected',
      advice: expect.any(String),
    });
    expect(posts[1]![0]!.annotations.kind).toBe('stale-address-confirmed');
  });

  it('webhook: a 404 or 401 (a redeploy, a rotated key) keeps the queue, in order; only a 400, 413 or 422 sets one notice aside', async () => {
    // Prepare
    const n = notifierOf([{ type: 'webhook', url: hook.url, attempts: 1 }]);
    hook.next.push(404, 401);
    await n.notify(opened('a/x'));
    // Act
    const [notFound] = await n.flush(report, 5000);
    const [unauthorised] = await n.flush(report, 5000);
    const [back] = await n.flush(report, 5000);
    // Assess
    expect(notFound).toMatchObject({ delivered: 0, refused: 0, queued: 1, failed: true });
    expect(notFound!.errors[0]).toContain('HTTP 404');
    expect(unauthorised).toMatchObject({ delivered: 0, refused: 0, queued: 1 });
    expect(back).toMatchObject({ delivered: 1, queued: 0 });
    expect(hook.json().map((d) => d.key)).toEqual(['a/x']);
  });

  it('a notice the engine sends again (a failed save, a second process) is queued once and delivered once, under one id', async () => {
    // Prepare
    const n = notifierOf([{ type: 'webhook', url: hook.url }]);
    const t = { ...opened(), sequence: 0 };
    // Act: queued twice before a flush; then again after it was delivered (the save that would have recorded it failed).
    await n.notify(t);
    await n.notify({ ...t, at: '2026-12-06T03:01:00.000Z' });
    const [first] = await n.flush(report, 5000);
    await n.notify({ ...t, at: '2026-12-06T03:02:00.000Z' });
    const [second] = await n.flush(report, 5000);
    // A reminder of the same incident is a new notice.
    await n.notify({ ...t, type: 'reminder', sequence: 1 });
    const [third] = await n.flush(report, 5000);
    // Assess
    expect([first!.delivered, second!.delivered, third!.delivered]).toEqual([1, 0, 1]);
    expect(hook.json().map((d) => d.type)).toEqual(['opened', 'reminder']);
    expect(new Set(hook.received.map((r) => r.headers['x-ipdrift-delivery'])).size).toBe(2);
  });

  it('a notice that says more under the same count (an escalation, an incident after its risk) is never taken for a repeat', async () => {
    // Prepare: an "updated" at warning was queued (the receiver down) but the engine never recorded it.
    await hook.down();
    const n = notifierOf([{ type: 'webhook', url: hook.url, audience: 'all', attempts: 1 }]);
    const update = { ...opened(), type: 'updated' as const, severity: 'warning' as const, sequence: 1 };
    await n.notify(update);
    await n.flush(report, 5000);
    await hook.up();
    // Act: next check the alert is critical: the same type, key, incident and count.
    await n.notify({ ...update, severity: 'critical' });
    // A risk told as "opened" (info), then its incident "opened", both before any was recorded.
    const risk = { ...opened('web/risk'), severity: 'info' as const, sequence: 0 };
    await n.notify(risk);
    await n.notify({ ...risk, severity: 'critical' });
    await n.flush(report, 5000);
    // Assess: every one of them reached the receiver.
    expect(hook.json().map((d) => `${d.type} ${d.key} ${d.severity}`)).toEqual([
      'updated web/stale-upstream warning',
      'updated web/stale-upstream critical',
      'opened web/risk info',
      'opened web/risk critical',
    ]);
  });

  it('a sink removed from the config: its queue is kept and said, once per process', async () => {
    // Prepare
    await hook.down();
    const before = notifierOf([{ type: 'webhook', name: 'pager', url: hook.url, attempts: 1 }]);
    await before.notify(opened('a/x'));
    await before.flush(report, 5000);
    const after = notifierOf([{ type: 'exec', name: 'script', command: ['/bin/true'] }]);
    // Act
    const first = await after.flush(report, 5000);
    const second = await after.flush(report, 5000);
    // Assess
    expect(first.find((f) => f.sink === 'pager')).toMatchObject({
      queued: 1,
      errors: ['1 notice(s) queued for a sink the config no longer names; kept, not sent'],
    });
    expect(second.map((f) => f.sink)).toEqual(['script']);
    expect(await queueOf('pager')).toHaveLength(1);
  });

  it('exec: a command that leaves a child holding its stderr is still bounded by timeoutMs (the whole group is killed)', async () => {
    // Prepare: the shell starts a sleeper that inherits stderr, then sleeps itself.
    const n = notifierOf([{ type: 'exec', command: ['/bin/sh', '-c', 'sleep 30 & sleep 30'], timeoutMs: 500 }]);
    await n.notify(opened());
    // Act
    const started = Date.now();
    const [flush] = await n.flush(report, 10_000);
    // Assess
    expect(Date.now() - started).toBeLessThan(3000);
    expect(flush!.errors[0]).toContain('did not exit within 500 ms');
    expect(flush!.queued).toBe(1);
  });

  it('exec: a command still running when the budget runs out, or when ipdrift is stopped, is killed; the notice is kept; each says why', async () => {
    // Prepare: a command that would run 30 s (timeoutMs far away).
    const hang = () => notifierOf([{ type: 'exec', command: ['/bin/sh', '-c', 'exec sleep 30'], timeoutMs: 60_000 }]);
    const byBudget = hang();
    await byBudget.notify(opened());
    // Act: a 300 ms budget; then a stop (Ctrl-C) 300 ms into a 10 s budget.
    const started = Date.now();
    const [budget] = await byBudget.flush(report, 300);
    const byStop = hang();
    const stop = new AbortController();
    setTimeout(() => stop.abort(), 300);
    const [stopped] = await byStop.flush(report, 10_000, stop.signal);
    // Assess
    expect(Date.now() - started).toBeLessThan(3000);
    expect(budget!.errors[0]).toMatch(/^\/bin\/sh: stopped: the delivery budget ran out; 1 notice\(s\) kept, retried next check$/);
    expect(stopped!.errors[0]).toMatch(/^\/bin\/sh: stopped: ipdrift was stopped; 1 notice\(s\) kept, retried next check$/);
    expect([budget!.queued, stopped!.queued]).toEqual([1, 1]);
  });

  it('a queue left for another receiver (the list reordered, a URL changed) is never sent to this one', async () => {
    // Prepare: webhook-1 queued a page for the pager, which is down.
    await hook.down();
    const before = notifierOf([{ type: 'webhook', url: hook.url, attempts: 1 }]);
    await before.notify(opened('a/x'));
    await before.flush(report, 5000);
    await hook.up();
    // Act: an events hook is put first in the list; it is webhook-1 now; the pager is webhook-2.
    const after = notifierOf([
      { type: 'webhook', url: other.url, audience: 'events' },
      { type: 'exec', name: 'script', command: ['/bin/true'] },
    ]);
    const flushes = await after.flush(report, 5000);
    // Assess
    expect(other.received).toEqual([]);
    expect(flushes[0]).toMatchObject({ sink: 'webhook-1', delivered: 0, refused: 1, queued: 0 });
    expect(flushes[0]!.errors[0]).toMatch(/^a notice queued for another receiver of "webhook-1" \(the config changed\): not sent, set aside in .*refused/);
    expect(await readdir(join(dir, OUTBOX_DIR, 'webhook-1', REFUSED_DIR))).toHaveLength(1);
  });

  it('a queued notice that cannot be read back is named and left in place; the others go', async () => {
    // Prepare
    const n = notifierOf([{ type: 'webhook', url: hook.url }]);
    await n.notify(opened());
    const broken = join(dir, OUTBOX_DIR, 'webhook-1', '0000000000001-000000-00000000deadbeef-0000000000000000.json');
    await writeFile(broken, '{"half');
    // Act
    const [flush] = await n.flush(report, 5000);
    // Assess
    expect(flush!.delivered).toBe(1);
    expect(flush!.errors[0]).toContain(`queued notice unreadable, left in place: ${broken}`);
    expect(flush!.queued).toBe(0);
    expect(await queueOf('webhook-1')).toEqual(['0000000000001-000000-00000000deadbeef-0000000000000000.json']);
  });
});
