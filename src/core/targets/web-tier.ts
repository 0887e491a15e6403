/**
 * A web tier: one URL through it to the application behind its upstream ELB, and (with `echo`)
 * the address the application's caller connected from. Judged against its upstream's addresses
 * and probes: the stale-upstream incident (docs/architecture.md, "Findings and incidents").
 */
import { isIP } from 'node:net';
import { isLocalName, screenResolution } from '../address-class.ts';
import { assessWebTier } from '../assess.ts';
import type { ElbTarget, WebTierTarget } from '../config.ts';
import { LIMITS } from '../constants.ts';
import { bareHost, parseEcho, probeUrl } from '../probe/web.ts';
import { resolveName } from '../resolve.ts';
import type { WebTierObservation } from '../types.ts';
import { conditionKey } from '../types.ts';
import type { CheckContext, Observed, TargetType } from './types.ts';
import type { StaleClient } from '../flow-log.ts';
import { tierSourceAddresses } from '../flow-evidence.ts';
import { resolverProof } from '../resolver-evidence.ts';
import { cachingFinding } from '../cache-census.ts';
import { adviceFor, serverInfo } from '../advice.ts';

/** Where to connect for a web tier's URL: the host itself (an IP literal), or its address from the check's resolvers. */
async function webTierAddress(t: WebTierTarget, ctx: CheckContext): Promise<{ connect?: string; failure?: WebTierObservation }> {
  const host = bareHost(t.url);
  if (isIP(host) !== 0) return {};
  // `localhost` and `.localhost` names are this machine's by definition (RFC 6761); the
  // resolvers never read /etc/hosts, so answer them here.
  if (isLocalName(host)) return { connect: '127.0.0.1' };
  // The check's own resolver path: the configured servers, cancellable, under the deadline
  // (getaddrinfo runs on libuv's 4 threads, ignores `resolvers` and cannot be cancelled).
  const resolved = screenResolution(
    await ctx.lookups(() => resolveName(host, ctx.resolver, ctx.deadline, ctx.newResolver)),
    ctx.config.allowLoopback,
  ).resolution;
  if (resolved.ok) return { connect: resolved.addresses[0]!.address };
  const code = ctx.deadline.aborted ? 'aborted' : 'error';
  return { failure: { url: t.url, ok: false, latencyMs: resolved.durationMs, error: { code, message: `cannot resolve ${host}: ${resolved.message}` } } };
}

/** Probes a web tier's URL and, with `echo`, asks which upstream address served it. */
async function observeWebTier(t: WebTierTarget, ctx: CheckContext): Promise<WebTierObservation> {
  const where = await webTierAddress(t, ctx);
  if (where.failure) return where.failure;
  const opts = {
    timeoutMs: t.timeoutMs,
    signal: ctx.deadline,
    maxBodyBytes: LIMITS.maxBodyBytes,
    ...(ctx.insecureTls ? { insecureTls: ctx.insecureTls } : {}),
    ...(where.connect ? { connect: where.connect } : {}),
  };
  const echoUrl = t.echo ? new URL(t.echo.path, t.url).toString() : undefined;
  const [main, echo] = await Promise.all([probeUrl(t.url, opts), echoUrl ? probeUrl(echoUrl, opts) : undefined]);
  const obs: WebTierObservation = {
    url: t.url,
    ok: main.ok,
    latencyMs: main.latencyMs,
    ...(main.status !== undefined ? { status: main.status } : {}),
    ...(main.server !== undefined ? { server: main.server } : {}),
    ...(main.error ? { error: main.error } : {}),
    ...(where.connect ? { address: where.connect } : {}),
  };
  if (echo) {
    // A cut body (over the cap) is not an answer: its first bytes could look like an address.
    const address = echo.ok && echo.body !== undefined && !echo.truncated ? parseEcho(echo.body) : undefined;
    obs.echo = address
      ? { ok: true, address }
      : {
          ok: false,
          message:
            echo.error?.message ?? (echo.truncated ? 'the echo answer was larger than the body cap' : `no address in the echo answer (HTTP ${echo.status})`),
        };
    obs.server ??= echo.server;
  }
  return obs;
}

/** When the tier last opened a connection to `address` (SYN in the flow logs), when they can tell. */
function lastOpenedTo(clients: readonly StaleClient[], address: string): number | undefined {
  const opened = clients.flatMap((c) => (c.address === address && c.lastOpened !== undefined ? [c.lastOpened] : []));
  return opened.length === 0 ? undefined : Math.max(...opened);
}

export const webTier: TargetType<WebTierTarget> = {
  // A web tier has no name of its own to watch: its URL host is resolved with its probe.
  observe: async () => undefined,
  judgedWith: (o) => [o.target.upstream],
  // No name of its own: nothing to diff against the fresh history.
  rediff: () => undefined,
  probeJobs: (o, ctx) => [() => observeWebTier(o.target, ctx).then((w) => void (o.web = w))],
  assess(o, all, now) {
    const t = o.target;
    const up = all.get(t.upstream)!;
    const incident = o.previous.alerts[conditionKey(t.name, 'stale-address-suspected')];
    const sources = tierSourceAddresses(t, o.web);
    const flowClients = (up.flow?.clients ?? []).filter((c) => c.sourceAddress !== undefined && sources.has(c.sourceAddress));
    // Proof the tier will not move: its host has not asked for the name since the address it reaches retired.
    // The address the echo names when it names one (the proof must be of that one), else those the flow logs show.
    const reached = o.web?.echo?.ok ? [o.web.echo.address] : flowClients.map((c) => c.address);
    const proof =
      up.target.type === 'elb'
        ? reached.map((a) => resolverProof(up as Observed<ElbTarget>, { addresses: sources }, a, lastOpenedTo(flowClients, a))).find((p) => p !== undefined)
        : undefined;
    const assessed = assessWebTier({
      // Open, or resolving with its "resolved" not yet delivered: on-call still holds it open.
      // Pending (not yet due to page) is not open, nor is a risk (info) never paged: on-call has heard nothing.
      ...(incident && (incident.status === 'open' || incident.status === 'resolving') && incident.severity !== 'info'
        ? { openIncident: { since: incident.openedAt } }
        : {}),
      target: t,
      web: o.web!,
      recentLatencies: o.previous.latencies ?? [],
      ...(o.previous.webServer ? { knownServer: o.previous.webServer } : {}),
      now,
      upstream: { records: up.records, probes: up.probes, resolutionOk: up.resolution?.ok === true },
      flowClients,
      ...(proof ? { proof } : {}),
    });
    // The cache census names this tier's host: a risk on its own condition, unless the condition already has its finding.
    const key = conditionKey(t.name, 'stale-address-suspected');
    const cached = up.census?.clients.find((c) => c.sourceAddress !== undefined && sources.has(c.sourceAddress));
    if (!cached || !up.census || up.target.type !== 'elb' || assessed.findings.some((f) => f.key === key)) return assessed;
    const server = serverInfo(o.web?.server ?? o.previous.webServer, t.server);
    const risk = cachingFinding(
      { target: t.name, tier: t.name },
      { name: up.target.name, host: up.target.host },
      cached,
      up.census,
      adviceFor('dns-cache-at-risk', server ? { server } : {}),
    );
    return { ...assessed, findings: [...assessed.findings, risk] };
  },
};
