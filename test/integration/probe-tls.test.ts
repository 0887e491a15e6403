import { afterEach, describe, expect, it } from 'vitest';
import { LIMITS } from '../../src/core/constants.ts';
import { runProbe } from '../../src/core/probe/run.ts';
import type { ProbeSpec } from '../../src/core/probe/types.ts';
import { Loopback, certPair, selfSignedCert } from './probe-servers.ts';

const TIMEOUT_MS = 300;
const HOST = 'app.internal';
const spec = (port: number, insecureTls?: boolean): ProbeSpec => ({
  protocol: 'tls',
  host: HOST,
  port,
  path: '/',
  maxBodyBytes: LIMITS.maxBodyBytes,
  ...(insecureTls ? { insecureTls } : {}),
});

describe('tls probe', () => {
  const lo = new Loopback();
  const certs = certPair(HOST);
  afterEach(() => lo.close());

  it('reports the certificate and a matching name with insecureTls', async () => {
    // Prepare
    const port = await lo.tls(certs.app, '127.0.0.3');
    // Act
    const r = await runProbe('127.0.0.3', spec(port, true), { timeoutMs: TIMEOUT_MS });
    // Assess
    expect(r.ok).toBe(true);
    expect(r.tls).toMatchObject({ subject: HOST, altNames: [HOST], nameMatches: true });
    expect(r.tls?.fingerprint256).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    expect(r.tls?.validTo).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    expect(r.identity).toBe(`tls:${r.tls?.fingerprint256}`);
  });

  it('insecureTls forgives a self-signed certificate, not an expired one', async () => {
    // Prepare: self-signed, valid 2020-2021.
    const expired = await selfSignedCert(HOST, { notBeforeDate: new Date('2020-01-01T00:00:00Z'), notAfterDate: new Date('2021-01-01T00:00:00Z') });
    const port = await lo.tls(expired, '127.0.0.3');
    // Act
    const r = await runProbe('127.0.0.3', spec(port, true), { timeoutMs: TIMEOUT_MS });
    // Assess
    expect(r).toMatchObject({ ok: false, error: { code: 'tls', message: expect.stringContaining('CERT_HAS_EXPIRED') } });
  });

  it('fails with cert-name-mismatch for another name, still reporting the certificate', async () => {
    // Prepare
    const port = await lo.tls(certs.other);
    // Act
    const r = await runProbe('127.0.0.1', spec(port, true), { timeoutMs: TIMEOUT_MS });
    // Assess
    expect(r.ok).toBe(false);
    expect(r.error?.code).toBe('cert-name-mismatch');
    expect(r.error?.message).toContain('other.internal');
    expect(r.tls).toMatchObject({ subject: 'other.internal', altNames: ['other.internal'], nameMatches: false });
    expect(r.identity).toMatch(/^tls:[0-9A-F:]+$/);
  });

  it('fails with tls for an untrusted certificate without insecureTls', async () => {
    // Prepare
    const port = await lo.tls(certs.app);
    // Act
    const r = await runProbe('127.0.0.1', spec(port), { timeoutMs: TIMEOUT_MS });
    // Assess
    expect(r.ok).toBe(false);
    expect(r.error?.code).toBe('tls');
    expect(r.error?.message).toMatch(/self[- ]signed/i);
  });

  it('times out against a TCP listener that never completes the handshake', async () => {
    // Prepare
    const port = await lo.swallow();
    // Act
    const r = await runProbe('127.0.0.1', spec(port, true), { timeoutMs: TIMEOUT_MS });
    // Assess
    expect(r.error).toEqual({ code: 'timeout', message: `no answer within ${TIMEOUT_MS} ms` });
    expect(r.latencyMs).toBeGreaterThanOrEqual(TIMEOUT_MS - 1);
  });

  it('fails with tls when the peer does not speak TLS', async () => {
    // Prepare
    const port = await lo.raw((socket) => socket.end('HTTP/1.1 400 Bad Request\r\n\r\n'));
    // Act
    const r = await runProbe('127.0.0.1', spec(port, true), { timeoutMs: TIMEOUT_MS });
    // Assess
    expect(r.ok).toBe(false);
    expect(r.error?.code).toBe('tls');
  });
});
