/** HTTP probe: GET spec.path from the address with Host = spec.host. */
import { httpGet, probeTarget } from './http-common.ts';
import type { ProbeFn } from './types.ts';

/** GETs spec.path over plain HTTP; ok for a healthy status (spec.expectStatus or 200-399). */
export const probeHttp: ProbeFn = (address, spec, signal) => httpGet(probeTarget(address, spec, false), signal);
