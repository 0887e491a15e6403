/** An ELB name: `all.<name>` first, every address probed with the target's protocol. */
import { assessElb, escalateReassigned } from '../assess.ts';
import type { ElbTarget } from '../config.ts';
import { LIMITS } from '../constants.ts';
import { applyInterfaceNews } from '../diff.ts';
import type { InterfaceNews } from '../interface-change.ts';
import type { ProbeSpec } from '../probe/types.ts';
import { resolveElb } from '../resolve.ts';
import { addressProbeJobs, applyResolution, diffForAssess, diffAgainstHistory } from './names.ts';
import type { Observed, TargetType } from './types.ts';
import { tierSourceAddresses, unconfiguredClientFindings } from '../flow-evidence.ts';
import { resolverProof } from '../resolver-evidence.ts';
import { cachingFinding } from '../cache-census.ts';
import { adviceFor } from '../advice.ts';
import { clientKey } from '../types.ts';

/** The source addresses of every web tier behind `elb`. */
function tierSourcesBehind(all: ReadonlyMap<string, Observed>, elb: string): Set<string> {
  const out = new Set<string>();
  for (const w of all.values()) if (w.target.type === 'web-tier' && w.target.upstream === elb) for (const a of tierSourceAddresses(w.target, w.web)) out.add(a);
  return out;
}

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

/** Applies what the ELB's interface calls said (a failed lookup too: a release is no DNS answer). */
export function applyReleases(o: Observed<ElbTarget>, news: InterfaceNews): void {
  const applied = applyInterfaceNews(o.records, news);
  o.records = applied.records;
  if (applied.released.length > 0) o.released = applied.released;
}

export const elb: TargetType<ElbTarget> = {
  async observe(o, ctx) {
    applyResolution(o, await ctx.lookups(() => resolveElb(o.target.host, ctx.newResolver, ctx.deadline, ctx.resolver)), ctx);
    if (ctx.interfaces) applyReleases(o, ctx.interfaces);
  },
  probeJobs: (o, ctx) => addressProbeJobs(o, elbSpec(o.target, ctx.insecureTls), ctx),
  judgedWith: () => [],
  rediff(redo, resolution, now, interfaces) {
    diffAgainstHistory(redo, resolution, now);
    // The other writer may have recorded the release already: then it is not news here.
    if (interfaces) applyReleases(redo, interfaces);
  },
  assess(o, all) {
    const t = o.target;
    const assessed = assessElb({ target: t, resolution: o.resolution!, ...diffForAssess(o), unusable: o.unusable ?? [], records: o.records, probes: o.probes });
    // Flow clients no web tier behind this ELB accounts for: conditions of their own (risk or incident).
    const tierSources = o.flow || o.census ? tierSourcesBehind(all, t.name) : new Set<string>();
    const clients = o.flow
      ? unconfiguredClientFindings(t.name, o.flow, tierSources, { records: o.records, probes: o.probes }, (c) =>
          resolverProof(
            o,
            { addresses: new Set(c.sourceAddress ? [c.sourceAddress] : []), ...(c.clientKind === 'instance' ? { instance: c.client } : {}) },
            c.address,
            c.lastOpened,
          ),
        )
      : [];
    // Hosts the cache census names that no web tier is, and that are not on a retired address already: a risk on the key their incident would have.
    const seen = new Set(clients.map((f) => f.key));
    const census = o.census;
    const caching = census
      ? census.clients.flatMap((c) => {
          const key = clientKey(t.name, c);
          if ((c.sourceAddress && tierSources.has(c.sourceAddress)) || seen.has(key)) return [];
          return [cachingFinding({ target: t.name, key }, { name: t.name, host: t.host }, c, census, adviceFor('dns-cache-at-risk'))];
        })
      : [];
    const a = clients.length + caching.length === 0 ? assessed : { ...assessed, findings: [...assessed.findings, ...clients, ...caching] };
    // A reassigned retired address is critical only when a web tier's echo shows a client still
    // uses it. That is rare, so only then are the targets scanned for the tiers behind this ELB.
    if (!a.findings.some((f) => f.kind === 'retired-address-reassigned')) return a;
    const tiers = [...all.values()].flatMap((w) =>
      w.target.type === 'web-tier' && w.target.upstream === t.name ? [{ name: w.target.name, ...(w.web ? { web: w.web } : {}) }] : [],
    );
    return { ...a, findings: escalateReassigned(a.findings, tiers) };
  },
};
