/**
 * Hostile and broken listeners behind a name, probed by whole checks: connections reset, peers
 * that never answer, oversized, endless and slowloris responses, oversized headers, non-HTTP
 * garbage and TLS with someone else's certificate. Each check ends within the probe timeout
 * (plus grace), reads bounded bodies, and reports the fault as a finding with its code.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCheck } from '../../src/core/check.ts';
import type { ProbeErrorCode } from '../../src/core/types.ts';
import { MemoryStore } from '../../src/adapters/local/memory-store.ts';
import { LabDnsServer } from '../../lab/dns-server.ts';
import { Loopback, selfSignedCert } from '../integration/probe-servers.ts';
import {
  DEADLINE_GRACE_MS,
  FAULT_BLOCKS,
  ManualClock,
  RecordingNotifier,
  config,
  labResolvers,
  loopbackAddress,
  stateViolations,
  targetReport,
} from './harness.ts';

const BLOCK = FAULT_BLOCKS.listeners;
const DNS_HOST = loopbackAddress(BLOCK, 1);
const DNS_TIMEOUT_MS = 500;
const PROBE_TIMEOUT_MS = 300;
const DEADLINE_MS = 5000;
/** The probe's body cap (LIMITS.maxBodyBytes). */
const BODY_CAP_BYTES = 64 * 1024;
/** What the oversized response announces and would send. */
const OVERSIZED_BYTES = 32 * 1024 * 1024;
const CHUNK_BYTES = 16 * 1024;
/** Upper bound of chunks an endless writer sends before giving up on its own (never reached). */
const ENDLESS_MAX_CHUNKS = 100_000;
/** Slowloris: one header byte every this many ms, at most this many bytes. */
const DRIP_INTERVAL_MS = 20;
const DRIP_MAX_BYTES = 500;
/** Node's HTTP parser limit is 16 KB of headers; send far more. */
const HUGE_HEADER_BYTES = 100 * 1024;
const TARGET_NAME = 'svc.listeners.elb.test';

/** Writes `chunk` until the peer goes away (or ENDLESS_MAX_CHUNKS), honouring back-pressure. */
function pumpForever(res: ServerResponse, chunk: Buffer, stats: { bytes: number; closed: boolean }): void {
  let sent = 0;
  res.once('close', () => (stats.closed = true));
  const pump = () => {
    while (!stats.closed && sent < ENDLESS_MAX_CHUNKS) {
      sent++;
      stats.bytes += chunk.length;
      if (!res.write(chunk)) {
        res.once('drain', pump);
        return;
      }
    }
    if (!stats.closed) res.end();
  };
  pump();
}

/** Sends one header byte every DRIP_INTERVAL_MS, never ending the header block. */
function slowloris(socket: Socket, stats: { bytes: number; closed: boolean }): void {
  socket.write('HTTP/1.1 200 OK\r\nX-Drip: ');
  const timer = setInterval(() => {
    if (socket.destroyed || stats.bytes >= DRIP_MAX_BYTES) {
      clearInterval(timer);
      socket.destroy();
      return;
    }
    stats.bytes++;
    socket.write('a');
  }, DRIP_INTERVAL_MS);
  socket.once('close', () => {
    stats.closed = true;
    clearInterval(timer);
  });
}

/** A raw listener whose sockets ignore peer resets (the probe hangs up on purpose). */
const raw = (lo: Loopback, host: string, onSocket: (s: Socket) => void) =>
  lo.raw((s) => {
    s.on('error', () => undefined);
    onSocket(s);
  }, host);

interface Case {
  name: string;
  protocol: 'http' | 'tls';
  /** Starts the listener on `host`; returns its port. */
  start(lo: Loopback, host: string): Promise<number>;
  /** Expected probe error code; undefined: the probe succeeds. */
  code?: ProbeErrorCode;
  /** Expect the body to have been cut at the cap. */
  truncated?: boolean;
}

const stats = { oversized: { bytes: 0, closed: false }, endless: { bytes: 0, closed: false }, slowloris: { bytes: 0, closed: false } };

const CASES: Case[] = [
  { name: 'reset', protocol: 'http', code: 'reset', start: (lo, host) => raw(lo, host, (s) => s.once('data', () => s.resetAndDestroy())) },
  {
    name: 'reset-mid-headers',
    protocol: 'http',
    code: 'reset',
    start: (lo, host) => raw(lo, host, (s) => s.once('data', () => s.write('HTTP/1.1 200 OK\r\nServer: x', () => s.resetAndDestroy()))),
  },
  { name: 'swallow', protocol: 'http', code: 'timeout', start: (lo, host) => lo.swallow(host) },
  { name: 'slowloris-headers', protocol: 'http', code: 'timeout', start: (lo, host) => raw(lo, host, (s) => slowloris(s, stats.slowloris)) },
  {
    name: 'oversized-body',
    protocol: 'http',
    truncated: true,
    start: (lo, host) =>
      lo.http((_req: IncomingMessage, res: ServerResponse) => {
        res.writeHead(200, { 'content-length': OVERSIZED_BYTES });
        pumpForever(res, Buffer.alloc(CHUNK_BYTES, 'x'), stats.oversized);
      }, host),
  },
  {
    name: 'endless-body',
    protocol: 'http',
    truncated: true,
    start: (lo, host) =>
      lo.http((_req: IncomingMessage, res: ServerResponse) => {
        res.writeHead(200, { 'content-type': 'text/plain' }); // chunked, no end
        pumpForever(res, Buffer.alloc(CHUNK_BYTES, 'y'), stats.endless);
      }, host),
  },
  {
    name: 'huge-headers',
    protocol: 'http',
    code: 'protocol',
    start: (lo, host) => raw(lo, host, (s) => s.once('data', () => s.end(`HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(HUGE_HEADER_BYTES)}\r\n\r\n`))),
  },
  { name: 'garbage', protocol: 'http', code: 'protocol', start: (lo, host) => raw(lo, host, (s) => s.end('SSH-2.0-OpenSSH_9.6\r\n')) },
  { name: 'wrong-cert', protocol: 'tls', code: 'cert-name-mismatch', start: async (lo, host) => lo.tls(await selfSignedCert('someone-else.example'), host) },
  { name: 'tls-reset', protocol: 'tls', code: 'reset', start: (lo, host) => raw(lo, host, (s) => s.once('data', () => s.resetAndDestroy())) },
];

describe('hostile listeners during a check', () => {
  const lo = new Loopback();
  let dns: LabDnsServer;
  const ports = new Map<string, number>();

  beforeAll(async () => {
    dns = await LabDnsServer.start({ host: DNS_HOST });
    await Promise.all(
      CASES.map(async (c, i) => {
        const host = loopbackAddress(BLOCK, 10 + i);
        ports.set(c.name, await c.start(lo, host));
        dns.setA(`${c.name}.${TARGET_NAME}`, [host]);
      }),
    );
  });
  afterAll(async () => {
    await lo.close();
    await dns.stop();
  });

  it.each(CASES.map((c, i) => [c.name, c, i] as const))('%s: the check ends in time and reports it', async (name, c, i) => {
    // Prepare
    const host = loopbackAddress(BLOCK, 10 + i);
    const cfg = config({
      targets: [
        {
          name,
          type: 'elb',
          host: `${name}.${TARGET_NAME}`,
          port: ports.get(name)!,
          timeoutMs: PROBE_TIMEOUT_MS,
          probe: { protocol: c.protocol, path: '/health' },
        },
      ],
    });
    const store = new MemoryStore();
    const notifier = new RecordingNotifier();
    // Act
    const t0 = performance.now();
    const report = await runCheck(cfg, {
      store,
      notifier,
      clock: new ManualClock(),
      newResolver: labResolvers(dns.address, DNS_TIMEOUT_MS),
      deadlineMs: DEADLINE_MS,
      insecureTls: true,
    });
    const elapsedMs = performance.now() - t0;
    // Assess: bounded by the probe timeout, the fault named, the state consistent.
    expect(elapsedMs).toBeLessThan(PROBE_TIMEOUT_MS + DEADLINE_GRACE_MS);
    const t = targetReport(report, name);
    expect(t.completed).toBe(true);
    const probe = t.probes.find((p) => p.address === host);
    expect(probe).toBeDefined();
    expect(probe).not.toHaveProperty('body');
    const state = store.states.get(name)!;
    expect(stateViolations(state, name)).toEqual([]);
    if (c.code) {
      expect(probe?.error?.code).toBe(c.code);
      expect(report.findings.map((f) => f.kind)).toEqual(['current-address-unhealthy']);
      expect(state.addresses[0]?.lastProbe).toMatchObject({ ok: false, error: probe?.error?.message });
      expect(notifier.delivered.map((d) => `${d.type}:${d.kind}`)).toEqual(['opened:current-address-unhealthy']);
    } else {
      expect(probe).toMatchObject({ ok: true, status: 200 });
      expect(report.findings).toEqual([]);
    }
    if (c.truncated) expect(probe?.details).toEqual({ truncated: true });
  });

  it('body caps: the probe hung up long before the oversized and endless bodies ended', () => {
    // Assess (after the checks above): the servers saw the client leave; what they pushed is
    // bounded by socket buffers, not by the body they meant to send.
    for (const s of [stats.oversized, stats.endless]) {
      expect(s.closed).toBe(true);
      expect(s.bytes).toBeGreaterThan(BODY_CAP_BYTES);
      expect(s.bytes).toBeLessThan(OVERSIZED_BYTES / 2);
    }
    expect(stats.slowloris.bytes).toBeLessThan(DRIP_MAX_BYTES);
  });
});
