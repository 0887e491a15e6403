/**
 * One check's flow evidence (docs/architecture.md, "Flow evidence"): for every ELB target's
 * retired addresses past their TTL (and its grace), inside the retention window, ask the flow
 * source for the records that name them, and keep the clients found on the target's
 * observation. The read runs only when some address is in that window (rare), and once
 * `everyMinutes` have passed since the last read (its time is kept in the ELB's state, also
 * when it found nobody); in between, the last read's clients stand, so an incident they opened
 * neither flaps nor resolves between reads, whatever the schedule.
 */
import type { ProblemLog } from './problems.ts';
import { isIP } from 'node:net';
import { adviceFor } from './advice.ts';
import { GONE_TEXT, finding, goneOf, pastTtlGrace, retiredStateOf, sentAfterGone } from './assess.ts';
import type { AuroraTarget, Config, ElbTarget } from './config.ts';
import { LIMITS } from './constants.ts';
import { retiredOf } from './diff.ts';
import { INCOMPLETE_TEXT, clientEvidence, clientName, parseFlowFormat, staleClients } from './flow-log.ts';
import type { FlowWatch, StaleClient } from './flow-log.ts';
import type { ResolverProof } from './resolver-log.ts';
import type { EngineLogger, FlowSource } from './ports.ts';
import type { CheckReport } from './report.ts';
import type { Observed } from './targets/types.ts';
import type { AddressRecord, Finding, FlowObservation, ProbeResult } from './types.ts';
import { clientKey } from './types.ts';
import { bareHost } from './probe/web.ts';
import { readDue, readFailed } from './evidence-reads.ts';
import { MS_PER_SECOND } from './time-units.ts';

/** The retired addresses of one ELB target that no well-behaved cache may still hold. */
export function flowWatchOf(o: Observed<ElbTarget | AuroraTarget>, now: Date): FlowWatch[] {
  return retiredOf(o.records)
    .filter((r) => pastTtlGrace(r, now))
    .map((r) => ({ address: r.address, port: o.target.port, since: Date.parse(r.retiredAt!) + (r.ttl ?? LIMITS.defaultTtlSeconds) * MS_PER_SECOND }));
}

/** Reads the flow evidence into the ELB observations; the figures of the read, when one ran. */
export async function readFlowEvidence(
  config: Config,
  observed: ReadonlyMap<string, Observed>,
  source: FlowSource | undefined,
  startedAt: Date,
  signal: AbortSignal,
  errors: ProblemLog,
  logger?: EngineLogger,
): Promise<CheckReport['flow'] | undefined> {
  const settings = config.flowLogs;
  if (!settings || !source) return undefined;
  // ELBs, and Aurora endpoints: after a failover the old writer's address is the retired one.
  const targets = [...observed.values()].filter((o): o is Observed<ElbTarget | AuroraTarget> => o.target.type === 'elb' || o.target.type === 'aurora');
  // Only recent records say a client *still* sends: each watch starts at the later of the
  // address's retirement plus TTL and the window's start.
  const windowStart = startedAt.getTime() - settings.windowSeconds * MS_PER_SECOND;
  const watches = new Map(targets.map((o) => [o.target.name, flowWatchOf(o, startedAt).map((w) => ({ ...w, since: Math.max(w.since, windowStart) }))]));
  const all = [...watches.values()].flat();
  if (all.length === 0) return undefined;
  // The last read: one time for the whole check (every ELB's state keeps it).
  // (ISO times of one format: the latest sorts last.)
  const lastRead = targets
    .flatMap((o) => (o.previous.flow ? [o.previous.flow.queriedAt] : []))
    .sort()
    .at(-1);
  const carry = () => {
    for (const o of targets) {
      const prev = o.previous.flow;
      if (!prev) continue;
      const watched = new Set(watches.get(o.target.name)!.map((w) => w.address));
      o.flow = { ...prev, clients: prev.clients.filter((c) => watched.has(c.address)) };
    }
  };
  const due = readDue(lastRead, settings.everyMinutes, startedAt);
  if (!due) {
    carry();
    return undefined;
  }
  try {
    const fields = parseFlowFormat(settings.format);
    const read = await source.read({
      addresses: [...new Set(all.map((w) => w.address))],
      ports: [...new Set(all.map((w) => w.port))],
      fields,
      from: Math.min(...all.map((w) => w.since)),
      to: startedAt.getTime(),
      signal,
    });
    // Clients past the cut are missed: say so here and in every finding of this read.
    if (read.truncated) errors.add('flow-logs', `flow logs: the read returned its maximum of ${read.rows} rows; some clients may be missing`);
    let matched = 0;
    let clients = 0;
    for (const o of targets) {
      const found = staleClients(read.records, watches.get(o.target.name)!, {
        ignore: settings.ignoreSources ?? [],
        destinationInterfaces: new Set(o.records.flatMap((r) => (r.released ? [r.released.interfaceId] : []))),
      });
      // Kept also when empty: the time of the read decides when the next one is due.
      o.flow = { queriedAt: startedAt.toISOString(), clients: found, ...(read.truncated ? { incomplete: true } : {}) };
      clients += found.length;
      matched += found.reduce((n, c) => n + c.records, 0);
    }
    return { lines: read.rows, matched, clients, ...(read.scannedBytes !== undefined ? { scannedBytes: read.scannedBytes } : {}) };
  } catch (err) {
    readFailed('flow-logs', 'flow logs', err, errors, logger);
    carry();
    return undefined;
  }
}

/** Addresses a web tier's hosts send from: its `clientAddresses`, else the address its URL reached. */
export function tierSourceAddresses(t: { url: string; clientAddresses?: readonly string[] }, web: { address?: string } | undefined): Set<string> {
  if (t.clientAddresses) return new Set(t.clientAddresses);
  const host = bareHost(t.url);
  return new Set([...(isIP(host) !== 0 ? [host] : []), ...(web?.address ? [web.address] : [])]);
}

/**
 * The ELB's findings for the clients no configured web tier accounts for, each a condition of its
 * own (`<elb>/stale-client-seen/<client>`). A client of a retired address that still answers (the
 * node drains) is at risk (info): a pooled connection moves by itself when the node goes. A client
 * of one that is gone (silent, released by the ELB, now another service's) is critical: a client
 * nobody configured still sends to an address the load balancer gave back.
 */
export function unconfiguredClientFindings(
  elb: string,
  flow: FlowObservation,
  tierSources: ReadonlySet<string>,
  upstream: { records: readonly AddressRecord[]; probes: ReadonlyMap<string, ProbeResult> },
  proofOf: (c: StaleClient) => ResolverProof | undefined = () => undefined,
): Finding[] {
  const records = new Map(upstream.records.map((r) => [r.address, r]));
  const cut = flow.incomplete ? INCOMPLETE_TEXT : '';
  return flow.clients
    .filter((c) => !(c.sourceAddress && tierSources.has(c.sourceAddress)))
    .map((c) => {
      const who = clientName(c);
      const state = retiredStateOf(records.get(c.address), upstream.probes.get(c.address));
      // Gone for this client only if it sent after the node went; before, it rode a draining node.
      const went = goneOf(state);
      const gone = went && sentAfterGone(records.get(c.address), c) ? went : undefined;
      // Proof it will not move (the resolver logs): a client of a draining node is the incident at once.
      const proof = gone ? undefined : proofOf(c);
      const node = went ? `${GONE_TEXT[went]}, with no record of it since` : 'which still answers (drains)';
      const seen = `${who} still sends to retired ${c.address}:${c.port} (${c.packets} packets, last ${new Date(c.last).toISOString()})`;
      const kind = gone || proof ? 'stale-client-seen' : 'stale-address-at-risk';
      const summary = gone
        ? `${elb}: ${seen}, ${GONE_TEXT[gone]}; no configured web tier is that client${cut}`
        : proof
          ? `${elb}: ${seen}, ${node}; ${proof.detail}; no configured web tier is that client${cut}`
          : went
            ? `${elb}: ${seen}, ${node}: it rode the node while it drained (a pooled connection moves when it goes); no configured web tier is that client${cut}`
            : `${elb}: ${seen}, ${node}: at risk when it goes; no configured web tier is that client${cut}`;
      return {
        ...finding(
          elb,
          kind,
          summary,
          { ...clientEvidence(c), addressState: state, ...(proof ? { proof } : {}), ...(flow.incomplete ? { flowIncomplete: true } : {}) },
          adviceFor(kind),
          ['client'],
        ),
        key: clientKey(elb, c),
      };
    });
}

/**
 * An Aurora endpoint's clients of the old writer after a failover (its retired address, past the
 * endpoint's TTL), one finding each, with how long after the change it still connected. Info
 * while the old writer answers (as a reader now: a client that cached the cluster endpoint gets
 * read-only errors on writes; one of the reader endpoint connects there on purpose); the incident
 * once the old writer is gone and the client still tries it (core/assess.ts sentAfterGone).
 */
export function oldWriterClientFindings(
  aurora: string,
  flow: FlowObservation,
  writer: { records: readonly AddressRecord[]; probes: ReadonlyMap<string, ProbeResult> },
): Finding[] {
  const records = new Map(writer.records.map((r) => [r.address, r]));
  const cut = flow.incomplete ? INCOMPLETE_TEXT : '';
  return flow.clients.map((c) => {
    const record = records.get(c.address);
    const state = retiredStateOf(record, writer.probes.get(c.address));
    const went = goneOf(state);
    const gone = went && sentAfterGone(record, c) ? went : undefined;
    const after = record?.retiredAt ? Math.max(0, Math.round((c.last - Date.parse(record.retiredAt)) / MS_PER_SECOND)) : undefined;
    const when = after === undefined ? '' : `, ${after} s after the writer changed`;
    const kind = gone ? 'stale-client-seen' : 'stale-address-at-risk';
    const summary = gone
      ? `${aurora}: ${clientName(c)} still connects to the old writer ${c.address}:${c.port}${when}, ${GONE_TEXT[gone]}: it keeps the cluster endpoint's old answer${cut}`
      : `${aurora}: ${clientName(c)} still connects to the old writer ${c.address}:${c.port}${when} (last record ${new Date(c.last).toISOString()}): it keeps the cluster endpoint's old answer, and its writes there fail (a client of the reader endpoint connects there on purpose)${cut}`;
    return {
      ...finding(
        aurora,
        kind,
        summary,
        { ...clientEvidence(c), addressState: state, ...(after !== undefined ? { secondsAfterChange: after } : {}) },
        adviceFor(kind, { targetType: 'aurora' }),
        ['client'],
      ),
      key: clientKey(aurora, c),
    };
  });
}
