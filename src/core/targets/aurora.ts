/**
 * An Aurora endpoint: the cluster (writer) endpoint resolved with its CNAME chain, each address
 * probed with the engine's own handshake, and the writer the RDS API names (when a writer
 * lookup is wired in) for writer-changed and dns-lag.
 */
import { assessAurora } from '../aurora/assess.ts';
import type { WriterObservation } from '../aurora/assess.ts';
import { WriterLookupError } from '../aurora/errors.ts';
import type { AuroraTarget } from '../config.ts';
import { LIMITS } from '../constants.ts';
import type { ProbeSpec } from '../probe/types.ts';
import { resolveName } from '../resolve.ts';
import { addressProbeJobs, applyResolution, diffForAssess, diffAgainstHistory } from './names.ts';
import type { CheckContext, Observed, TargetType } from './types.ts';
import { errorMessage } from '../error-text.ts';
import { oldWriterClientFindings } from '../flow-evidence.ts';

/** Probe spec for an Aurora endpoint: the engine's own greeting (MySQL) or SSLRequest (PostgreSQL). */
export function auroraSpec(t: AuroraTarget): ProbeSpec {
  return { protocol: t.engine, host: t.host, port: t.port, path: '/', maxBodyBytes: LIMITS.maxBodyBytes };
}

/** The API's writer; a lookup failure is data (no writer-changed, no dns-lag this check), not a throw. */
async function apiWriter(t: AuroraTarget, ctx: CheckContext): Promise<WriterObservation | undefined> {
  if (!ctx.writerLookup) return undefined;
  try {
    const w = await ctx.writerLookup.writer(t.clusterIdentifier, t.region);
    return { ok: true, writer: w.writer, members: w.members };
  } catch (err) {
    return { ok: false, code: err instanceof WriterLookupError ? err.code : 'error', message: errorMessage(err) };
  }
}

/**
 * With a `login` and a session check: one login through the endpoint's first current address,
 * under the target's timeout and the check's deadline. A failed login is the monitor's problem
 * (a wrong password, a missing grant), not a client's: an error line, not a finding.
 */
function sessionJob(o: Observed<AuroraTarget>, ctx: CheckContext): (() => Promise<void>)[] {
  const t = o.target;
  const check = ctx.sessionCheck;
  const address = o.resolution?.ok ? o.resolution.addresses[0]?.address : undefined;
  if (!t.login || !check || address === undefined) return [];
  return [
    async () => {
      const signal = AbortSignal.any([ctx.deadline, AbortSignal.timeout(t.timeoutMs)]);
      try {
        o.session = await check.canWrite(t, address, signal);
      } catch (err) {
        const why = errorMessage(err);
        ctx.errors.add('session-check', `session check ${t.name}: ${why}`, t.name);
        ctx.logger?.warn('session check failed; no endpoint-reaches-reader this check', { target: t.name, error: why });
      }
    },
  ];
}

export const aurora: TargetType<AuroraTarget> = {
  async observe(o, ctx) {
    const t = o.target;
    const readerHost = t.readerHost;
    const [resolution, reader, api] = await Promise.all([
      ctx.lookups(() => resolveName(t.host, ctx.resolver, ctx.deadline, ctx.newResolver)),
      readerHost ? ctx.lookups(() => resolveName(readerHost, ctx.resolver, ctx.deadline, ctx.newResolver)) : undefined,
      apiWriter(t, ctx),
    ]);
    applyResolution(o, resolution, ctx);
    if (reader) o.reader = reader;
    if (api) o.api = api;
    if (api?.ok === false) {
      ctx.errors.add('writer-lookup', `writer lookup ${t.name}: ${api.message}`, t.name);
      ctx.logger?.warn('writer lookup failed; no writer-changed or dns-lag this check', { target: t.name, code: api.code, error: api.message });
    }
  },
  probeJobs: (o, ctx) => [...addressProbeJobs(o, auroraSpec(o.target), ctx), ...sessionJob(o, ctx)],
  judgedWith: () => [],
  rediff: (redo, resolution, now) => diffAgainstHistory(redo, resolution, now),
  assess(o, _all, now) {
    const assessed = assessAurora({
      target: o.target,
      resolution: o.resolution!,
      ...diffForAssess(o),
      unusable: o.unusable ?? [],
      records: o.records,
      probes: o.probes,
      now,
      ...(o.reader ? { reader: o.reader } : {}),
      ...(o.previous.aurora ? { previous: o.previous.aurora } : {}),
      ...(o.api ? { api: o.api } : {}),
      ...(o.session ? { session: o.session } : {}),
    });
    // Flow-log clients of the old writer after a failover: each named, with how long after it still connected.
    if (!o.flow || o.flow.clients.length === 0) return assessed;
    return { ...assessed, findings: [...assessed.findings, ...oldWriterClientFindings(o.target.name, o.flow, { records: o.records, probes: o.probes })] };
  },
};
