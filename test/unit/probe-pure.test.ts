import { describe, expect, it } from 'vitest';
import { hostHeader, statusOk } from '../../src/core/probe/http-common.ts';
import { probeFor, PROBES } from '../../src/core/probe/registry.ts';
import { classifyError } from '../../src/core/probe/run.ts';
import { dnsAltNames } from '../../src/core/probe/tls.ts';
import { endpoint } from '../../src/core/probe/util.ts';
import { parseEcho } from '../../src/core/probe/web.ts';

const err = (code: string, message = 'boom') => Object.assign(new Error(message), { code });
const WHERE = '10.0.1.5:443';

describe('parseEcho', () => {
  it.each([
    ['plain IPv4', '10.0.1.23', '10.0.1.23'],
    ['plain IPv4 with whitespace', '  10.0.1.23\n', '10.0.1.23'],
    ['plain IPv6', '2001:db8::7\n', '2001:db8::7'],
    ['IPv4-mapped IPv6 becomes IPv4', '::ffff:10.0.1.23', '10.0.1.23'],
    ['JSON with address', '{"address":"10.0.2.9","port":41234}', '10.0.2.9'],
    ['JSON with padded address', ' {"address":" 10.0.2.9 "} ', '10.0.2.9'],
    ['JSON without address', '{"ip":"10.0.2.9"}', undefined],
    ['JSON with a non-string address', '{"address":167772161}', undefined],
    ['JSON with a host name', '{"address":"ip-10-0-2-9.internal"}', undefined],
    ['broken JSON', '{"address":', undefined],
    ['empty body', '', undefined],
    ['HTML error page', '<html><body>502 Bad Gateway</body></html>', undefined],
    ['text around an IP', 'client 10.0.1.23', undefined],
    ['not quite an IP', '10.0.1.256', undefined],
    ['two addresses', '10.0.1.1, 10.0.1.2', undefined],
  ])('%s', (_name, body, expected) => {
    // Prepare: the table row.
    // Act
    const address = parseEcho(body);
    // Assess
    expect(address).toBe(expected);
  });
});

describe('classifyError', () => {
  it.each([
    ['ECONNREFUSED', 'refused', `connection refused by ${WHERE}`],
    ['ECONNRESET', 'reset', `connection reset by ${WHERE}`],
    ['EPIPE', 'reset', `connection reset by ${WHERE}`],
    ['EHOSTUNREACH', 'unreachable', `${WHERE} is unreachable (EHOSTUNREACH)`],
    ['ENETUNREACH', 'unreachable', `${WHERE} is unreachable (ENETUNREACH)`],
    ['EADDRNOTAVAIL', 'unreachable', `${WHERE} is unreachable (EADDRNOTAVAIL)`],
    ['ETIMEDOUT', 'timeout', `connection to ${WHERE} timed out`],
    ['ERR_TLS_CERT_ALTNAME_INVALID', 'cert-name-mismatch', undefined],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', 'tls', undefined],
    ['SELF_SIGNED_CERT_IN_CHAIN', 'tls', undefined],
    ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'tls', undefined],
    ['CERT_HAS_EXPIRED', 'tls', undefined],
    ['ERR_SSL_WRONG_VERSION_NUMBER', 'tls', undefined],
    ['ERR_TLS_HANDSHAKE_TIMEOUT', 'tls', undefined],
    ['HPE_INVALID_CONSTANT', 'protocol', undefined],
    ['ABORT_ERR', 'aborted', undefined],
    ['ENOTFOUND', 'error', `cannot resolve ${WHERE} (ENOTFOUND)`],
    ['EWHATEVER', 'error', `probe of ${WHERE} failed: boom`],
  ] as const)('%s -> %s', (code, expected, message) => {
    // Prepare
    const e = err(code);
    // Act
    const r = classifyError(e, WHERE);
    // Assess
    expect(r.code).toBe(expected);
    if (message) expect(r.message).toBe(message);
  });

  it('prefers an OpenSSL reason over its multi-line message', () => {
    // Prepare
    const e = Object.assign(new Error('80:error:0A00010B:SSL routines::wrong version number:../ssl/record.c:350:\n'), {
      code: 'ERR_SSL_WRONG_VERSION_NUMBER',
      reason: 'wrong version number',
    });
    // Act
    const r = classifyError(e, WHERE);
    // Assess
    expect(r).toEqual({ code: 'tls', message: `TLS with ${WHERE} failed: wrong version number (ERR_SSL_WRONG_VERSION_NUMBER)` });
  });

  it('handles values that are not errors', () => {
    // Prepare
    const thrown = 'a string';
    // Act
    const r = classifyError(thrown, WHERE);
    // Assess
    expect(r).toEqual({ code: 'error', message: `probe of ${WHERE} failed: a string` });
  });
});

describe('helpers', () => {
  it.each([
    ['app.internal', 80, false, 'app.internal'],
    ['app.internal', 8080, false, 'app.internal:8080'],
    ['app.internal', 443, true, 'app.internal'],
    ['app.internal', 80, true, 'app.internal:80'],
    ['2001:db8::1', 443, true, '[2001:db8::1]'],
    ['2001:db8::1', 8443, true, '[2001:db8::1]:8443'],
  ] as const)('hostHeader(%s, %d, secure=%s) = %s', (host, port, secure, expected) => {
    // Prepare: the table row.
    // Act
    const header = hostHeader(host, port, secure);
    // Assess
    expect(header).toBe(expected);
  });

  it('brackets IPv6 endpoints only', () => {
    // Prepare
    const cases = [endpoint('10.0.0.1', 80), endpoint('fd00::5', 5432), endpoint('db.internal', 3306)];
    // Act: formatting is the act.
    // Assess
    expect(cases).toEqual(['10.0.0.1:80', '[fd00::5]:5432', 'db.internal:3306']);
  });

  it('judges statuses against expectStatus or 200-399', () => {
    // Prepare
    const statuses = [199, 200, 302, 399, 400, 500];
    // Act
    const byDefault = statuses.map((s) => statusOk(s, undefined));
    const emptyList = statuses.map((s) => statusOk(s, []));
    const explicit = statuses.map((s) => statusOk(s, [200, 500]));
    // Assess
    expect(byDefault).toEqual([false, true, true, true, false, false]);
    expect(emptyList).toEqual(byDefault);
    expect(explicit).toEqual([false, true, false, false, false, true]);
  });

  it('extracts DNS names from subjectaltname, skipping IPs and unquoting', () => {
    // Prepare
    const san = 'DNS:app.internal, IP Address:10.0.0.1, DNS:*.app.internal, DNS:"odd,name", email:a@b';
    // Act
    const names = dnsAltNames(san);
    // Assess
    expect(names).toEqual(['app.internal', '*.app.internal', 'odd,name']);
    expect(dnsAltNames(undefined)).toEqual([]);
  });
});

describe('registry', () => {
  it('has every configurable protocol and throws clearly for others', () => {
    // Prepare
    const known = Object.keys(PROBES).sort();
    // Act
    const lookups = ['tcp', 'tls', 'http', 'https', 'mysql', 'postgres'].map((p) => probeFor(p));
    // Assess
    expect(known).toEqual(['http', 'https', 'mysql', 'postgres', 'tcp', 'tls']);
    expect(lookups.every((fn) => typeof fn === 'function')).toBe(true);
    expect(() => probeFor('redis')).toThrow('no probe for protocol "redis" (available: tcp, tls, http, https, mysql, postgres)');
    expect(() => probeFor('constructor')).toThrow('no probe for protocol "constructor"');
  });
});
