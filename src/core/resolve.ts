/**
 * Name resolution with a fresh resolver per check (some Node 20/22 releases cache answers per
 * Resolver; one per target cost 50 us of CPU each at 1,000 targets), A and AAAA with TTLs, the CNAME chain, typed failures, and the ELB rules:
 * ask `all.<host>` first (it lists every node), fall back to the plain name, and union several
 * lookups when a plain answer may be capped at 8 addresses.
 */
import { Resolver } from 'node:dns/promises';
import { performance } from 'node:perf_hooks';
import { LIMITS } from './constants.ts';
import type { ResolutionErrorCode, Resolution, ResolvedAddress, ResolutionOk } from './types.ts';
import { parseResolver } from './config.ts';
import { IpdriftError } from './errors.ts';

/** How to reach DNS: explicit servers (`host`/`host:port`) or the system's. */
export interface ResolveOptions {
  resolvers?: readonly string[];
  timeoutMs?: number;
  tries?: number;
}

/** A lookup failure with its typed code. */
export class LookupError extends IpdriftError {
  override readonly name = 'LookupError';
  constructor(
    readonly code: ResolutionErrorCode,
    readonly host: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

const DNS_ERROR_CODES: Record<string, ResolutionErrorCode> = {
  ETIMEOUT: 'timeout',
  ECONNREFUSED: 'refused',
  EREFUSED: 'refused',
  ESERVFAIL: 'servfail',
  ENOTFOUND: 'nxdomain',
  ENODATA: 'nodata',
};

const CODE_TEXT: Record<ResolutionErrorCode, string> = {
  timeout: 'no answer from the resolver (timeout)',
  refused: 'the resolver refused the query',
  servfail: 'the resolver answered SERVFAIL',
  nxdomain: 'the name does not exist (NXDOMAIN)',
  nodata: 'the name has no A or AAAA records',
  unusable: 'every address in the answer is one no node can have (not probed)',
  error: 'lookup failed',
};

const MAX_CNAME_HOPS = 8;

/** Creates the resolver for one check. */
export function createResolver(opts: ResolveOptions = {}): Resolver {
  const resolver = new Resolver({ timeout: opts.timeoutMs ?? LIMITS.dnsTimeoutMs, tries: opts.tries ?? LIMITS.dnsTries });
  if (opts.resolvers?.length) {
    resolver.setServers(
      opts.resolvers.map((spec) => {
        const r = parseResolver(spec);
        if (!r) throw new Error(`invalid resolver "${spec}"`);
        return r.host.includes(':') ? `[${r.host}]:${r.port}` : `${r.host}:${r.port}`;
      }),
    );
  }
  return resolver;
}

/** The failure of a lookup the check's deadline stopped (in flight, or before it started). */
function deadlineError(name: string): LookupError {
  return new LookupError('timeout', name, `${name}: no answer before the check's deadline`);
}

/**
 * Ties `resolver` to the check's deadline: queries in flight are cancelled when `signal` aborts
 * (lookups then refuse to start, see {@link lookupAddresses}). Returns the unbinding.
 */
function bindDeadline(resolver: Resolver, signal: AbortSignal | undefined): () => void {
  if (!signal) return () => undefined;
  const cancel = () => resolver.cancel();
  signal.addEventListener('abort', cancel, { once: true });
  return () => signal.removeEventListener('abort', cancel);
}

/**
 * Resolvers tied to the deadline for one lookup: `bind` ties one (a fresh one from `make` when
 * none is given), `release` unties them all when the lookup is done.
 */
function deadlineBound(signal: AbortSignal | undefined, make: () => Resolver) {
  const unbinds: (() => void)[] = [];
  return {
    bind: (r: Resolver = make()) => {
      unbinds.push(bindDeadline(r, signal));
      return r;
    },
    release: () => {
      for (const unbind of unbinds) unbind();
    },
  };
}

function toLookupError(err: unknown, host: string): LookupError {
  const code = DNS_ERROR_CODES[(err as { code?: string })?.code ?? ''] ?? 'error';
  const detail = code === 'error' && err instanceof Error ? `: ${err.message}` : '';
  return new LookupError(code, host, `${host}: ${CODE_TEXT[code]}${detail}`, { cause: err });
}

/** The addresses of one lookup, and the families whose query failed (not NODATA: an error). */
interface Lookup {
  addresses: ResolvedAddress[];
  failedFamilies: (4 | 6)[];
  /** Whether every failed family failed by a timeout (asked again alone, it would only wait again). */
  familiesTimedOut?: boolean;
}

/**
 * A and AAAA of one name; NODATA on one family is normal, on both is a failure. A family whose
 * query failed while the other answered is reported in `failedFamilies`: its addresses are
 * unknown this check, not gone. Once `signal` has aborted no query starts, and an answer a
 * cancel cut short is a deadline failure (never half an answer read as "these are all the addresses").
 */
async function lookupAddresses(resolver: Resolver, name: string, signal?: AbortSignal): Promise<Lookup> {
  if (signal?.aborted) throw deadlineError(name);
  const [v4, v6] = await Promise.allSettled([resolver.resolve4(name, { ttl: true }), resolver.resolve6(name, { ttl: true })]);
  if (signal?.aborted && (v4.status === 'rejected' || v6.status === 'rejected')) throw deadlineError(name);
  const out: ResolvedAddress[] = [];
  if (v4.status === 'fulfilled') out.push(...v4.value.map((r) => ({ address: r.address, family: 4 as const, ttl: r.ttl })));
  if (v6.status === 'fulfilled') out.push(...v6.value.map((r) => ({ address: r.address, family: 6 as const, ttl: r.ttl })));
  const failedFamilies: (4 | 6)[] = [];
  if (v4.status === 'rejected' && !isNoData(v4.reason)) failedFamilies.push(4);
  if (v6.status === 'rejected' && !isNoData(v6.reason)) failedFamilies.push(6);
  if (out.length > 0) {
    const timedOut = [v4, v6].every((r) => r.status === 'fulfilled' || isNoData(r.reason) || toLookupError(r.reason, name).code === 'timeout');
    return { addresses: out, failedFamilies, ...(failedFamilies.length && timedOut ? { familiesTimedOut: true } : {}) };
  }
  // Prefer the IPv4 error: it is the one that says why (NXDOMAIN, SERVFAIL, timeout).
  const failure = v4.status === 'rejected' ? v4.reason : v6.status === 'rejected' ? v6.reason : undefined;
  throw failure ? toLookupError(failure, name) : new LookupError('nodata', name, `${name}: ${CODE_TEXT.nodata}`);
}

/** Failures that are the server's answer about the name: asking again elsewhere changes nothing. */
const ANSWERS: ReadonlySet<ResolutionErrorCode> = new Set(['nxdomain', 'nodata']);

/**
 * A lookup on the check's shared resolver, asked again on a resolver of its own (`alone`) when it
 * failed other than by an answer or a timeout, or when one family failed: a c-ares channel shares
 * one TCP connection among its queries, so a server that drops another name's DNS over TCP fails
 * this one's too (test/faults/dns-faults.test.ts). Only failures pay for a channel of their own
 * (a channel per name cost 14 % more CPU in the 8,000-probe bench). A timeout is not asked again:
 * it would double the wait for a name whose server is silent.
 */
async function lookupIsolated(shared: Resolver, alone: (() => Resolver) | undefined, name: string, signal?: AbortSignal): Promise<Lookup> {
  let first: Lookup;
  try {
    first = await lookupAddresses(shared, name, signal);
  } catch (err) {
    const e = err instanceof LookupError ? err : toLookupError(err, name);
    if (!alone || signal?.aborted || ANSWERS.has(e.code) || e.code === 'timeout') throw e;
    return lookupAddresses(alone(), name, signal);
  }
  if (!alone || first.failedFamilies.length === 0 || first.familiesTimedOut || signal?.aborted) return first;
  return lookupAddresses(alone(), name, signal).catch(() => first);
}

/** True for "the name has no records of this type": an answer, not a failure. */
const isNoData = (err: unknown) => (err as { code?: string })?.code === 'ENODATA';

/** Follows CNAMEs from `name`; returns the chain of targets (empty when `name` is not an alias). */
export async function cnameChain(resolver: Resolver, name: string, signal?: AbortSignal): Promise<string[]> {
  const chain: string[] = [];
  let current = name;
  for (let hop = 0; hop < MAX_CNAME_HOPS; hop++) {
    if (signal?.aborted) break;
    let next: string[];
    try {
      next = await resolver.resolveCname(current);
    } catch {
      break; // ENODATA: not an alias; other errors surface through the address lookup.
    }
    const target = next[0];
    if (!target || chain.includes(target)) break;
    chain.push(target);
    current = target;
  }
  return chain;
}

function union(lists: ResolvedAddress[][]): ResolvedAddress[] {
  const byAddress = new Map<string, ResolvedAddress>();
  for (const list of lists) for (const a of list) if (!byAddress.has(a.address)) byAddress.set(a.address, a);
  return [...byAddress.values()].sort(compareAddresses);
}

/** Families that failed in any of the lookups (an address of them may be missing from the union). */
const failedIn = (lookups: readonly Lookup[]): (4 | 6)[] => [...new Set(lookups.flatMap((l) => l.failedFamilies))].sort();

/** One collator for every sort: building one per comparison was a top CPU frame at 8,000 addresses. */
const ADDRESS_ORDER = new Intl.Collator('en', { numeric: true });

/** Sorts addresses numerically-ish so output is stable. */
export function compareAddresses(a: ResolvedAddress, b: ResolvedAddress): number {
  return a.family - b.family || ADDRESS_ORDER.compare(a.address, b.address);
}

/**
 * Resolves a plain name (Aurora endpoints, anything that is not an ELB): one lookup with its
 * CNAME chain. Never throws: failures come back as `{ ok: false, code }`. `signal` (the check's
 * deadline) cancels the lookup: code 'timeout'.
 */
export async function resolveName(host: string, resolver: Resolver, signal?: AbortSignal, alone?: () => Resolver): Promise<Resolution> {
  const start = performance.now();
  const bound = deadlineBound(signal, alone ?? (() => resolver));
  bound.bind(resolver);
  try {
    const [lookup, cname] = await Promise.all([
      lookupIsolated(resolver, alone ? () => bound.bind() : undefined, host, signal),
      cnameChain(resolver, host, signal),
    ]);
    return {
      ok: true,
      host,
      queried: host,
      addresses: lookup.addresses.sort(compareAddresses),
      cname,
      complete: true,
      lookups: 1,
      durationMs: Math.round(performance.now() - start),
      ...families(lookup.failedFamilies),
    };
  } catch (err) {
    return failed(host, err, start);
  } finally {
    bound.release();
  }
}

/** `failedFamilies` only when some family failed (the common answer carries no empty list). */
const families = (failed: (4 | 6)[]) => (failed.length > 0 ? { failedFamilies: failed } : {});

function failed(host: string, err: unknown, start: number): Resolution {
  const e = err instanceof LookupError ? err : toLookupError(err, host);
  return { ok: false, host, code: e.code, message: e.message, durationMs: Math.round(performance.now() - start) };
}

/**
 * Resolves an ELB name: `all.<host>` first; the plain name when `all.` has no answer. A plain
 * answer with 8 or more addresses may be capped, so it is the union of several lookups and
 * marked incomplete (the diff then retires an address only after repeated absence). `signal`
 * (the check's deadline) cancels every lookup, and no fallback starts after it: code 'timeout'.
 * `shared` (the check's resolver) asks the first questions, and a fresh resolver asks again what
 * failed there (see lookupIsolated); the union's extra lookups always get fresh resolvers, so that
 * no answer cache can repeat the first one.
 */
export async function resolveElb(host: string, newResolver: () => Resolver, signal?: AbortSignal, shared?: Resolver): Promise<Resolution> {
  const start = performance.now();
  const bare = host.replace(/\.$/, '');
  const allName = `all.${bare}`;
  const bound = deadlineBound(signal, newResolver);
  try {
    const resolver = bound.bind(shared);
    const alone = shared ? () => bound.bind() : undefined;
    const all = await lookupIsolated(resolver, alone, allName, signal).catch((err: unknown) => {
      const e = err instanceof LookupError ? err : toLookupError(err, allName);
      // Any failure of `all.` falls back to the plain name: usually there is no `all.` record
      // (NXDOMAIN, NODATA); a timeout or SERVFAIL may be the resolver's, and the plain name may
      // still answer.
      return e;
    });
    if (!(all instanceof LookupError)) {
      const cname = await cnameChain(resolver, allName, signal);
      return ok(allName, [all], cname, true, 1);
    }
    const [first, cname] = await Promise.all([lookupIsolated(resolver, alone, bare, signal), cnameChain(resolver, bare, signal)]);
    if (first.addresses.length < LIMITS.elbAnswerCap) return ok(bare, [first], cname, true, 2);
    const more = await Promise.all(Array.from({ length: LIMITS.incompleteLookups - 1 }, () => lookupAddresses(bound.bind(), bare, signal)));
    return ok(bare, [first, ...more], cname, false, 1 + LIMITS.incompleteLookups);
  } catch (err) {
    return failed(host, err, start);
  } finally {
    bound.release();
  }

  function ok(queried: string, results: Lookup[], cname: string[], complete: boolean, lookups: number): ResolutionOk {
    return {
      ok: true,
      host,
      queried,
      addresses: union(results.map((r) => r.addresses)),
      cname,
      complete,
      lookups,
      durationMs: Math.round(performance.now() - start),
      ...families(failedIn(results)),
    };
  }
}
