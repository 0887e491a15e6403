/**
 * TLS probe: a handshake with SNI = the target's name, then the certificate checked against
 * that name. The certificate facts (names, fingerprint) are what reveals an address that
 * has been handed to someone else.
 */
import { isIP } from 'node:net';
import { checkServerIdentity, connect } from 'node:tls';
import type { ConnectionOptions, PeerCertificate, TLSSocket } from 'node:tls';
import type { TlsInfo } from '../types.ts';
import type { ProbeFn, ProbeOutcome } from './types.ts';
import { abortable, failOnClose } from './util.ts';

/**
 * TLS client options for a target name. SNI is the name, or '' (no SNI: an IP must not be
 * sent as SNI, and '' also stops https' agent from deriving one from the Host header).
 * Node's own name check is switched off so that a mismatch still completes the handshake
 * and we can report whose certificate it is; {@link tlsOutcome} checks the name instead.
 * Chain validation stays on unless `insecureTls`.
 */
export function tlsClientOptions(host: string, insecureTls: boolean | undefined) {
  return {
    servername: isIP(host) ? '' : host,
    rejectUnauthorized: !insecureTls,
    checkServerIdentity: () => undefined,
  } satisfies ConnectionOptions;
}

/**
 * What `insecureTls` forgives: a certificate no public CA issued (self-signed, a private CA the
 * monitor does not know). Everything else (expired, not yet valid, revoked, bad signature) still
 * fails, as the flag's help says.
 */
const UNTRUSTED_ISSUER_ERRORS: ReadonlySet<string> = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
]);

/** Under `insecureTls`, the error for a certificate the flag does not forgive; undefined when accepted. */
export function insecureTlsRejection(socket: TLSSocket, insecureTls: boolean | undefined): NonNullable<ProbeOutcome['error']> | undefined {
  if (!insecureTls || socket.authorized) return undefined;
  const code = String(socket.authorizationError ?? 'UNKNOWN');
  if (UNTRUSTED_ISSUER_ERRORS.has(code)) return undefined;
  return { code: 'tls', message: `certificate rejected (${code}); --insecure-tls accepts only self-signed or privately issued certificates` };
}

/** DNS names from a `subjectaltname` string (`DNS:a, IP Address:1.2.3.4, DNS:"quoted,name"`). */
export function dnsAltNames(subjectaltname: string | undefined): string[] {
  if (!subjectaltname) return [];
  const names: string[] = [];
  // Node JSON-quotes values that contain separators; plain values run to the next ", ".
  for (const m of subjectaltname.matchAll(/(?:^|, )DNS:("(?:[^"\\]|\\.)*"|[^,]*)/g)) {
    const raw = m[1] ?? '';
    names.push(raw.startsWith('"') ? (JSON.parse(raw) as string) : raw);
  }
  return names;
}

/** ISO-8601 from an OpenSSL date (`Jan  1 00:00:00 2027 GMT`); the raw text if unparsable. */
function isoDate(text: string | undefined): string | undefined {
  if (!text) return undefined;
  const t = Date.parse(text);
  return Number.isNaN(t) ? text : new Date(t).toISOString();
}

/** The TLS facts of a peer certificate, with the name check against `host`. */
export function tlsInfoOf(cert: PeerCertificate | undefined, host: string): TlsInfo {
  // getPeerCertificate() returns {} when the peer sent none.
  if (!cert || Object.keys(cert).length === 0) return { altNames: [], nameMatches: false };
  const cn = cert.subject?.CN as string | string[] | undefined;
  const subject = Array.isArray(cn) ? cn[0] : cn;
  const validTo = isoDate(cert.valid_to);
  return {
    ...(subject !== undefined ? { subject } : {}),
    altNames: dnsAltNames(cert.subjectaltname),
    nameMatches: checkServerIdentity(host, cert) === undefined,
    ...(cert.fingerprint256 ? { fingerprint256: cert.fingerprint256 } : {}),
    ...(validTo !== undefined ? { validTo } : {}),
  };
}

/** The error for a certificate that does not cover `host`, naming what it does cover. */
export function nameMismatchError(host: string, info: TlsInfo): NonNullable<ProbeOutcome['error']> {
  const names = info.altNames.length > 0 ? info.altNames : info.subject !== undefined ? [info.subject] : [];
  return { code: 'cert-name-mismatch', message: `certificate is for ${names.join(', ') || 'no name'}, not ${host}` };
}

/** Handshakes with `address:port` (SNI = spec.host) and reports the certificate. */
export const probeTls: ProbeFn = (address, spec, signal) =>
  abortable<ProbeOutcome>(signal, ({ resolve, reject }) => {
    const socket = connect({ host: address, port: spec.port, ...tlsClientOptions(spec.host, spec.insecureTls) });
    socket.once('secureConnect', () => {
      const tls = tlsInfoOf(socket.getPeerCertificate(), spec.host);
      const identity = `tls:${tls.fingerprint256 ?? ''}`;
      const rejected = insecureTlsRejection(socket, spec.insecureTls);
      if (rejected) return resolve({ ok: false, error: rejected, identity, tls });
      resolve(tls.nameMatches ? { ok: true, identity, tls } : { ok: false, error: nameMismatchError(spec.host, tls), identity, tls });
    });
    socket.on('error', reject);
    // A peer that closes without a TLS error (no alert) must not leave us waiting for the timeout.
    return failOnClose(socket, reject, 'connection closed during the TLS handshake');
  });
