/**
 * Route 53 Resolver query logs as evidence (docs/architecture.md, "Resolver evidence"): who
 * last asked for an ELB's name, and when. One log entry per query, JSON, as AWS documents it
 * ("Values that appear in VPC Resolver query logs": `query_timestamp`, `query_name` with its
 * trailing dot, `srcaddr`, `srcids.instance`, `rcode`, `answers[].Rdata`). The Resolver logs
 * only the queries it did not answer from its own cache, so "last asked" is accurate to about
 * one TTL. Pure: lines in, askers out.
 */
import { isIP } from 'node:net';

/** One logged query, with what ipdrift reads. */
export interface ResolverQuery {
  /** Epoch ms of `query_timestamp`. */
  at: number;
  /** `query_name`, lower case, without the trailing dot. */
  name: string;
  srcaddr?: string;
  /** `srcids.instance`: the EC2 instance that asked, when the Resolver knows it. */
  instance?: string;
  /** The answers' `Rdata` (addresses, CNAME targets). */
  answers: string[];
}

/** What a line turned out to be. */
export type ResolverLine = { query: ResolverQuery } | { skipped: 'blank' } | { malformed: string };

/** A DNS name as compared: lower case, no trailing dot. */
export const dnsName = (n: string) => n.toLowerCase().replace(/\.$/, '');

const str = (v: unknown) => (typeof v === 'string' && v !== '' && v !== '-' ? v : undefined);

/** Parses one query log line (one JSON object). */
export function parseResolverLine(line: string): ResolverLine {
  const text = line.trim();
  if (text === '') return { skipped: 'blank' };
  let entry: unknown;
  try {
    entry = JSON.parse(text);
  } catch {
    return { malformed: 'not JSON' };
  }
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return { malformed: 'not a JSON object' };
  const e = entry as Record<string, unknown>;
  const name = str(e.query_name);
  const stamp = str(e.query_timestamp);
  const at = stamp === undefined ? Number.NaN : Date.parse(stamp);
  if (name === undefined || Number.isNaN(at)) return { malformed: 'no query_name or query_timestamp' };
  const srcaddr = str(e.srcaddr);
  const ids = e.srcids;
  const instance = typeof ids === 'object' && ids !== null ? str((ids as Record<string, unknown>).instance) : undefined;
  const answers = Array.isArray(e.answers)
    ? e.answers.flatMap((a) => {
        const r = typeof a === 'object' && a !== null ? str((a as Record<string, unknown>).Rdata) : undefined;
        return r === undefined ? [] : [r];
      })
    : [];
  return {
    query: {
      at,
      name: dnsName(name),
      ...(srcaddr !== undefined && isIP(srcaddr) !== 0 ? { srcaddr } : {}),
      ...(instance !== undefined ? { instance } : {}),
      answers,
    },
  };
}

/** One host that asked for a watched name: by its address (and instance, when logged). */
export interface Asker {
  srcaddr?: string;
  instance?: string;
  queries: number;
  /** Epoch ms of its first and last logged query in the read. */
  firstAsked: number;
  lastAsked: number;
}

/** What makes a query one for an ELB: its name (or an alias in its CNAME chain), or an answer naming one of its addresses. */
export interface AskedFor {
  names: readonly string[];
  addresses: readonly string[];
}

/** True when `q` asked for the ELB: by a watched name, or answered with one of its addresses (an alias we do not know). */
export function asksFor(q: ResolverQuery, w: { names: ReadonlySet<string>; addresses: ReadonlySet<string> }): boolean {
  return w.names.has(q.name) || q.answers.some((a) => w.addresses.has(a));
}

/** The hosts that asked for the watched names, one per address (and instance). */
export function askersOf(queries: Iterable<ResolverQuery>, watched: AskedFor): Asker[] {
  const w = { names: new Set(watched.names.map(dnsName)), addresses: new Set(watched.addresses) };
  const out = new Map<string, Asker>();
  for (const q of queries) {
    if (!asksFor(q, w)) continue;
    const key = `${q.srcaddr ?? ''}|${q.instance ?? ''}`;
    const a = out.get(key);
    if (!a) {
      out.set(key, {
        ...(q.srcaddr ? { srcaddr: q.srcaddr } : {}),
        ...(q.instance ? { instance: q.instance } : {}),
        queries: 1,
        firstAsked: q.at,
        lastAsked: q.at,
      });
      continue;
    }
    a.queries++;
    a.firstAsked = Math.min(a.firstAsked, q.at);
    a.lastAsked = Math.max(a.lastAsked, q.at);
  }
  return [...out.values()].sort((a, b) => b.lastAsked - a.lastAsked);
}

/** What the resolver logs say of one client since a change. */
export interface ResolverProof {
  source: 'resolver-query-logs';
  detail: string;
}

/** `query_timestamp` has whole seconds (the documented example): a query logged this close to a change may be after it. */
export const QUERY_TIMESTAMP_PRECISION_MS = 1000;

/**
 * What a read says of a host and a change: it asked since (within the log's whole second: it may
 * have had the new answer), it last asked before, or the read cannot tell (it does not know the
 * host, or starts after the change). A host never logged proves nothing: its queries may all have
 * been answered from the Resolver's cache (another host asked first).
 */
export type Asked = { asked: 'since' } | { asked: 'before'; last: number; who: string } | { asked: 'unknown' };

/** Whether `client` asked for the name since `changeAt`, by this read. */
export function askedSince(
  read: { from: number; askers: readonly Asker[] },
  client: { addresses: ReadonlySet<string>; instance?: string },
  changeAt: number,
): Asked {
  const mine = read.askers.filter(
    (a) => (a.srcaddr !== undefined && client.addresses.has(a.srcaddr)) || (client.instance !== undefined && a.instance === client.instance),
  );
  if (mine.length === 0) return { asked: 'unknown' };
  const last = Math.max(...mine.map((a) => a.lastAsked));
  if (last >= changeAt - QUERY_TIMESTAMP_PRECISION_MS) return { asked: 'since' };
  return read.from > changeAt ? { asked: 'unknown' } : { asked: 'before', last, who: mine[0]!.instance ?? mine[0]!.srcaddr ?? 'the host' };
}

/**
 * Proof that a client will not move by itself: the read covers the time since before the change,
 * the client asked for the name in it (a host the log knows), and its last query was before the
 * change. `change.at` is the last time the retired address was seen in the answer: a query after
 * that may have had the new answer (a client still on the old node then rides a pooled connection).
 */
export function proofFor(
  read: { from: number; askers: readonly Asker[] },
  client: { addresses: ReadonlySet<string>; instance?: string },
  change: { at: number; name: string; address: string },
): ResolverProof | undefined {
  const asked = askedSince(read, client, change.at);
  if (asked.asked !== 'before') return undefined;
  const { last, who } = asked;
  return {
    source: 'resolver-query-logs',
    detail: `the Route 53 Resolver query logs show ${who} last asked for ${change.name} at ${new Date(last).toISOString()}, while ${change.address} was still in its answer (seen until ${new Date(change.at).toISOString()}), and not since: it has not re-resolved, it will not move by itself`,
  };
}

/** Two reads' askers as one: the earliest first and latest last query of each host (the larger count: reads overlap). */
export function mergeAskers(a: readonly Asker[], b: readonly Asker[]): Asker[] {
  const out = new Map<string, Asker>();
  for (const x of [...a, ...b]) {
    const key = `${x.srcaddr ?? ''}|${x.instance ?? ''}`;
    const y = out.get(key);
    out.set(
      key,
      y
        ? { ...y, queries: Math.max(y.queries, x.queries), firstAsked: Math.min(y.firstAsked, x.firstAsked), lastAsked: Math.max(y.lastAsked, x.lastAsked) }
        : { ...x },
    );
  }
  return [...out.values()].sort((p, q) => q.lastAsked - p.lastAsked);
}
