import { Buffer } from 'node:buffer';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HttpWireError, MAX_HEAD_BYTES, ResponseReader, requestHead } from '../../src/core/probe/http-wire.ts';
import type { WireResponse } from '../../src/core/probe/http-wire.ts';

const MAX_BODY = 64;

/** Feeds `parts` in order, then the close when `close`; the response or the error thrown. */
function read(parts: readonly (string | Buffer)[], opts: { max?: number; close?: boolean } = {}): WireResponse | Error | undefined {
  const reader = new ResponseReader(opts.max ?? MAX_BODY);
  try {
    for (const p of parts) {
      const r = reader.push(typeof p === 'string' ? Buffer.from(p, 'latin1') : p);
      if (r) return r;
    }
    return opts.close === false ? undefined : reader.end();
  } catch (err) {
    return err as Error;
  }
}

describe('requestHead', () => {
  it('writes one GET with Host, User-Agent and Connection: close', () => {
    // Act
    const head = requestHead('/health?x=1', 'api.internal:8080', 'ipdrift/0.1');
    // Assess
    expect(head).toBe('GET /health?x=1 HTTP/1.1\r\nHost: api.internal:8080\r\nUser-Agent: ipdrift/0.1\r\nConnection: close\r\n\r\n');
  });

  it('refuses a path that would need escaping, as Node http does', () => {
    // Act + Assess
    expect(() => requestHead('/a b', 'h', 'ua')).toThrow('request path contains characters that must be escaped: "/a b"');
    expect(() => requestHead('/\u0100', 'h', 'ua')).toThrow(/must be escaped/);
  });
});

describe('ResponseReader', () => {
  it('reads status, Server and a Content-Length body, complete before the close', () => {
    // Act
    const r = read(['HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Length: 5\r\n\r\nhello'], { close: false });
    // Assess
    expect(r).toEqual({ status: 200, server: 'nginx', body: 'hello', truncated: false });
  });

  it('joins several Server headers and keeps a status line without a reason', () => {
    // Act
    const r = read(['HTTP/1.0 503\r\nserver: a\r\nSERVER: b\r\n\r\ndown']);
    // Assess
    expect(r).toEqual({ status: 503, server: 'a, b', body: 'down', truncated: false });
  });

  it('reads a chunked body, extensions and all, and stops at the last chunk', () => {
    // Act
    const r = read(['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;name=v\r\nWiki\r\n5\r\npedia\r\n0\r\nTrailer: x\r\n\r\n'], { close: false });
    // Assess
    expect(r).toEqual({ status: 200, body: 'Wikipedia', truncated: false });
  });

  it('skips interim 1xx answers and has no body for 204 and 304', () => {
    // Act
    const interim = read(['HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'], {
      close: false,
    });
    const noContent = read(['HTTP/1.1 204 No Content\r\nContent-Length: 9\r\n\r\n'], { close: false });
    const notModified = read(['HTTP/1.1 304 Not Modified\r\n\r\n'], { close: false });
    // Assess
    expect(interim).toEqual({ status: 200, body: 'ok', truncated: false });
    expect(noContent).toEqual({ status: 204, body: '', truncated: false });
    expect(notModified).toEqual({ status: 304, body: '', truncated: false });
  });

  it('reads a body without framing up to the close', () => {
    // Act
    const open = read(['HTTP/1.1 200 OK\r\n\r\n10.0.1.5'], { close: false });
    const closed = read(['HTTP/1.1 200 OK\r\n\r\n10.0.1.5']);
    // Assess
    expect(open).toBeUndefined();
    expect(closed).toEqual({ status: 200, body: '10.0.1.5', truncated: false });
  });

  it('stops at maxBodyBytes, in every framing, and flags only a body that was longer', () => {
    // Act
    const long = read(['HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n', 'x'.repeat(70)], { close: false });
    const exact = read([`HTTP/1.1 200 OK\r\nContent-Length: ${MAX_BODY}\r\n\r\n${'y'.repeat(MAX_BODY)}`], { close: false });
    const chunked = read(['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n', `50\r\n${'z'.repeat(80)}`], { close: false });
    const endless = read(['HTTP/1.1 200 OK\r\n\r\n', 'w'.repeat(40), 'w'.repeat(40)], { close: false });
    // Assess
    expect(long).toEqual({ status: 200, body: 'x'.repeat(MAX_BODY), truncated: true });
    expect(exact).toEqual({ status: 200, body: 'y'.repeat(MAX_BODY), truncated: false });
    expect(chunked).toEqual({ status: 200, body: 'z'.repeat(MAX_BODY), truncated: true });
    expect(endless).toEqual({ status: 200, body: 'w'.repeat(MAX_BODY), truncated: true });
  });

  it('refuses what is not HTTP on its first bytes, without waiting for more', () => {
    // Act
    const ssh = read(['SSH-2.0-OpenSSH_9.6\r\n'], { close: false });
    const tiny = read(['HT']);
    // Assess
    expect(ssh).toBeInstanceOf(HttpWireError);
    expect(ssh).toMatchObject({ code: 'HPE_INVALID_CONSTANT', message: 'expected an HTTP status line, got "SSH-2.0-OpenSSH_9.6"' });
    expect(tiny).toMatchObject({ code: 'HPE_INVALID_CONSTANT', message: 'expected an HTTP status line, got "HT"' });
  });

  it('refuses a bad status line, header line, Content-Length or chunk size, naming it', () => {
    // Act + Assess
    expect(read(['HTTP/1.1 2000 OK\r\n\r\n'])).toMatchObject({ code: 'HPE_INVALID_CONSTANT', message: 'invalid HTTP status line "HTTP/1.1 2000 OK"' });
    expect(read(['HTTP/1.1 200 OK\r\nno colon here\r\n\r\n'])).toMatchObject({
      code: 'HPE_INVALID_HEADER_TOKEN',
      message: 'invalid response header line "no colon here"',
    });
    expect(read(['HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n'])).toMatchObject({
      code: 'HPE_INVALID_CONTENT_LENGTH',
      message: 'invalid Content-Length "6"',
    });
    expect(read(['HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n'])).toMatchObject({ code: 'HPE_INVALID_CONTENT_LENGTH' });
    expect(read(['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n'])).toMatchObject({
      code: 'HPE_INVALID_CHUNK_SIZE',
      message: 'invalid chunk size "zz"',
    });
    expect(read(['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nokXX'])).toMatchObject({ code: 'HPE_STRICT' });
  });

  it('refuses bare LF line ends in the head at once, and leaves the body alone', () => {
    // Act
    const bare = read(['HTTP/1.1 200 OK\nServer: x\n\n'], { close: false });
    const split = read(['HTTP/1.1 200 OK\r', '\nServer: x\r\n\r\n10.0.1.5\n'], { close: false });
    // Assess
    expect(bare).toMatchObject({ code: 'HPE_CR_EXPECTED' });
    expect(split).toBeUndefined();
    expect(read(['HTTP/1.1 200 OK\r', '\nServer: x\r\n\r\n10.0.1.5\n'])).toEqual({ status: 200, server: 'x', body: '10.0.1.5\n', truncated: false });
  });

  it('refuses a head larger than the cap, with or without its end', () => {
    // Prepare
    const big = `HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(MAX_HEAD_BYTES)}`;
    // Act
    const endless = read([big, 'a'], { close: false });
    const ended = read([`${big}\r\n\r\n`], { close: false });
    // Assess
    expect(endless).toMatchObject({ code: 'HPE_HEADER_OVERFLOW', message: `response headers larger than ${MAX_HEAD_BYTES} bytes` });
    expect(ended).toMatchObject({ code: 'HPE_HEADER_OVERFLOW' });
  });

  it('calls a close before the response ended a reset', () => {
    // Act
    const nothing = read([]);
    const midHead = read(['HTTP/1.1 200 OK\r\nServer: x']);
    const midBody = read(['HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc']);
    const midChunks = read(['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n']);
    // Assess
    expect(nothing).toMatchObject({ code: 'ECONNRESET', message: 'connection closed before any response' });
    expect(midHead).toMatchObject({ code: 'ECONNRESET', message: 'connection closed before the response headers ended' });
    expect(midBody).toMatchObject({ code: 'ECONNRESET', message: 'connection closed before the response ended' });
    expect(midChunks).toMatchObject({ code: 'ECONNRESET' });
  });

  it('gives the same answer however the bytes are split across reads', () => {
    // Prepare: responses in each framing (bodies under and over the cap), cut at random points
    const response = fc
      .record({
        status: fc.constantFrom(200, 302, 404, 503),
        server: fc.option(fc.constantFrom('nginx', 'Apache/2.4', 'awselb/2.0'), { nil: undefined }),
        body: fc.string({ maxLength: 100 }).map((s) => s.replace(/[^\x20-\x7e]/g, '.')),
        framing: fc.constantFrom('length', 'chunked', 'close'),
        interim: fc.boolean(),
        chunkSize: fc.integer({ min: 1, max: 20 }),
      })
      .map((r) => {
        let body = r.body;
        const headers = [`HTTP/1.1 ${r.status} X`, ...(r.server ? [`Server: ${r.server}`] : [])];
        if (r.framing === 'length') headers.push(`Content-Length: ${body.length}`);
        if (r.framing === 'chunked') {
          headers.push('Transfer-Encoding: chunked');
          const chunks: string[] = [];
          for (let i = 0; i < body.length; i += r.chunkSize) {
            const c = body.slice(i, i + r.chunkSize);
            chunks.push(`${c.length.toString(16)}\r\n${c}\r\n`);
          }
          body = `${chunks.join('')}0\r\n\r\n`;
        }
        const wire = `${r.interim ? 'HTTP/1.1 100 Continue\r\n\r\n' : ''}${headers.join('\r\n')}\r\n\r\n${body}`;
        return {
          wire,
          expected: { status: r.status, ...(r.server ? { server: r.server } : {}), body: r.body.slice(0, MAX_BODY), truncated: r.body.length > MAX_BODY },
        };
      });
    const property = fc.property(response, fc.array(fc.nat(), { maxLength: 8 }), ({ wire, expected }, cuts) => {
      const points = [...new Set(cuts.map((c) => c % (wire.length + 1)))].sort((a, b) => a - b);
      const parts = [0, ...points].map((p, i, all) => wire.slice(p, all[i + 1] ?? wire.length));
      // Act
      const r = read(parts);
      // Assess
      expect(r).toEqual(expected);
    });
    fc.assert(property, { numRuns: 500 });
  });
});
