/** What ELB and Aurora targets share: a name resolved, screened, diffed, and each address probed. */
import { isLocalName, screenResolution } from '../address-class.ts';
import type { AuroraTarget, ElbTarget } from '../config.ts';
import { diffAddresses } from '../diff.ts';
import { runProbe } from '../probe/run.ts';
import type { ProbeSpec } from '../probe/types.ts';
import type { ProbeResult, Resolution } from '../types.ts';
import type { CheckContext, Observed } from './types.ts';

/**
 * A name's diff against the history in `o.previous` at `at` (a failed lookup changes none): this
 * check's, or after a save conflict the fresh history another writer saved.
 */
export function diffAgainstHistory(o: Observed<ElbTarget | AuroraTarget>, resolution: Resolution | undefined, at: Date): void {
  if (!resolution?.ok) return;
  o.diff = diffAddresses(o.previous.addresses, resolution, at, o.target.retainRetiredMinutes);
  o.records = o.diff.addresses;
}

/** Screens and applies one lookup of the target's name: unusable addresses out, then the diff. */
export function applyResolution(o: Observed<ElbTarget | AuroraTarget>, resolution: Resolution, ctx: CheckContext): void {
  // A lookup the deadline stopped proves nothing: the target's check is cut.
  if (!resolution.ok && ctx.deadline.aborted) o.resolutionCut = true;
  // Addresses no node can have are never probed, nor kept in history; they are a finding.
  const screened = screenResolution(resolution, ctx.config.allowLoopback || isLocalName(o.target.host));
  o.resolution = screened.resolution;
  o.unusable = screened.unusable;
  diffAgainstHistory(o, o.resolution, ctx.startedAt);
}

/** A probe job per known address (current and retained retired), each with the target's timeout. */
export function addressProbeJobs(o: Observed<ElbTarget | AuroraTarget>, spec: ProbeSpec, ctx: CheckContext): (() => Promise<void>)[] {
  return o.records.map(
    (r) => () => runProbe(r.address, spec, { timeoutMs: o.target.timeoutMs, signal: ctx.deadline }).then((p) => void o.probes.set(r.address, stripBody(p))),
  );
}

/** A probe result without the body (only the web-tier echo reads one). */
const stripBody = (p: ProbeResult & { body?: string }): ProbeResult => {
  const { body: _body, ...rest } = p;
  return rest;
};

/** The diff for assess: none on a target's first check (every address is new, not a change). */
export const diffForAssess = (o: Observed) => (o.diff && o.previous.version > 0 ? { diff: o.diff } : {});
