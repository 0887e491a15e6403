/**
 * Security: an address AWS handed to someone else must be called out (a warning; critical once a
 * client is seen still sending to it), whoever
 * answers there must not steer the probes (no redirects followed, bodies capped), and nothing
 * secret may reach a notice or a log line. TLS listeners use self-signed certificates made here.
 */
import { createServer as createHttpServer } from 'node:http';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Server as HttpsServer } from 'node:https';
import { createServer as createTlsServer } from 'node:tls';
import type { Server as TlsServer } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCheck } from '../../src/core/check.ts';
import type { CheckDeps } from '../../src/core/check.ts';
import { isLocalName, unusableReason } from '../../src/core/address-class.ts';
import { ConfigError, parseConfig } from '../../src/core/config.ts';
import type { Config } from '../../src/core/config.ts';
import { formatNotice } from '../../src/core/notice.ts';
import type { EngineLogger } from '../../src/core/ports.ts';
import { MemoryStore } from '../../src/adapters/local/memory-store.ts';
import { formatFindings } from '../../src/adapters/local/console.ts';
import { LabDnsServer } from '../../lab/dns-server.ts';
import { Loopback, selfSignedCert } from '../integration/probe-servers.ts';
import type { TestCert } from '../integration/probe-servers.ts';
import {
  FAULT_BLOCKS,
  ManualClock,
  MS_PER_MINUTE,
  RecordingNotifier,
  config,
  credentialsIn,
  labResolvers,
  listenSamePort,
  loopbackAddress,
  targetReport,
} from './harness.ts';
import type { SamePortServers } from './harness.ts';

const BLOCK = FAULT_BLOCKS.security;
const DNS_HOST = loopbackAddress(BLOCK, 1);
const OLD = loopbackAddress(BLOCK, 11);
const NEW = loopbackAddress(BLOCK, 12);
const REDIRECTOR = loopbackAddress(BLOCK, 21);
const ELSEWHERE = loopbackAddress(BLOCK, 22);
const WEB = loopbackAddress(BLOCK, 23);
const SVC_NAME = 'svc.security.elb.test';
const INTRUDER_NAME = 'intruder.example';
const DNS_TIMEOUT_MS = 500;
const PROBE_TIMEOUT_MS = 1000;
const APP_SERVER = 'svc-app/1.4';
const OTHER_SERVER = 'other-tenant/9.9';
/** A body far over the probe's cap (LIMITS.maxBodyBytes = 64 KB). */
const BIG_BODY_BYTES = 8 * 1024 * 1024;

describe('security', () => {
  const lo = new Loopback();
  let dns: LabDnsServer;
  let svcCert: TestCert;
  let intruderCert: TestCert;
  const resolver = () => labResolvers(dns.address, DNS_TIMEOUT_MS);

  beforeAll(async () => {
    dns = await LabDnsServer.start({ host: DNS_HOST });
    [svcCert, intruderCert] = await Promise.all([selfSignedCert(SVC_NAME), selfSignedCert(INTRUDER_NAME)]);
  });
  afterAll(async () => {
    await lo.close();
    await dns.stop();
  });

  /** An ELB target on SVC_NAME over `protocol` at `port`. */
  const svc = (name: string, protocol: 'tls' | 'https' | 'http', port: number): Config =>
    config({ targets: [{ name, type: 'elb', host: SVC_NAME, port, timeoutMs: PROBE_TIMEOUT_MS, probe: { protocol, path: '/health' } }] });

  describe('retired-address-reassigned: a warning, critical once a client still uses it', () => {
    it.each(['tls', 'https'] as const)('%s: a retired address now presents a certificate for another name', async (protocol) => {
      // Prepare: OLD and NEW serve SVC_NAME's certificate on one port (self-signed: insecureTls, names still checked).
      const ok: RequestListener = (_req, res) => res.writeHead(200, { server: APP_SERVER }).end('ok');
      const make = () => (protocol === 'tls' ? createTlsServer(svcCert, (s) => s.end()) : createHttpsServer(svcCert, ok));
      const servers: SamePortServers = await listenSamePort([OLD, NEW], () => {
        const s = make();
        s.on('tlsClientError', () => undefined);
        return s;
      });
      try {
        const cfg = svc(`reassigned-${protocol}`, protocol, servers.port);
        const store = new MemoryStore();
        const clock = new ManualClock();
        const notifier = new RecordingNotifier();
        const deps: CheckDeps = { store, notifier, clock, newResolver: resolver(), insecureTls: true };
        dns.setA(SVC_NAME, [OLD]);
        const first = await runCheck(cfg, deps);
        expect(first.findings).toEqual([]);
        // Act: the name moves to NEW; OLD is handed to someone else and presents their certificate.
        dns.setA(SVC_NAME, [NEW]);
        (servers.servers[0] as TlsServer | HttpsServer).setSecureContext(intruderCert);
        clock.advance(MS_PER_MINUTE);
        const second = await runCheck(cfg, deps);
        // Assess: a warning (no client is seen using it), with the certificate as evidence; the current address (right name) is fine.
        const f = second.findings.find((x) => x.kind === 'retired-address-reassigned');
        expect(f?.severity).toBe('warning');
        expect(f?.evidence).toMatchObject({ addresses: [{ address: OLD, certificate: { nameMatches: false, altNames: [INTRUDER_NAME] } }] });
        expect(second.findings.some((x) => x.kind === 'current-address-unhealthy')).toBe(false);
        const opened = notifier.delivered.find((t) => t.type === 'opened' && t.kind === 'retired-address-reassigned');
        expect(opened?.severity).toBe('warning');
        const notice = formatNotice(opened!);
        expect(notice.subject).toMatch(/^\[WARNING\] reassigned-/);
        expect(notice.attributes).toMatchObject({ severity: 'warning', kind: 'retired-address-reassigned', audience: 'on-call' });
        expect(notice.body).toContain(INTRUDER_NAME);
      } finally {
        await servers.close();
      }
    });

    it('http: a retired address still answering as itself is info; as another service a warning; critical, in place, once a web tier is seen using it', async () => {
      // Prepare: OLD's Server header is what the test says; NEW is the app. A web tier in front
      // of the name whose echo names OLD from the step the test says (it cached the old answer).
      let oldServer = APP_SERVER;
      let tierUsesOld = false;
      const servers = await listenSamePort([OLD, NEW], (host) =>
        createHttpServer((_req: IncomingMessage, res: ServerResponse) => res.writeHead(200, { server: host === OLD ? oldServer : APP_SERVER }).end('ok')),
      );
      const webPort = await lo.http((req, res) => res.writeHead(200).end(req.url === '/whoami' ? (tierUsesOld ? OLD : NEW) : 'ok'), WEB);
      try {
        const cfg = config({
          targets: [
            {
              name: 'reassigned-http',
              type: 'elb',
              host: SVC_NAME,
              port: servers.port,
              timeoutMs: PROBE_TIMEOUT_MS,
              probe: { protocol: 'http', path: '/health' },
            },
            {
              name: 'reassigned-web',
              type: 'web-tier',
              url: `http://${WEB}:${webPort}/health`,
              upstream: 'reassigned-http',
              echo: { path: '/whoami' },
              timeoutMs: PROBE_TIMEOUT_MS,
            },
          ],
        });
        const store = new MemoryStore();
        const clock = new ManualClock();
        const notifier = new RecordingNotifier();
        const deps: CheckDeps = { store, notifier, clock, newResolver: resolver() };
        dns.setA(SVC_NAME, [OLD]);
        await runCheck(cfg, deps);
        // Act: the name moves; OLD first still answers as the app, then as another service, then
        // (past the TTL) the tier is seen sending to it.
        dns.setA(SVC_NAME, [NEW]);
        clock.advance(MS_PER_MINUTE);
        const same = await runCheck(cfg, deps);
        oldServer = OTHER_SERVER;
        clock.advance(MS_PER_MINUTE);
        const other = await runCheck(cfg, deps);
        const openedBefore = notifier.delivered.length;
        tierUsesOld = true;
        clock.advance(MS_PER_MINUTE);
        const used = await runCheck(cfg, deps);
        // Assess
        expect(same.findings.map((f) => `${f.kind}:${f.severity}`).sort()).toEqual(['address-set-changed:info', 'retired-address-answering:info']);
        const f = other.findings.find((x) => x.kind === 'retired-address-reassigned');
        expect(f?.severity).toBe('warning');
        expect(f?.evidence).toMatchObject({ addresses: [{ address: OLD, expectedIdentity: `http:${APP_SERVER}`, seenIdentity: `http:${OTHER_SERVER}` }] });
        expect(
          notifier.delivered
            .slice(0, openedBefore)
            .filter((t) => t.type !== 'event')
            .map((t) => `${t.type}:${t.kind}:${t.severity}`),
        ).toEqual(['opened:retired-address-reassigned:warning']);
        const g = used.findings.find((x) => x.kind === 'retired-address-reassigned');
        expect(g?.severity).toBe('critical');
        expect(g?.evidence).toMatchObject({ usedBy: [{ tier: 'reassigned-web', address: OLD }] });
        // One alert escalated in place (updated, not a second opened), beside the tier's own stale incident.
        expect(used.transitions.map((t) => `${t.type}:${t.kind}:${t.severity}`).sort()).toEqual([
          'opened:stale-address-confirmed:critical',
          'updated:retired-address-reassigned:critical',
        ]);
        expect(formatNotice(used.transitions.find((t) => t.type === 'updated')!).subject).toMatch(
          /^\[CRITICAL UPDATE\] reassigned-http: retired address reassigned/,
        );
      } finally {
        await servers.close();
      }
    });
  });

  describe('an answer naming an address no node can have is a finding, never probed', () => {
    it.each([
      ['0.0.0.0', 'unspecified'],
      ['169.254.169.254', 'metadata'],
      ['169.254.10.1', 'link-local'],
      ['224.0.0.1', 'multicast'],
      ['255.255.255.255', 'broadcast'],
    ] as const)('%s (%s): unusable-address, not probed, not in history; a usable address beside it is probed', async (bad, why) => {
      // Prepare: the name answers the bad address beside NEW (loopback is allowed here only
      // because this test's nodes live on loopback; the bad addresses are refused regardless).
      const name = `unusable-${why}.security.elb.test`;
      const servers = await listenSamePort([NEW], () => createHttpServer((_req, res) => res.writeHead(200).end('ok')));
      try {
        const cfg = parseConfig({
          allowLoopback: true,
          targets: [
            { name: `unusable-${why}`, type: 'elb', host: name, port: servers.port, timeoutMs: PROBE_TIMEOUT_MS, probe: { protocol: 'http', path: '/health' } },
          ],
        });
        const deps: CheckDeps = { store: new MemoryStore(), notifier: new RecordingNotifier(), clock: new ManualClock(), newResolver: resolver() };
        dns.setA(name, [bad, NEW]);
        dns.setA(`all.${name}`, [bad, NEW]);
        // Act
        const mixed = await runCheck(cfg, deps);
        dns.setA(name, [bad]);
        dns.setA(`all.${name}`, [bad]);
        const only = await runCheck(cfg, deps);
        // Assess: the bad address is named, never probed; the history holds only NEW, even when the bad one is all there is.
        for (const report of [mixed, only]) {
          const t = targetReport(report, `unusable-${why}`);
          expect(t.probes.map((p) => p.address)).not.toContain(bad);
          expect(t.current).toEqual([NEW]);
          const f = report.findings.find((x) => x.kind === 'unusable-address');
          expect(f?.severity).toBe('warning');
          expect(f?.summary).toContain(bad);
          expect(f?.evidence).toMatchObject({ addresses: [{ address: bad }] });
        }
        expect(targetReport(mixed, `unusable-${why}`).probes.map((p) => [p.address, p.ok])).toEqual([[NEW, true]]);
        expect(targetReport(only, `unusable-${why}`).resolution).toMatchObject({ ok: false, code: 'unusable' });
      } finally {
        await servers.close();
      }
    });

    it('loopback in a real config (no allowLoopback): unusable, never probed', async () => {
      // Prepare: something listens on the loopback address, so a probe would say "healthy".
      const name = 'unusable-loopback.security.elb.test';
      const servers = await listenSamePort([NEW], () => createHttpServer((_req, res) => res.writeHead(200).end('ok')));
      try {
        const cfg = parseConfig({
          targets: [
            {
              name: 'unusable-loopback',
              type: 'elb',
              host: name,
              port: servers.port,
              timeoutMs: PROBE_TIMEOUT_MS,
              probe: { protocol: 'http', path: '/health' },
            },
          ],
        });
        dns.setA(name, [NEW]);
        dns.setA(`all.${name}`, [NEW]);
        // Act
        const report = await runCheck(cfg, { store: new MemoryStore(), notifier: new RecordingNotifier(), clock: new ManualClock(), newResolver: resolver() });
        // Assess
        const t = targetReport(report, 'unusable-loopback');
        expect(t.probes).toEqual([]);
        expect(t.resolution).toMatchObject({ ok: false, code: 'unusable' });
        // One condition, one finding (not also resolution-failed).
        expect(report.findings.map((f) => f.kind)).toEqual(['unusable-address']);
        expect(report.findings.find((f) => f.kind === 'unusable-address')?.evidence).toMatchObject({
          addresses: [{ address: NEW, why: 'loopback (this host)' }],
        });
        // A loopback answer is most often a lab on this machine: the advice names the key that allows it first.
        expect(report.findings[0]!.advice).toMatch(/^If this is a lab on this machine .* set "allowLoopback": true in the config/);
      } finally {
        await servers.close();
      }
    });

    it('IPv6: ::, ::1, fe80::1, ff02::1, the IPv6 metadata address and IPv4-mapped loopback are all unusable', () => {
      // Prepare / Act / Assess (pure)
      expect(
        ['::', '::1', 'fe80::1', 'ff02::1', 'fd00:ec2::254', '::ffff:127.0.0.1', '10.0.1.7', '2600:1f18::1'].map((a) => unusableReason(a, false) ?? 'usable'),
      ).toEqual(['unspecified', 'loopback', 'link-local', 'multicast', 'metadata', 'loopback', 'usable', 'usable']);
      expect(unusableReason('127.0.0.1', true)).toBeUndefined();
      expect(['localhost', 'app.localhost', 'app.localhost.', 'localhost.example.com'].map(isLocalName)).toEqual([true, true, true, false]);
    });
  });

  it('no probe follows a redirect to another host (ELB address probe and web-tier GET)', async () => {
    // Prepare: a counting server elsewhere, and two servers that redirect there.
    let elsewhereHits = 0;
    const elsewherePort = await lo.http((_req, res) => {
      elsewhereHits++;
      res.end('elsewhere');
    }, ELSEWHERE);
    const redirect: RequestListener = (_req, res) => res.writeHead(302, { location: `http://${ELSEWHERE}:${elsewherePort}/health` }).end();
    const elbPort = await lo.http(redirect, REDIRECTOR);
    const webPort = await lo.http(redirect, WEB);
    dns.setA('redirect.security.elb.test', [REDIRECTOR]);
    const cfg = config({
      targets: [
        {
          name: 'redir',
          type: 'elb',
          host: 'redirect.security.elb.test',
          port: elbPort,
          timeoutMs: PROBE_TIMEOUT_MS,
          probe: { protocol: 'http', path: '/health' },
        },
        {
          name: 'redir-web',
          type: 'web-tier',
          url: `http://${WEB}:${webPort}/health`,
          upstream: 'redir',
          echo: { path: '/whoami' },
          timeoutMs: PROBE_TIMEOUT_MS,
        },
      ],
    });
    // Act
    const report = await runCheck(cfg, { store: new MemoryStore(), notifier: new RecordingNotifier(), clock: new ManualClock(), newResolver: resolver() });
    // Assess: the 302 is just a status; nobody went elsewhere.
    expect(targetReport(report, 'redir').probes).toMatchObject([{ address: REDIRECTOR, ok: true, status: 302 }]);
    expect(targetReport(report, 'redir-web').web).toMatchObject({ ok: true, status: 302 });
    expect(elsewhereHits).toBe(0);
  });

  /** One check of a web tier `<prefix>-web` on WEB:port (echo /whoami) in front of a TCP-probed upstream. */
  async function checkTierAt(prefix: string, port: number) {
    dns.setA(`${prefix}.security.elb.test`, [REDIRECTOR]);
    const cfg = config({
      targets: [
        { name: 'up', type: 'elb', host: `${prefix}.security.elb.test`, port: 1, timeoutMs: PROBE_TIMEOUT_MS, probe: { protocol: 'tcp', path: '/' } },
        { name: `${prefix}-web`, type: 'web-tier', url: `http://${WEB}:${port}/index`, upstream: 'up', echo: { path: '/whoami' }, timeoutMs: PROBE_TIMEOUT_MS },
      ],
    });
    return runCheck(cfg, { store: new MemoryStore(), notifier: new RecordingNotifier(), clock: new ManualClock(), newResolver: resolver() });
  }

  it('web-tier bodies are read with a cap: an 8 MB page and an endless echo end the check quickly', async () => {
    // Prepare
    const big = Buffer.alloc(BIG_BODY_BYTES, 'z');
    const port = await lo.http((req, res) => {
      if (req.url === '/whoami') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        const drip = () => {
          if (!res.destroyed && res.write(Buffer.alloc(16 * 1024, 'w'))) setImmediate(drip);
          else if (!res.destroyed) res.once('drain', drip);
        };
        res.once('close', () => res.removeAllListeners('drain'));
        return drip();
      }
      res.writeHead(200, { 'content-length': big.length }).end(big);
    }, WEB);
    // Act
    const report = await checkTierAt('capped', port);
    // Assess: the page is fine (truncated read), the echo is "no address", and both ended well within the timeout.
    const web = targetReport(report, 'capped-web').web!;
    expect(web).toMatchObject({ ok: true, status: 200 });
    expect(web.latencyMs).toBeLessThan(PROBE_TIMEOUT_MS);
    expect(web.echo).toMatchObject({ ok: false });
    expect(JSON.stringify(report).length).toBeLessThan(BIG_BODY_BYTES / 100);
  });

  it('an echo answer cut at the body cap is not read as an address, even when it starts with one', async () => {
    // Prepare: the echo says OLD, then pads past the 64 KB cap (what a truncated read would see as "OLD").
    const port = await lo.http((req, res) => res.writeHead(200).end(req.url === '/whoami' ? `${OLD}${' '.repeat(128 * 1024)}` : 'ok'), WEB);
    // Act
    const report = await checkTierAt('truncated', port);
    // Assess
    expect(targetReport(report, 'truncated-web').web?.echo).toEqual({ ok: false, message: 'the echo answer was larger than the body cap' });
  });

  it('a slow web tier whose echo names a current upstream address is not "suspected" stale (the echo is evidence against it)', async () => {
    // Prepare: an upstream that moved OLD -> NEW (OLD still answers), a tier whose echo always says NEW.
    let delayMs = 0;
    const servers = await listenSamePort([OLD, NEW], () => createHttpServer((_req, res) => res.writeHead(200).end('ok')));
    const webPort = await lo.http((req, res) => {
      setTimeout(() => res.writeHead(200).end(req.url === '/whoami' ? NEW : 'ok'), req.url === '/whoami' ? 0 : delayMs);
    }, WEB);
    try {
      const name = 'slowecho.security.elb.test';
      const cfg = config({
        targets: [
          { name: 'slow-up', type: 'elb', host: name, port: servers.port, timeoutMs: PROBE_TIMEOUT_MS, probe: { protocol: 'http', path: '/health' } },
          {
            name: 'slow-web',
            type: 'web-tier',
            url: `http://${WEB}:${webPort}/health`,
            upstream: 'slow-up',
            echo: { path: '/whoami' },
            timeoutMs: PROBE_TIMEOUT_MS,
          },
        ],
      });
      const clock = new ManualClock();
      const deps: CheckDeps = { store: new MemoryStore(), notifier: new RecordingNotifier(), clock, newResolver: resolver() };
      dns.setA(name, [OLD]);
      for (let i = 0; i < 3; i++) {
        await runCheck(cfg, deps);
        clock.advance(MS_PER_MINUTE);
      }
      dns.setA(name, [NEW]);
      await runCheck(cfg, deps);
      clock.advance(2 * MS_PER_MINUTE);
      // Act: the tier is now slow (>3x its median and +250 ms), past the TTL after OLD retired.
      delayMs = 600;
      const report = await runCheck(cfg, deps);
      // Assess
      expect(targetReport(report, 'slow-web').web).toMatchObject({ ok: true, echo: { ok: true, address: NEW } });
      expect(targetReport(report, 'slow-web').web!.latencyMs).toBeGreaterThanOrEqual(delayMs);
      expect(report.findings.filter((f) => f.target === 'slow-web').map((f) => f.kind)).toEqual([]);
    } finally {
      await servers.close();
    }
  });

  describe('no secrets in logs, notices or reports', () => {
    const HARMLESS_URL_DATA = 'build=2024.06&lang=en';

    it('a config carrying a secret is refused, and the error does not repeat it', () => {
      // Prepare
      const secret = 'hunter2-d0nt-l0g-me';
      const inputs = [
        { url: `http://web.example.com/status?token=${secret}`, where: 'targets[1].url' },
        { url: `http://web.example.com/status/AKIAIOSFODNN7EXAMPLE?x=${secret}`, where: 'targets[1].url' },
        { url: `http://user:${secret}@web.example.com/status`, where: 'targets[1].url' },
      ];
      for (const { url, where } of inputs) {
        // Act
        let error: unknown;
        try {
          parseConfig({
            targets: [
              { name: 'app', type: 'elb', host: 'app.example.com', port: 80 },
              { name: 'web', type: 'web-tier', url, upstream: 'app' },
            ],
          });
        } catch (err) {
          error = err;
        }
        // Assess
        expect(error).toBeInstanceOf(ConfigError);
        expect((error as ConfigError).issues.every((i) => i.startsWith(`${where}: `))).toBe(true);
        expect((error as ConfigError).message).not.toContain(secret);
        expect((error as ConfigError).message).not.toContain('AKIA');
      }
    });

    it('checks of a config whose URLs carry harmless data produce notices, logs and reports without credential-looking strings', async () => {
      // Prepare: an ELB whose only node refuses, then moves; a web tier answering 502 at a URL with query data.
      const closedPort = await lo.closedPort(OLD);
      const webPort = await lo.http((_req, res) => res.writeHead(502, { server: 'nginx/1.25' }).end('bad gateway'), WEB);
      dns.setA('logs.security.elb.test', [OLD]);
      const cfg = config({
        targets: [
          {
            name: 'app',
            type: 'elb',
            host: 'logs.security.elb.test',
            port: closedPort,
            timeoutMs: PROBE_TIMEOUT_MS,
            probe: { protocol: 'http', path: '/health/check?shard=7&region=eu-west-1' },
          },
          {
            name: 'web',
            type: 'web-tier',
            url: `http://${WEB}:${webPort}/status?${HARMLESS_URL_DATA}`,
            upstream: 'app',
            echo: { path: '/whoami?format=text' },
            timeoutMs: PROBE_TIMEOUT_MS,
          },
        ],
      });
      const lines: string[] = [];
      const logger: EngineLogger = {
        info: (m, e) => lines.push(JSON.stringify({ level: 'info', m, e })),
        warn: (m, e) => lines.push(JSON.stringify({ level: 'warn', m, e })),
        error: (m, e) => lines.push(JSON.stringify({ level: 'error', m, e })),
      };
      let failFirst = true;
      const notifier = new RecordingNotifier(() => {
        const fail = failFirst;
        failFirst = false;
        return fail;
      });
      const clock = new ManualClock();
      const deps: CheckDeps = { store: new MemoryStore(), notifier, clock, logger, newResolver: resolver() };
      // Act: two checks; the address moves in between; one notice fails (logged).
      const first = await runCheck(cfg, deps);
      dns.setA('logs.security.elb.test', [NEW]);
      clock.advance(MS_PER_MINUTE);
      const second = await runCheck(cfg, deps);
      // Assess: everything a person or a log pipeline sees.
      const notices = notifier.delivered.map(formatNotice);
      const text = [
        ...notices.flatMap((n) => [n.subject, n.body, JSON.stringify(n.attributes)]),
        ...lines,
        JSON.stringify(first),
        JSON.stringify(second),
        formatFindings([...first.findings, ...second.findings], false),
      ].join('\n');
      expect(notices.length).toBeGreaterThanOrEqual(3);
      expect(lines.length).toBeGreaterThan(0);
      expect(text).toContain(HARMLESS_URL_DATA); // the URL's data did flow through...
      expect(credentialsIn(text)).toEqual([]); // ...and nothing credential-like did
    });
  });
});
