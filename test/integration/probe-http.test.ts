import type { IncomingHttpHeaders } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { LIMITS } from '../../src/core/constants.ts';
import { runProbe } from '../../src/core/probe/run.ts';
import type { ProbeSpec } from '../../src/core/probe/types.ts';
import { Loopback, certPair, selfSignedCert } from './probe-servers.ts';

const TIMEOUT_MS = 300;
const HOST = 'app.internal';
const ONE_MB = 1024 * 1024;
const SMALL_BODY_LIMIT = 1024;
const DRIP_INTERVAL_MS = 20;

const spec = (protocol: 'http' | 'https', port: number, extra: Partial<ProbeSpec> = {}): ProbeSpec => ({
  protocol,
  host: HOST,
  port,
  path: '/health',
  maxBodyBytes: LIMITS.maxBodyBytes,
  ...extra,
});

describe('http probe', () => {
  const lo = new Loopback();
  afterEach(() => lo.close());

  it('GETs the path with Host = the target name and reports status, server and body', async () => {
    // Prepare
    const seen: { method?: string; url?: string; headers?: IncomingHttpHeaders } = {};
    const port = await lo.http((req, res) => {
      Object.assign(seen, { method: req.method, url: req.url, headers: req.headers });
      res.writeHead(200, { Server: 'nginx/1.25' }).end('ok');
    }, '127.0.0.4');
    // Act
    const r = await runProbe('127.0.0.4', spec('http', port), { timeoutMs: TIMEOUT_MS });
    // Assess
    expect(r).toMatchObject({ ok: true, status: 200, server: 'nginx/1.25', identity: 'http:nginx/1.25', body: 'ok', address: '127.0.0.4', protocol: 'http' });
    expect(seen.method).toBe('GET');
    expect(seen.url).toBe('/health');
    expect(seen.headers?.host).toBe(`${HOST}:${port}`);
    expect(seen.headers?.['user-agent']).toBe('ipdrift/0.1');
    expect(seen.headers?.connection).toBe('close');
  });

  it('fails with http-status for a 500', async () => {
    // Prepare
    const port = await lo.http((_req, res) => res.writeHead(500).end('boom'));
    // Act
    const r = await runProbe('127.0.0.1', spec('http', port), { timeoutMs: TIMEOUT_MS });
    // Assess
    expect(r.ok).toBe(false);
    expect(r.status).toBe(500);
    expect(r.error).toEqual({ code: 'http-status', message: 'HTTP 500 (expected 200-399)' });
    expect(r.identity).toBe('http:');
  });

  it('checks the status against expectStatus when given', async () => {
    // Prepare
    const port = await lo.http((_req, res) => res.writeHead(204).end());
    // Act
    const r = await runProbe('127.0.0.1', spec('http', port, { expectStatus: [200] }), { timeoutMs: TIMEOUT_MS });
    // Assess
    expect(r.error).toEqual({ code: 'http-status', message: 'HTTP 204 (expected 200)' });
  });

  it('does not follow a redirect to another host', async () => {
    // Prepare
    let elsewhereHits = 0;
    const elsewhere = await lo.http((_req, res) => {
      elsewhereHits += 1;
      res.end('elsewhere');
    }, '127.0.0.5');
    const port = await lo.http((_req, res) => res.writeHead(302, { Location: `http://127.0.0.5:${elsewhere}/` }).end());
    // Act
    const r = await runProbe('127.0.0.1', spec('http', port), { timeoutMs: TIMEOUT_MS });
    // Assess
    expect(r).toMatchObject({ ok: true, status: 302 });
    expect(elsewhereHits).toBe(0);
  });

  it('reads an oversized body only up to maxBodyBytes and flags it truncated', async () => {
    // Prepare
    const port = await lo.http((_req, res) => res.end('x'.repeat(ONE_MB)));
    // Act
    const r = await runProbe('127.0.0.1', spec('http', port, { maxBodyBytes: SMALL_BODY_LIMIT }), { timeoutMs: TIMEOUT_MS });
    // Assess
    expect(r.ok).toBe(true);
    expect(r.body).toHaveLength(SMALL_BODY_LIMIT);
    expect(r.details).toEqual({ truncated: true });
  });

  it('does not flag a body of exactly maxBodyBytes', async () => {
    // Prepare
    const port = await lo.http((_req, res) => res.end('y'.repeat(SMALL_BODY_LIMIT)));
    // Act
    const r = await runProbe('127.0.0.1', spec('http', port, { maxBodyBytes: SMALL_BODY_LIMIT }), { timeoutMs: TIMEOUT_MS });
    // Assess
    expect(r.body).toHaveLength(SMALL_BODY_LIMIT);
    expect(r.details).toBeUndefined();
  });

  it('settles by the timeout when the body drips forever', async () => {
    // Prepare
    const port = await lo.http((_req, res) => {
      res.writeHead(200);
      const drip = setInterval(() => res.write('.'), DRIP_INTERVAL_MS);
      res.once('close', () => clearInterval(drip));
    });
    // Act
    const r = await runProbe('127.0.0.1', spec('http', port), { timeoutMs: TIMEOUT_MS });
    // Assess
    expect(r.error).toEqual({ code: 'timeout', message: `no answer within ${TIMEOUT_MS} ms` });
    expect(r.latencyMs).toBeLessThan(TIMEOUT_MS * 3);
  });

  it('times out against a listener that never answers', async () => {
    // Prepare
    const port = await lo.swallow();
    // Act
    const r = await runProbe('127.0.0.1', spec('http', port), { timeoutMs: TIMEOUT_MS });
    // Assess
    expect(r.error?.code).toBe('timeout');
  });

  it('reports protocol for a malformed response and reset for a dropped connection', async () => {
    // Prepare
    const garbage = await lo.raw((socket) => socket.end('SSH-2.0-OpenSSH_9.6\r\n\r\n'));
    const dropper = await lo.raw((socket) => socket.destroy());
    // Act
    const [g, d] = await Promise.all([
      runProbe('127.0.0.1', spec('http', garbage), { timeoutMs: TIMEOUT_MS }),
      runProbe('127.0.0.1', spec('http', dropper), { timeoutMs: TIMEOUT_MS }),
    ]);
    // Assess
    expect(g.error?.code).toBe('protocol');
    expect(d.error).toEqual({ code: 'reset', message: `connection reset by 127.0.0.1:${dropper}` });
  });
});

describe('https probe', () => {
  const lo = new Loopback();
  const certs = certPair(HOST);
  afterEach(() => lo.close());

  it('sends SNI and Host = the target name and reports the certificate', async () => {
    // Prepare
    const seen: { sni?: string | false | null; host?: string } = {};
    const port = await lo.https(certs.app, (req, res) => {
      seen.sni = (req.socket as TLSSocket).servername;
      seen.host = req.headers.host;
      res.writeHead(200, { Server: 'app' }).end('ok');
    });
    // Act
    const r = await runProbe('127.0.0.1', spec('https', port, { insecureTls: true }), { timeoutMs: TIMEOUT_MS });
    // Assess
    expect(r).toMatchObject({ ok: true, status: 200, server: 'app', identity: 'http:app', body: 'ok' });
    expect(r.tls).toMatchObject({ subject: HOST, nameMatches: true });
    expect(seen).toEqual({ sni: HOST, host: `${HOST}:${port}` });
  });

  it('fails with cert-name-mismatch for a certificate of another name, keeping status and tls', async () => {
    // Prepare
    const port = await lo.https(certs.other, (_req, res) => res.end('someone else'));
    // Act
    const r = await runProbe('127.0.0.1', spec('https', port, { insecureTls: true }), { timeoutMs: TIMEOUT_MS });
    // Assess
    expect(r.ok).toBe(false);
    expect(r.error?.code).toBe('cert-name-mismatch');
    expect(r.status).toBe(200);
    expect(r.tls).toMatchObject({ altNames: ['other.internal'], nameMatches: false });
  });

  it('under insecureTls, an expired certificate fails with tls at the handshake, not after a body that never ends', async () => {
    // Prepare: expired (2020-2021); the server would drip a body forever.
    const expired = await selfSignedCert(HOST, { notBeforeDate: new Date('2020-01-01T00:00:00Z'), notAfterDate: new Date('2021-01-01T00:00:00Z') });
    let requests = 0;
    const port = await lo.https(expired, (_req, res) => {
      requests++;
      res.writeHead(200);
      const drip = setInterval(() => res.write('x'), DRIP_INTERVAL_MS);
      res.on('close', () => clearInterval(drip));
    });
    // Act
    const r = await runProbe('127.0.0.1', spec('https', port, { insecureTls: true }), { timeoutMs: TIMEOUT_MS });
    // Assess: refused before any request was sent, well inside the timeout.
    expect(r).toMatchObject({ ok: false, error: { code: 'tls', message: expect.stringContaining('CERT_HAS_EXPIRED') } });
    expect(r.tls).toMatchObject({ subject: HOST });
    expect(r.latencyMs).toBeLessThan(TIMEOUT_MS);
    expect(requests).toBe(0);
  });

  it('fails with tls for an untrusted certificate without insecureTls', async () => {
    // Prepare
    const port = await lo.https(certs.app, (_req, res) => res.end('ok'));
    // Act
    const r = await runProbe('127.0.0.1', spec('https', port), { timeoutMs: TIMEOUT_MS });
    // Assess
    expect(r.ok).toBe(false);
    expect(r.error?.code).toBe('tls');
  });
});
