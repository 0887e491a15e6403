import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LIMITS } from '../../src/core/constants.ts';
import { parseEcho, probeUrl } from '../../src/core/probe/web.ts';
import { Loopback, selfSignedCert } from './probe-servers.ts';
import type { TestCert } from './probe-servers.ts';

const TIMEOUT_MS = 300;
const opts = { timeoutMs: TIMEOUT_MS, maxBodyBytes: LIMITS.maxBodyBytes };

describe('probeUrl', () => {
  const lo = new Loopback();
  let ipCert: TestCert;
  let nameCert: TestCert;
  beforeAll(async () => {
    [ipCert, nameCert] = await Promise.all([selfSignedCert('127.0.0.1'), selfSignedCert('app.internal')]);
  });
  afterEach(() => lo.close());

  it('GETs the URL with the URL host as Host and returns status, server and body', async () => {
    // Prepare
    let host: string | undefined;
    let url: string | undefined;
    const port = await lo.http((req, res) => {
      host = req.headers.host;
      url = req.url;
      res.writeHead(200, { Server: 'Apache/2.4.58' }).end('healthy');
    }, '127.0.0.6');
    // Act
    const r = await probeUrl(`http://127.0.0.6:${port}/health?deep=1`, opts);
    // Assess
    expect(r).toMatchObject({ ok: true, status: 200, server: 'Apache/2.4.58', body: 'healthy' });
    expect(r.latencyMs).toBeGreaterThanOrEqual(0);
    expect(host).toBe(`127.0.0.6:${port}`);
    expect(url).toBe('/health?deep=1');
  });

  it('reads an echo answer that parseEcho turns into the upstream address', async () => {
    // Prepare
    const port = await lo.http((req, res) => res.end(`${req.socket.localAddress}\n`), '127.0.0.7');
    // Act
    const r = await probeUrl(`http://127.0.0.7:${port}/whoami`, opts);
    // Assess
    expect(r.ok).toBe(true);
    expect(parseEcho(r.body ?? '')).toBe('127.0.0.7');
  });

  it('maps failures like the runner: status, refused, timeout', async () => {
    // Prepare
    const failing = await lo.http((_req, res) => res.writeHead(502).end('bad gateway'));
    const closed = await lo.closedPort();
    const silent = await lo.swallow();
    // Act
    const [status, refused, timeout] = await Promise.all([
      probeUrl(`http://127.0.0.1:${failing}/`, opts),
      probeUrl(`http://127.0.0.1:${closed}/`, opts),
      probeUrl(`http://127.0.0.1:${silent}/`, opts),
    ]);
    // Assess
    expect(status).toMatchObject({ ok: false, status: 502, body: 'bad gateway', error: { code: 'http-status' } });
    expect(refused.error).toEqual({ code: 'refused', message: `connection refused by 127.0.0.1:${closed}` });
    expect(timeout.error).toEqual({ code: 'timeout', message: `no answer within ${TIMEOUT_MS} ms` });
  });

  it('speaks https, checking the certificate against the URL host', async () => {
    // Prepare
    const covered = await lo.https(ipCert, (_req, res) => res.end('ok'));
    const other = await lo.https(nameCert, (_req, res) => res.end('ok'));
    // Act
    const [good, bad] = await Promise.all([
      probeUrl(`https://127.0.0.1:${covered}/`, { ...opts, insecureTls: true }),
      probeUrl(`https://127.0.0.1:${other}/`, { ...opts, insecureTls: true }),
    ]);
    // Assess
    expect(good).toMatchObject({ ok: true, status: 200, body: 'ok' });
    expect(bad).toMatchObject({ ok: false, status: 200, error: { code: 'cert-name-mismatch', message: 'certificate is for app.internal, not 127.0.0.1' } });
  });

  it('a URL with a name connects to the address the caller resolved; Host and the TLS name stay the name', async () => {
    // Prepare
    const port = await lo.https(nameCert, (req, res) => res.end(req.headers.host ?? ''));
    // Act
    const [resolved, unresolved] = await Promise.all([
      probeUrl(`https://app.internal:${port}/`, { ...opts, insecureTls: true, connect: '127.0.0.1' }),
      probeUrl(`https://app.internal:${port}/`, { ...opts, insecureTls: true }),
    ]);
    // Assess: the certificate for app.internal matches; without an address nothing is sent (no getaddrinfo).
    expect(resolved).toMatchObject({ ok: true, status: 200, body: `app.internal:${port}` });
    expect(unresolved).toMatchObject({ ok: false, latencyMs: 0, error: { code: 'error' } });
  });

  it('rejects an invalid URL or scheme without a request', async () => {
    // Prepare
    const urls = ['not a url', 'ftp://127.0.0.1/'];
    // Act
    const results = await Promise.all(urls.map((u) => probeUrl(u, opts)));
    // Assess
    expect(results.map((r) => r.error?.code)).toEqual(['error', 'error']);
    expect(results.every((r) => !r.ok && r.latencyMs === 0)).toBe(true);
  });
});
