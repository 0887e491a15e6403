/** Protocol -> probe function, as blackbox_exporter's prober map. */
import { probeHttp } from './http.ts';
import { probeHttps } from './https.ts';
import { probeMysql } from './mysql.ts';
import { probePostgres } from './postgres.ts';
import { probeTcp } from './tcp.ts';
import { probeTls } from './tls.ts';
import type { ProbeFn, ProbeProtocol } from './types.ts';

/** The registered probes: one per protocol the config accepts. */
export const PROBES: Record<ProbeProtocol, ProbeFn> = {
  tcp: probeTcp,
  tls: probeTls,
  http: probeHttp,
  https: probeHttps,
  mysql: probeMysql,
  postgres: probePostgres,
};

/** The probe for `protocol`; throws when none is registered. */
export function probeFor(protocol: string): ProbeFn {
  const fn = Object.hasOwn(PROBES, protocol) ? PROBES[protocol as ProbeProtocol] : undefined;
  if (!fn) throw new Error(`no probe for protocol "${protocol}" (available: ${Object.keys(PROBES).join(', ')})`);
  return fn;
}
