/** An ELB name: `all.<name>` first, every address probed with the target's protocol. */
import { assessElb, escalateReassigned } from '../assess.ts';
import type { ElbTarget } from '../config.ts';
import { LIMITS } from '../constants.ts';
import type { ProbeSpec } from '../probe/types.ts';
import { resolveElb } from '../resolve.ts';
import { addressProbeJobs, applyResolution, diffForAssess } from './names.ts';
import type { TargetType } from './types.ts';

/** Probe spec for an ELB target's addresses. */
export function elbSpec(t: ElbTarget, insecureTls: boolean | undefined): ProbeSpec {
  return {
    protocol: t.probe.protocol,
    host: t.host,
    port: t.port,
    path: t.probe.path,
    maxBodyBytes: LIMITS.maxBodyBytes,
    ...(t.probe.expectStatus ? { expectStatus: t.probe.expectStatus } : {}),
    ...(insecureTls ? { insecureTls } : {}),
  };
}

export const elb: TargetType<ElbTarget> = {
  async observe(o, ctx) {
    applyResolution(o, await ctx.lookups(() => resolveElb(o.target.host, ctx.newResolver, ctx.deadline)), ctx);
  },
  probeJobs: (o, ctx) => addressProbeJobs(o, elbSpec(o.target, ctx.insecureTls), ctx),
  assess(o, all) {
    const t = o.target;
    const a = assessElb({ target: t, resolution: o.resolution!, ...diffForAssess(o), unusable: o.unusable ?? [], records: o.records, probes: o.probes });
    // A reassigned retired address is critical only when a web tier's echo shows a client still
    // uses it. That is rare, so only then are the targets scanned for the tiers behind this ELB.
    if (!a.findings.some((f) => f.kind === 'retired-address-reassigned')) return a;
    const tiers = [...all.values()].flatMap((w) =>
      w.target.type === 'web-tier' && w.target.upstream === t.name ? [{ name: w.target.name, ...(w.web ? { web: w.web } : {}) }] : [],
    );
    return { ...a, findings: escalateReassigned(a.findings, tiers) };
  },
};
