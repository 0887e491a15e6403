/**
 * The MySQL greeting and PostgreSQL SSLRequest probes against listeners that speak those bytes:
 * the lab's instances (lab/aurora.ts) and raw servers for the malformed cases.
 * Addresses: 127.0.0.5x.
 */
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { LIMITS } from '../../src/core/constants.ts';
import { runProbe } from '../../src/core/probe/run.ts';
import { firstPacket, parseGreeting, MAX_GREETING_BYTES, MysqlGreetingError, MysqlServerError } from '../../src/core/probe/mysql.ts';
import { parseSslAnswer, parseStartupAnswer, PostgresAnswerError, sslRequest, startupMessage, SSL_REQUEST_CODE } from '../../src/core/probe/postgres.ts';
import { LAB_MYSQL_VERSION, LabDbListener, mysqlErrPacket, mysqlGreeting, pgErrorResponse } from '../../lab/aurora.ts';
import type { ProbeSpec } from '../../src/core/probe/types.ts';
import { Loopback, certPair } from './probe-servers.ts';

const TIMEOUT_MS = 300;
const HOST = 'orders.cluster-abc.ap-northeast-2.rds.amazonaws.com';
const spec = (protocol: 'mysql' | 'postgres', port: number): ProbeSpec => ({ protocol, host: HOST, port, path: '/', maxBodyBytes: LIMITS.maxBodyBytes });

/** Resolves with everything a raw server received once the client closed. */
function recording(onSocket: (s: Socket) => void = () => {}) {
  let done: (b: Buffer) => void = () => {};
  const received = new Promise<Buffer>((r) => (done = r));
  const handler = (s: Socket) => {
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('close', () => done(Buffer.concat(chunks)));
    s.on('error', () => undefined);
    onSocket(s);
  };
  return { handler, received };
}

describe('mysql probe', () => {
  const lo = new Loopback();
  const listeners: LabDbListener[] = [];
  afterEach(async () => {
    await Promise.all(listeners.splice(0).map((l) => l.stop()));
    await lo.close();
  });

  it('reads protocol version, server version and connection id, sending nothing', async () => {
    // Prepare: a raw server that sends a greeting and records what the client sends back.
    const rec = recording((s) => s.write(mysqlGreeting('8.0.39-test', 4242)));
    const port = await lo.raw(rec.handler, '127.0.0.51');
    // Act
    const r = await runProbe('127.0.0.51', spec('mysql', port), { timeoutMs: TIMEOUT_MS });
    // Assess
    expect(r).toMatchObject({
      ok: true,
      protocol: 'mysql',
      identity: 'mysql:8.0.39-test',
      details: { protocolVersion: 10, serverVersion: '8.0.39-test', connectionId: 4242 },
    });
    expect((await rec.received).length).toBe(0); // no credentials, no handshake response
  });

  it('works against the lab instance, a new connection id each time', async () => {
    // Prepare
    const l = await LabDbListener.start({ host: '127.0.0.52', engine: 'mysql' });
    listeners.push(l);
    // Act
    const a = await runProbe('127.0.0.52', spec('mysql', l.port), { timeoutMs: TIMEOUT_MS });
    const b = await runProbe('127.0.0.52', spec('mysql', l.port), { timeoutMs: TIMEOUT_MS });
    // Assess
    expect(a.details).toMatchObject({ serverVersion: LAB_MYSQL_VERSION, connectionId: 1 });
    expect(b.details).toMatchObject({ connectionId: 2 });
    expect(l.answered).toBe(2);
  });

  it('reads a greeting that arrives one byte at a time', async () => {
    // Prepare
    const greeting = mysqlGreeting('5.7.12', 7);
    const port = await lo.raw((s) => {
      let i = 0;
      const drip = setInterval(() => (i < greeting.length && !s.destroyed ? s.write(greeting.subarray(i, ++i)) : clearInterval(drip)), 1);
      s.on('close', () => clearInterval(drip));
    }, '127.0.0.53');
    // Act
    const r = await runProbe('127.0.0.53', spec('mysql', port), { timeoutMs: 2000 });
    // Assess
    expect(r).toMatchObject({ ok: true, details: { serverVersion: '5.7.12', connectionId: 7 } });
  });

  it('names ERROR 1129 (host blocked) with the way out', async () => {
    // Prepare
    const l = await LabDbListener.start({ host: '127.0.0.52', engine: 'mysql', mode: 'blocked' });
    listeners.push(l);
    // Act
    const r = await runProbe('127.0.0.52', spec('mysql', l.port), { timeoutMs: TIMEOUT_MS });
    // Assess
    expect(r.ok).toBe(false);
    expect(r.error?.code).toBe('protocol');
    expect(r.error?.message).toContain('ERROR 1129');
    expect(r.error?.message).toContain('FLUSH HOSTS');
    expect(r.details).toEqual({ errorCode: 1129 });
  });

  it.each([
    ['an HTTP server', Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n'), /not a MySQL greeting|protocol version/],
    ['protocol version 9', Buffer.from([5, 0, 0, 0, 9, 0x41, 0, 1, 0]), /protocol version 9, expected 10/],
    ['a greeting cut before the connection id', Buffer.from([4, 0, 0, 0, 10, 0x38, 0, 1]), /truncated before the connection id/],
  ])('fails with protocol for %s', async (_name, bytes, message) => {
    // Prepare
    const port = await lo.raw((s) => s.end(bytes), '127.0.0.54');
    // Act
    const r = await runProbe('127.0.0.54', spec('mysql', port), { timeoutMs: TIMEOUT_MS });
    // Assess
    expect(r.ok).toBe(false);
    expect(r.error?.code).toBe('protocol');
    expect(r.error?.message).toMatch(message);
  });

  it('fails with protocol when the server closes before a complete greeting', async () => {
    // Prepare
    const port = await lo.raw((s) => s.end(mysqlGreeting('8.0.1', 1).subarray(0, 10)), '127.0.0.54');
    // Act
    const r = await runProbe('127.0.0.54', spec('mysql', port), { timeoutMs: TIMEOUT_MS });
    // Assess
    expect(r.error).toEqual({ code: 'protocol', message: `127.0.0.54:${port} closed the connection after 10 byte(s), before a complete greeting` });
  });

  it('times out on a listener that never greets, and honours the outer deadline', async () => {
    // Prepare
    const l = await LabDbListener.start({ host: '127.0.0.55', engine: 'mysql', mode: 'swallow' });
    listeners.push(l);
    const outer = new AbortController();
    // Act
    const timedOut = await runProbe('127.0.0.55', spec('mysql', l.port), { timeoutMs: 100 });
    const aborted = runProbe('127.0.0.55', spec('mysql', l.port), { timeoutMs: 5000, signal: outer.signal });
    setTimeout(() => outer.abort(), 50);
    const abortedResult = await aborted;
    // Assess
    expect(timedOut.error?.code).toBe('timeout');
    expect(abortedResult.error?.code).toBe('aborted');
    expect(abortedResult.latencyMs).toBeLessThan(1000);
  });

  it('reports refused for an instance that is restarting', async () => {
    // Prepare
    const l = await LabDbListener.start({ host: '127.0.0.56', engine: 'mysql', mode: 'refuse' });
    listeners.push(l);
    // Act
    const r = await runProbe('127.0.0.56', spec('mysql', l.port), { timeoutMs: TIMEOUT_MS });
    // Assess
    expect(r.error?.code).toBe('refused');
  });
});

describe('postgres probe', () => {
  const lo = new Loopback();
  const listeners: LabDbListener[] = [];
  afterEach(async () => {
    await Promise.all(listeners.splice(0).map((l) => l.stop()));
    await lo.close();
  });

  /** An authentication request (AuthenticationSASL, SCRAM-SHA-256), as Aurora PostgreSQL sends first. */
  const saslRequest = () => {
    const mech = Buffer.from('SCRAM-SHA-256\0\0');
    const head = Buffer.alloc(9);
    head.write('R', 0, 'latin1');
    head.writeInt32BE(8 + mech.length, 1);
    head.writeInt32BE(10, 5);
    return Buffer.concat([head, mech]);
  };

  it('sends the 8-byte SSLRequest, then after N a StartupMessage naming ipdrift, and stops at the authentication request', async () => {
    // Prepare
    const rec = recording((s) => {
      s.once('data', () => {
        s.write('N');
        s.once('data', () => s.write(saslRequest()));
      });
    });
    const port = await lo.raw(rec.handler, '127.0.0.57');
    // Act
    const r = await runProbe('127.0.0.57', spec('postgres', port), { timeoutMs: TIMEOUT_MS });
    // Assess
    const sent = await rec.received;
    expect(r).toMatchObject({ ok: true, protocol: 'postgres', details: { ssl: false, auth: 'sasl' }, identity: 'postgres:ssl=N' });
    expect([...sent.subarray(0, 8)]).toEqual([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);
    expect(sent.readInt32BE(4)).toBe(SSL_REQUEST_CODE);
    // Nothing after the StartupMessage: no password, no SASL response.
    expect(sent.subarray(8)).toEqual(startupMessage());
    expect(sent.subarray(8).toString('latin1')).toContain('user\0ipdrift\0database\0ipdrift\0application_name\0ipdrift-probe\0\0');
  });

  describe('with TLS', () => {
    const certs = certPair(HOST);
    it.each([
      [true, 'S'],
      [false, 'N'],
    ])('against the lab instance with TLS %s reads %s and gets to the authentication request', async (withTls, answer) => {
      // Prepare
      const l = await LabDbListener.start({ host: '127.0.0.58', engine: 'postgres', ...(withTls ? { tls: certs.app } : {}) });
      listeners.push(l);
      // Act
      const r = await runProbe('127.0.0.58', spec('postgres', l.port), { timeoutMs: TIMEOUT_MS });
      // Assess
      expect(r).toMatchObject({ ok: true, details: { ssl: withTls, auth: 'sasl' }, identity: `postgres:ssl=${answer}` });
      expect(l.answered).toBe(1);
    });
  });

  it('fails for a server that would turn clients away: too many clients (53300), starting up (57P03)', async () => {
    // Prepare
    const l = await LabDbListener.start({ host: '127.0.0.58', engine: 'postgres', mode: 'blocked' });
    listeners.push(l);
    const starting = await lo.raw((s) => {
      s.once('data', () => {
        s.write('N');
        s.once('data', () => s.end(pgErrorResponse('the database system is starting up', '57P03')));
      });
    }, '127.0.0.59');
    // Act
    const full = await runProbe('127.0.0.58', spec('postgres', l.port), { timeoutMs: TIMEOUT_MS });
    const startingUp = await runProbe('127.0.0.59', spec('postgres', starting), { timeoutMs: TIMEOUT_MS });
    // Assess
    expect(full).toMatchObject({ ok: false, details: { sqlState: '53300' } });
    expect(full.error).toEqual({
      code: 'protocol',
      message: `127.0.0.58:${l.port}: PostgreSQL too many connections: sorry, too many clients already (SQLSTATE 53300)`,
    });
    expect(startingUp.error?.message).toBe(`127.0.0.59:${starting}: PostgreSQL not accepting connections: the database system is starting up (SQLSTATE 57P03)`);
  });

  it('takes a login refusal (no such role, 28000) for a server that accepts connections', async () => {
    // Prepare
    const port = await lo.raw((s) => {
      s.once('data', () => {
        s.write('N');
        s.once('data', () => s.end(pgErrorResponse('role "ipdrift" does not exist', '28000')));
      });
    }, '127.0.0.59');
    // Act
    const r = await runProbe('127.0.0.59', spec('postgres', port), { timeoutMs: TIMEOUT_MS });
    // Assess
    expect(r).toMatchObject({ ok: true, details: { ssl: false, refused: { sqlState: '28000', message: 'role "ipdrift" does not exist' } } });
  });

  it('still reads an ErrorResponse to the SSLRequest itself (servers that reject it)', async () => {
    // Prepare
    const port = await lo.raw((s) => s.once('data', () => s.end(pgErrorResponse('unsupported frontend protocol'))), '127.0.0.59');
    // Act
    const r = await runProbe('127.0.0.59', spec('postgres', port), { timeoutMs: TIMEOUT_MS });
    // Assess
    expect(r.error).toEqual({
      code: 'protocol',
      message: `127.0.0.59:${port}: the server answered the SSLRequest with an error: unsupported frontend protocol`,
    });
  });

  it.each([
    ['a MySQL server', mysqlGreeting('8.0.1', 1), /answer byte 0x/],
    ['bytes stuffed after S', Buffer.from('SXYZ'), /3 unexpected byte\(s\) after the SSLRequest answer/],
  ])('fails with protocol for %s', async (_name, bytes, message) => {
    // Prepare
    const port = await lo.raw((s) => s.once('data', () => s.write(bytes)), '127.0.0.59');
    // Act
    const r = await runProbe('127.0.0.59', spec('postgres', port), { timeoutMs: TIMEOUT_MS });
    // Assess
    expect(r.ok).toBe(false);
    expect(r.error?.code).toBe('protocol');
    expect(r.error?.message).toMatch(message);
  });

  it('fails with protocol when the server hangs up, and times out when it never answers', async () => {
    // Prepare
    const hangUp = await lo.raw((s) => s.once('data', () => s.end()), '127.0.0.59');
    const silent = await LabDbListener.start({ host: '127.0.0.60', engine: 'postgres', mode: 'swallow' });
    listeners.push(silent);
    // Act
    const closed = await runProbe('127.0.0.59', spec('postgres', hangUp), { timeoutMs: TIMEOUT_MS });
    const timedOut = await runProbe('127.0.0.60', spec('postgres', silent.port), { timeoutMs: 100 });
    // Assess
    expect(closed.error?.message).toContain('closed the connection without answering the SSLRequest');
    expect(timedOut.error?.code).toBe('timeout');
  });
});

describe('wire parsers', () => {
  it.each([
    ['fewer than 4 bytes', Buffer.from([1, 0]), undefined],
    ['header only', Buffer.from([3, 0, 0, 0]), undefined],
    ['a complete packet', Buffer.from([2, 0, 0, 0, 0xaa, 0xbb, 0xcc]), Buffer.from([0xaa, 0xbb])],
  ])('firstPacket: %s', (_name, bytes, expected) => {
    // Prepare: the table row.
    // Act
    const payload = firstPacket(bytes);
    // Assess
    expect(payload).toEqual(expected);
  });

  it('firstPacket refuses a length over the cap; parseGreeting reads an ERR packet with SQLSTATE', () => {
    // Prepare
    const huge = Buffer.from([0xff, 0xff, 0xff, 0]);
    const err = firstPacket(mysqlErrPacket(1040, 'Too many connections'))!;
    const withState = Buffer.concat([Buffer.from([0xff, 0x10, 0x04]), Buffer.from('#08004Too many connections')]);
    // Act
    const tooLarge = () => firstPacket(huge);
    const plain = () => parseGreeting(err);
    const stated = () => parseGreeting(withState);
    // Assess
    expect(tooLarge).toThrow(MysqlGreetingError);
    expect(tooLarge).toThrow(String(0xffffff));
    expect(MAX_GREETING_BYTES).toBeLessThan(0xffffff);
    expect(plain).toThrow(MysqlServerError);
    expect(plain).toThrow('ERROR 1040: Too many connections');
    expect(stated).toThrow('ERROR 1040 (08004): Too many connections');
  });

  it('parseStartupAnswer skips NoticeResponses before the answer, and waits for a whole message', () => {
    // Prepare
    const fields = Buffer.from('SNOTICE\0C00000\0Mwelcome\0\0');
    const notice = Buffer.concat([Buffer.from('N'), Buffer.alloc(4), fields]);
    notice.writeInt32BE(4 + fields.length, 1);
    const auth = Buffer.from([0x52, 0, 0, 0, 8, 0, 0, 0, 0]);
    const both = Buffer.concat([notice, auth]);
    // Act / Assess
    expect(parseStartupAnswer(both)).toEqual({ accepting: true, auth: 'ok' });
    expect(parseStartupAnswer(both.subarray(0, both.length - 2))).toBeUndefined();
  });

  it('parseSslAnswer waits for a whole ErrorResponse, and sslRequest is 8 bytes', () => {
    // Prepare
    const e = pgErrorResponse('nope');
    // Act
    const partial = parseSslAnswer(e.subarray(0, 7));
    const full = () => parseSslAnswer(e);
    // Assess
    expect(partial).toBeUndefined();
    expect(full).toThrow(PostgresAnswerError);
    expect(full).toThrow('nope');
    expect(parseSslAnswer(Buffer.alloc(0))).toBeUndefined();
    expect(sslRequest().length).toBe(8);
  });
});
