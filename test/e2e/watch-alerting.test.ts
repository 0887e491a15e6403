/**
 * `ipdrift watch` in a team's own alerting (README, "With Prometheus", "Notifications from the
 * CLI"), through the lab's incident (lab/incident.ts): the /metrics series move as the story goes
 * (scraped and parsed); a real Alertmanager (Debian prometheus-alertmanager, on loopback) gets
 * the incident and closes it; a signed webhook gets exactly one OPENED and one RESOLVED; a
 * receiver that is down for two checks still gets each notice, once, when it is back.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../lab/index.ts';
import { INCIDENT_STEPS, startIncidentLab } from '../../lab/incident.ts';
import type { IncidentLab } from '../../lab/incident.ts';
import { NotifyReceiver } from '../integration/notify-receiver.ts';
import type { Received } from '../integration/notify-receiver.ts';
import { Scrape } from '../integration/prom-scrape.ts';

const BIN = join(import.meta.dirname, '../../bin/ipdrift.mjs');
const ALERTMANAGER = '/usr/bin/prometheus-alertmanager';
const IN_CI = !!process.env.CI && !['false', '0'].includes(process.env.CI);
/** Loopback block of this file's incident lab (127.0.85.x): no other test uses it. */
const BLOCK = 85;
const SECRET = 'lab hmac key';
const KEY = 'web-stale/stale-upstream';
const STORY_TIMEOUT_MS = 150_000;
/** A step's effect shows within a few checks of 500 ms (the stale tier's probe may take its 1.5 s timeout). */
const WAIT = { timeoutMs: 25_000, intervalMs: 200 } as const;

/** A free loopback port (Alertmanager takes its port as a flag). */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as { port: number }).port;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

/** A webhook's notices, each checked against its signature. */
function notices(r: NotifyReceiver) {
  return r.received.map((x: Received) => {
    expect(x.headers['x-ipdrift-signature']).toBe(`sha256=${createHmac('sha256', SECRET).update(x.body).digest('hex')}`);
    return JSON.parse(x.body) as { id: string; type: string; key: string; audience: string };
  });
}

/** Alertmanager's webhook notifications (its own JSON: status, alerts[].labels). */
type AmNotification = { status: 'firing' | 'resolved'; alerts: { status: string; labels: Record<string, string> }[] };

describe.skipIf(!existsSync(ALERTMANAGER) && !IN_CI)('watch with Prometheus, Alertmanager and webhooks, through the incident', () => {
  let lab: IncidentLab;
  let dir: string;
  let hook: NotifyReceiver;
  let flaky: NotifyReceiver;
  let amHook: NotifyReceiver;
  let am: ChildProcess;
  let amUrl: string;
  let watch: ChildProcess;
  let metricsUrl: string;
  let stdout = '';
  let stderr = '';

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ipdrift-watch-alerting-'));
    [lab, hook, flaky, amHook] = await Promise.all([
      startIncidentLab({ block: BLOCK }),
      NotifyReceiver.start(),
      NotifyReceiver.start(),
      NotifyReceiver.start(),
    ]);
    // A real Alertmanager on loopback (no cluster listener), sending to a webhook here, resolved notices on.
    const amPort = await freePort();
    amUrl = `http://127.0.0.1:${amPort}`;
    await writeFile(
      join(dir, 'alertmanager.yml'),
      [
        'route:',
        '  receiver: lab',
        "  group_by: ['alertname', 'key']",
        '  group_wait: 1s',
        '  group_interval: 1s',
        '  repeat_interval: 1h',
        'receivers:',
        '  - name: lab',
        '    webhook_configs:',
        `      - url: ${amHook.url}/am`,
        '        send_resolved: true',
        '',
      ].join('\n'),
    );
    am = spawn(
      ALERTMANAGER,
      [
        `--config.file=${join(dir, 'alertmanager.yml')}`,
        `--storage.path=${join(dir, 'am-data')}`,
        `--web.listen-address=127.0.0.1:${amPort}`,
        '--cluster.listen-address=',
        '--log.level=warn',
      ],
      { stdio: 'ignore' },
    );
    await waitFor(async () => (await fetch(`${amUrl}/-/ready`).catch(() => undefined))?.ok, { timeoutMs: 15_000, what: 'Alertmanager ready' });
    await writeFile(join(dir, 'hook.key'), `${SECRET}\n`, { mode: 0o600 });
    const config = {
      ...lab.config,
      notify: [
        { type: 'webhook', name: 'hook', url: `${hook.url}/ipdrift`, secretFile: join(dir, 'hook.key') },
        { type: 'webhook', name: 'flaky', url: `${flaky.url}/ipdrift`, secretFile: join(dir, 'hook.key'), attempts: 1, timeoutMs: 1000 },
        { type: 'alertmanager', name: 'am', url: amUrl, holdMinutes: 1 },
      ],
    };
    await writeFile(join(dir, 'config.json'), JSON.stringify(config));
    watch = spawn(
      process.execPath,
      [BIN, 'watch', '--config', join(dir, 'config.json'), '--state', join(dir, 'state'), '--interval', '500ms', '--json', '--metrics-listen', '127.0.0.1:0'],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } },
    );
    watch.stdout!.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    watch.stderr!.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    metricsUrl = await waitFor(() => /^metrics: (http:\S+)$/m.exec(stderr)?.[1], { timeoutMs: 15_000, what: 'the metrics URL on stderr' });
  }, 60_000);

  afterAll(async () => {
    watch?.kill('SIGKILL');
    am?.kill('SIGKILL');
    await Promise.allSettled([lab?.stop(), hook?.down(), flaky?.down(), amHook?.down()]);
    await rm(dir, { recursive: true, force: true });
  });

  const scrape = async () => {
    const res = await fetch(metricsUrl);
    expect(res.headers.get('content-type')).toContain('text/plain; version=0.0.4');
    return new Scrape(await res.text());
  };
  const checks = () => stdout.split('\n').filter((l) => l.startsWith('{')).length;
  /** Waits until the scrape satisfies `ok`; returns it. */
  const scrapeUntil = (ok: (s: Scrape) => boolean, what: string) =>
    waitFor(
      async () => {
        const s = await scrape();
        return ok(s) ? s : undefined;
      },
      { ...WAIT, what },
    );
  const step = (id: string) => INCIDENT_STEPS.find((s) => s.id === id)!.act(lab);
  const amNotifications = () => amHook.json<AmNotification>('/am').filter((n) => n.alerts.some((a) => a.labels.key === KEY));

  it(
    'the series follow the story; one OPENED and one RESOLVED per webhook, signed; Alertmanager opens and closes the incident',
    async () => {
      // Baseline: two current addresses, nothing retired, nothing open.
      const baseline = await scrapeUntil((s) => (s.value('ipdrift_checks_total', { result: 'complete' }) ?? 0) >= 2, 'two complete checks');
      expect(baseline.value('ipdrift_addresses', { target: 'app-alb', state: 'current' })).toBe(2);
      expect(baseline.value('ipdrift_addresses', { target: 'app-alb', state: 'retired' })).toBe(0);
      expect(baseline.value('ipdrift_alerts_open', { target: 'web-stale', severity: 'critical' })).toBe(0);
      expect(baseline.value('ipdrift_last_success_timestamp_seconds')).toBeGreaterThan(Date.now() / 1000 - 30);

      // The ELB replaces its nodes: two retired addresses, still answering.
      await step('replace');
      const replaced = await scrapeUntil((s) => s.value('ipdrift_addresses', { target: 'app-alb', state: 'retired' }) === 2, 'two retired addresses');
      expect(replaced.value('ipdrift_addresses_answering', { target: 'app-alb', state: 'retired' })).toBe(2);
      expect(replaced.value('ipdrift_addresses', { target: 'app-alb', state: 'current' })).toBe(2);

      // Past the TTL the stale tier still rides the old nodes: at risk (events only, no page).
      await step('linger');
      await scrapeUntil((s) => s.value('ipdrift_stale_evidence', { target: 'web-stale', kind: 'stale-address-at-risk' }) === 1, 'the risk');
      expect(hook.received).toEqual([]);

      // The flaky receiver goes down; the old nodes stop answering: the page.
      await flaky.down();
      await step('release');
      await waitFor(() => notices(hook).some((n) => n.type === 'opened'), { ...WAIT, what: 'OPENED at the webhook' });
      const openedAt = checks();
      const open = await scrapeUntil((s) => s.value('ipdrift_alerts_open', { target: 'web-stale', severity: 'critical' }) === 1, 'one critical incident open');
      expect(open.value('ipdrift_notices_queued', { sink: 'hook' })).toBe(0);
      const during = await scrapeUntil(
        (s) => s.value('ipdrift_addresses_answering', { target: 'app-alb', state: 'retired' }) === 0,
        'the retired nodes silent',
      );
      expect(during.value('ipdrift_stale_evidence', { target: 'web-stale', kind: 'stale-address-suspected' })).toBe(1);
      // Alertmanager has it firing, and told its own receiver.
      await waitFor(
        async () => {
          const alerts = (await (await fetch(`${amUrl}/api/v2/alerts`)).json()) as { labels: Record<string, string>; status: { state: string } }[];
          return alerts.some((a) => a.labels.key === KEY && a.labels.severity === 'critical' && a.status.state === 'active');
        },
        { ...WAIT, what: 'the alert active in Alertmanager' },
      );
      await waitFor(() => amNotifications().some((n) => n.status === 'firing'), { ...WAIT, what: "Alertmanager's firing notification" });

      // Two checks with the flaky receiver down: its notice waits (and says so), then it is back.
      await waitFor(() => checks() >= openedAt + 2, { ...WAIT, what: 'two more checks' });
      const waiting = await scrape();
      expect(waiting.value('ipdrift_notices_queued', { sink: 'flaky' })).toBeGreaterThanOrEqual(1);
      expect(waiting.value('ipdrift_notices_total', { sink: 'flaky', result: 'failed' })).toBeGreaterThanOrEqual(2);
      expect(flaky.received).toEqual([]);
      await flaky.up();
      await waitFor(() => notices(flaky).some((n) => n.type === 'opened'), { ...WAIT, what: 'OPENED at the receiver that was down' });

      // On-call restarts the stale tier: after two clean checks, the incident resolves everywhere.
      await step('restart');
      await waitFor(() => notices(hook).some((n) => n.type === 'resolved'), { ...WAIT, what: 'RESOLVED at the webhook' });
      await waitFor(() => notices(flaky).some((n) => n.type === 'resolved'), { ...WAIT, what: 'RESOLVED at the receiver that was down' });
      await scrapeUntil((s) => s.value('ipdrift_alerts_open', { target: 'web-stale', severity: 'critical' }) === 0, 'no incident open');
      await waitFor(() => amNotifications().some((n) => n.status === 'resolved'), { ...WAIT, what: "Alertmanager's resolved notification" });
      // A few more checks: nothing more arrives.
      const settled = checks();
      await waitFor(() => checks() >= settled + 3, { ...WAIT, what: 'three more checks' });
      watch.kill('SIGTERM');
      const code = await new Promise<number | null>((resolve) => watch.once('exit', (c) => resolve(c)));

      // Assess: each webhook heard the incident exactly once opened and once resolved, each notice once.
      for (const r of [hook, flaky]) {
        const got = notices(r);
        expect(got.filter((n) => n.type === 'opened' || n.type === 'resolved').map((n) => `${n.type} ${n.key}`)).toEqual([`opened ${KEY}`, `resolved ${KEY}`]);
        expect(got.every((n) => n.audience === 'on-call')).toBe(true);
        expect(new Set(got.map((n) => n.id)).size).toBe(got.length);
      }
      // The receiver that was down got what the other got, in the same order.
      expect(notices(flaky).map((n) => n.id)).toEqual(
        notices(hook)
          .map((n) => n.id)
          .slice(0, notices(flaky).length),
      );
      expect(stderr).toMatch(/warning: notify flaky: POST http:\/\/127\.0\.0\.1:\d+\/\.\.\.: .*; 1 notice\(s\) kept, retried next check/);
      // Alertmanager: one incident, firing then resolved.
      const am = amNotifications();
      expect(am.at(-1)!.status).toBe('resolved');
      expect(new Set(am.flatMap((n) => n.alerts.map((a) => a.labels.alertname)))).toEqual(new Set(['IpdriftStaleUpstream']));
      expect(code).toBe(143);
    },
    STORY_TIMEOUT_MS,
  );
});
