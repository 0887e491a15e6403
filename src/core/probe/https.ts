/** HTTPS probe: GET spec.path from the address with Host and SNI = spec.host, certificate checked. */
import { httpGet, probeTarget } from './http-common.ts';
import type { ProbeFn } from './types.ts';

/** GETs spec.path over TLS; fails with cert-name-mismatch when the certificate does not cover spec.host. */
export const probeHttps: ProbeFn = (address, spec, signal) => httpGet(probeTarget(address, spec, true), signal);
