/**
 * The probe's own HTTP/1.1 wire format: one request head, and a reader for the one response
 * that comes back on a `Connection: close` socket. Written by hand because a probe makes a
 * fresh connection every time and Node's `http` client (agent, ClientRequest, IncomingMessage
 * stream, parser binding) cost several times the connection itself per probe; undici keeps
 * its savings for pooled connections (docs/architecture.md, "HTTP probe"). It reads what the
 * probe needs (status, Server, a bounded body) and refuses anything it does not understand.
 */
import { Buffer } from 'node:buffer';
import { connectionReset } from './util.ts';
import { IpdriftError } from '../errors.ts';

/** Response heads larger than this are refused (Node's own default `maxHeaderSize`). */
export const MAX_HEAD_BYTES = 16 * 1024;
/** A chunk-size line longer than this is refused (the size and its extensions). */
const MAX_CHUNK_LINE_BYTES = 1024;
/** How much of a non-HTTP answer an error message repeats. */
const QUOTE_CHARS = 40;

const CRLF = Buffer.from('\r\n');
const HEAD_END = Buffer.from('\r\n\r\n');
const LF = 0x0a;
const CR = 0x0d;
/** Shared by every reader: an empty buffer is never written to. */
const EMPTY = Buffer.alloc(0);
const STATUS_LINE = /^HTTP\/1\.[01] (\d{3})(?: [^\r\n]*)?$/;
/** What a request target may hold without escaping (Node's http refuses the same). */
const INVALID_PATH = /[^\u0021-\u00ff]/;
const DIGITS = /^\d+$/;
const HEX = /^[0-9a-fA-F]+$/;
const HTTP_PREFIX = 'HTTP/';

/** A response the reader refused; `code` follows llhttp's (HPE_*), which the runner maps to 'protocol'. */
export class HttpWireError extends IpdriftError {
  override readonly name = 'HttpWireError';
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

/** The connection ended before the response did: a reset, as the runner reports it. */
const closedEarly = (what: string) => connectionReset(`connection closed before ${what}`);

/** What the probe keeps of a response. */
export interface WireResponse {
  status: number;
  /** The Server header (several joined with ", "). */
  server?: string;
  /** The body's first maxBodyBytes bytes, as UTF-8. */
  body: string;
  /** More body followed than maxBodyBytes: the read stopped there. */
  truncated: boolean;
}

/** The request head of one GET with `Connection: close`. Throws for a path that needs escaping. */
export function requestHead(path: string, hostHeader: string, userAgent: string): string {
  if (!path.startsWith('/') || INVALID_PATH.test(path)) {
    throw Object.assign(new TypeError(`request path contains characters that must be escaped: ${JSON.stringify(path)}`), { code: 'ERR_UNESCAPED_CHARACTERS' });
  }
  return `GET ${path} HTTP/1.1\r\nHost: ${hostHeader}\r\nUser-Agent: ${userAgent}\r\nConnection: close\r\n\r\n`;
}

/** A short, printable quote of bytes that were not HTTP. */
function quote(bytes: Buffer): string {
  const text = bytes
    .subarray(0, QUOTE_CHARS * 2)
    .toString('latin1')
    .split(/\r?\n/)[0]!;
  return JSON.stringify(text.length > QUOTE_CHARS ? `${text.slice(0, QUOTE_CHARS)}...` : text);
}

type Framing = { kind: 'none' } | { kind: 'length'; left: number } | { kind: 'chunked' } | { kind: 'close' };
type ChunkState = 'size' | 'data' | 'data-end';

/**
 * Reads one response from the bytes of a socket, fed in any split. `push` returns the response
 * as soon as it is complete (or its body reached the cap); `end` is called when the peer closed
 * and returns it when the close was its end. Both throw {@link HttpWireError} for a response
 * that is not HTTP/1.x, and an ECONNRESET error for one cut short.
 */
export class ResponseReader {
  readonly #maxBody: number;
  #head: Buffer = EMPTY;
  #status = 0;
  #server: string | undefined;
  #framing: Framing | undefined;
  #chunks: Buffer[] = [];
  #size = 0;
  #chunk: ChunkState = 'size';
  #chunkLeft = 0;
  #line: Buffer = EMPTY;
  #result: WireResponse | undefined;

  constructor(maxBodyBytes: number) {
    this.#maxBody = maxBodyBytes;
  }

  /** Feeds bytes; the response once complete, else undefined. Bytes after completion are ignored. */
  push(bytes: Buffer): WireResponse | undefined {
    if (this.#result) return this.#result;
    let rest: Buffer | undefined = bytes;
    while (this.#framing === undefined) {
      rest = this.#readHead(rest);
      if (rest === undefined) return undefined;
    }
    if (this.#framing.kind === 'none') return this.#finish(false);
    return rest.length > 0 ? this.#readBody(rest) : undefined;
  }

  /** The peer closed: the response if the close completes it; throws if it was cut short. */
  end(): WireResponse {
    if (this.#result) return this.#result;
    if (this.#framing === undefined) {
      if (this.#head.length === 0) throw closedEarly('any response');
      this.#checkPrefix(true);
      throw closedEarly('the response headers ended');
    }
    if (this.#framing.kind === 'close') return this.#finish(false);
    throw closedEarly('the response ended');
  }

  /** Throws when the first bytes cannot be the start of an HTTP/1.x status line. */
  #checkPrefix(complete: boolean): void {
    const n = Math.min(this.#head.length, HTTP_PREFIX.length);
    const ok = this.#head.toString('latin1', 0, n) === HTTP_PREFIX.slice(0, n);
    if (!ok || (complete && n < HTTP_PREFIX.length)) throw new HttpWireError('HPE_INVALID_CONSTANT', `expected an HTTP status line, got ${quote(this.#head)}`);
  }

  /**
   * Throws at a bare LF in the head's bytes `from`..`until`, as Node's parser does: without it the
   * head's end would never be found and the probe would wait for a close or its timeout.
   */
  #checkLineEnds(from: number, until: number): void {
    for (let nl = this.#head.indexOf(LF, from); nl >= 0 && nl < until; nl = this.#head.indexOf(LF, nl + 1)) {
      if (nl === 0 || this.#head[nl - 1] !== CR) throw new HttpWireError('HPE_CR_EXPECTED', 'response header lines must end with CRLF (a bare LF)');
    }
  }

  /** Takes head bytes; returns the bytes after the head once it is parsed, else undefined. */
  #readHead(bytes: Buffer): Buffer | undefined {
    const from = Math.max(0, this.#head.length - (HEAD_END.length - 1));
    this.#head = this.#head.length === 0 ? bytes : Buffer.concat([this.#head, bytes]);
    this.#checkPrefix(false);
    const end = this.#head.indexOf(HEAD_END, from);
    // Only the head's own lines: the body after it may hold any bytes.
    this.#checkLineEnds(from, end < 0 ? this.#head.length : end + HEAD_END.length);
    // The head so far (all of it while its end has not come) is bounded either way.
    if ((end < 0 ? this.#head.length : end) > MAX_HEAD_BYTES)
      throw new HttpWireError('HPE_HEADER_OVERFLOW', `response headers larger than ${MAX_HEAD_BYTES} bytes`);
    if (end < 0) return undefined;
    const rest = this.#head.subarray(end + HEAD_END.length);
    const lines = this.#head.toString('latin1', 0, end).split('\r\n');
    this.#head = EMPTY;
    const m = STATUS_LINE.exec(lines[0]!);
    if (!m) throw new HttpWireError('HPE_INVALID_CONSTANT', `invalid HTTP status line ${quote(Buffer.from(lines[0]!, 'latin1'))}`);
    const status = Number(m[1]);
    // An interim answer (100 Continue, 103 Early Hints): the real one follows on the same socket.
    if (status >= 100 && status < 200 && status !== 101) return rest;
    this.#status = status;
    this.#framing = this.#parseHeaders(lines, status);
    return rest;
  }

  /** The Server header and the body's framing (RFC 9112 section 6.3). */
  #parseHeaders(lines: readonly string[], status: number): Framing {
    const servers: string[] = [];
    let length: string | undefined;
    let chunked = false;
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i]!;
      const colon = line.indexOf(':');
      if (colon <= 0) throw new HttpWireError('HPE_INVALID_HEADER_TOKEN', `invalid response header line ${quote(Buffer.from(line, 'latin1'))}`);
      const name = line.slice(0, colon).toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (name === 'server') servers.push(value);
      else if (name === 'content-length') {
        if (!DIGITS.test(value) || (length !== undefined && length !== value))
          throw new HttpWireError('HPE_INVALID_CONTENT_LENGTH', `invalid Content-Length ${JSON.stringify(value)}`);
        length = value;
      } else if (name === 'transfer-encoding') chunked = value.toLowerCase().split(',').at(-1)!.trim() === 'chunked';
    }
    if (servers.length > 0) this.#server = servers.join(', ');
    if (status === 101 || status === 204 || status === 304) return { kind: 'none' };
    if (chunked) return { kind: 'chunked' };
    if (length !== undefined) return Number(length) === 0 ? { kind: 'none' } : { kind: 'length', left: Number(length) };
    return { kind: 'close' };
  }

  /** Keeps body bytes up to the cap; the response when the cap is passed, else undefined. */
  #keep(bytes: Buffer): WireResponse | undefined {
    if (this.#size + bytes.length > this.#maxBody) {
      this.#chunks.push(bytes.subarray(0, this.#maxBody - this.#size));
      return this.#finish(true);
    }
    this.#chunks.push(bytes);
    this.#size += bytes.length;
    return undefined;
  }

  #readBody(bytes: Buffer): WireResponse | undefined {
    const framing = this.#framing!;
    if (framing.kind === 'close') return this.#keep(bytes);
    if (framing.kind === 'length') {
      const take = Math.min(framing.left, bytes.length);
      framing.left -= take;
      const capped = this.#keep(bytes.subarray(0, take));
      if (capped) return capped;
      return framing.left === 0 ? this.#finish(false) : undefined;
    }
    return this.#readChunked(bytes);
  }

  /** Chunked transfer coding: size line, data, CRLF, ... up to the last (zero) chunk. Trailers are not read. */
  #readChunked(bytes: Buffer): WireResponse | undefined {
    let at = 0;
    while (at < bytes.length) {
      if (this.#chunk === 'size') {
        // LF ends the line (its CR may have come in the previous read; it is stripped below).
        const nl = bytes.indexOf(LF, at);
        const part = bytes.subarray(at, nl < 0 ? bytes.length : nl);
        this.#line = this.#line.length === 0 ? part : Buffer.concat([this.#line, part]);
        if (this.#line.length > MAX_CHUNK_LINE_BYTES)
          throw new HttpWireError('HPE_INVALID_CHUNK_SIZE', `chunk size line longer than ${MAX_CHUNK_LINE_BYTES} bytes`);
        if (nl < 0) return undefined;
        const text = this.#line.toString('latin1').replace(/\r$/, '').split(';')[0]!.trim();
        this.#line = EMPTY;
        if (!HEX.test(text)) throw new HttpWireError('HPE_INVALID_CHUNK_SIZE', `invalid chunk size ${JSON.stringify(text)}`);
        this.#chunkLeft = Number.parseInt(text, 16);
        at = nl + 1;
        if (this.#chunkLeft === 0) return this.#finish(false);
        this.#chunk = 'data';
      } else if (this.#chunk === 'data') {
        const take = Math.min(this.#chunkLeft, bytes.length - at);
        const capped = this.#keep(bytes.subarray(at, at + take));
        if (capped) return capped;
        this.#chunkLeft -= take;
        at += take;
        if (this.#chunkLeft === 0) {
          this.#chunk = 'data-end';
          this.#chunkLeft = CRLF.length;
        }
      } else {
        // The CRLF after a chunk's data, possibly split across reads.
        const expected = CRLF[CRLF.length - this.#chunkLeft];
        if (bytes[at] !== expected) throw new HttpWireError('HPE_STRICT', 'chunk data not followed by CRLF');
        at++;
        if (--this.#chunkLeft === 0) this.#chunk = 'size';
      }
    }
    return undefined;
  }

  #finish(truncated: boolean): WireResponse {
    const body = this.#chunks.length === 1 ? this.#chunks[0]!.toString('utf8') : Buffer.concat(this.#chunks).toString('utf8');
    this.#chunks = [];
    this.#result = { status: this.#status, ...(this.#server !== undefined ? { server: this.#server } : {}), body, truncated };
    return this.#result;
  }
}
