/**
 * The data and answer logic of the lab DNS server, free of sockets: which records a name has
 * and what an authoritative server answers for a question (CNAME chains, NODATA, NXDOMAIN,
 * capped and rotating address sets like Route 53 gives for large ELBs).
 */
import { isIPv4, isIPv6 } from 'node:net';
import type { Answer, Question } from 'dns-packet';

/** DNS response codes the lab uses (RFC 1035 4.1.1). */
export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;

/** Default TTL in seconds: the one AWS gives ELB records. */
export const DEFAULT_TTL_SECONDS = 60 as const;

/** Longest CNAME chain followed; a longer one (or a loop) is answered SERVFAIL, like BIND. */
const MAX_CNAME_HOPS = 16 as const;
/** RFC 2181: a TTL is an unsigned 31-bit number. */
const MAX_TTL_SECONDS = 2 ** 31 - 1;

/** Options of an A or AAAA record set. */
export interface AddressSetOptions {
  /**
   * Return at most this many addresses per answer, a different window each query (Route 53
   * answers a large ELB with 8 of its addresses and varies which).
   */
  maxAnswers?: number;
}

interface AddressSet {
  readonly addresses: readonly string[];
  readonly ttl: number;
  readonly maxAnswers: number | undefined;
  /** Answers given so far: moves the window of a capped set. */
  served: number;
}

interface Entry {
  A?: AddressSet;
  AAAA?: AddressSet;
  CNAME?: { readonly target: string; readonly ttl: number };
}

/** What the zone answers to one question. */
export interface ZoneAnswer {
  rcode: number;
  answers: Answer[];
}

/** Lower case, no trailing dot: DNS names compare case-insensitively and `x.` is `x`. */
export function normalizeName(name: string): string {
  return name.trim().replace(/\.+$/, '').toLowerCase();
}

function checkTtl(ttl: number): number {
  if (!Number.isInteger(ttl) || ttl < 0 || ttl > MAX_TTL_SECONDS) throw new RangeError(`TTL must be 0-${MAX_TTL_SECONDS} seconds, got ${ttl}`);
  return ttl;
}

function checkName(name: string): string {
  const n = normalizeName(name);
  if (n === '') throw new RangeError('a record needs a non-empty name');
  return n;
}

/** The records of the lab, one flat zone: every name set here is authoritative data. */
export class LabZone {
  readonly #entries = new Map<string, Entry>();

  /** Replaces the A or AAAA set of `name`; an alias (CNAME) there is dropped, as a name cannot be both. */
  setAddresses(type: 'A' | 'AAAA', name: string, addresses: readonly string[], ttl: number, opts: AddressSetOptions = {}): void {
    const valid = type === 'A' ? isIPv4 : isIPv6;
    const bad = addresses.find((a) => !valid(a));
    if (bad !== undefined) throw new RangeError(`${type} record of ${name}: "${bad}" is not an IPv${type === 'A' ? 4 : 6} address`);
    const { maxAnswers } = opts;
    if (maxAnswers !== undefined && (!Number.isInteger(maxAnswers) || maxAnswers < 1))
      throw new RangeError(`maxAnswers must be a positive integer, got ${maxAnswers}`);
    const key = checkName(name);
    const entry = this.#entries.get(key) ?? {};
    delete entry.CNAME;
    // An empty list keeps the name (NODATA for this type) rather than deleting it (NXDOMAIN).
    if (addresses.length === 0) delete entry[type];
    else entry[type] = { addresses: [...addresses], ttl: checkTtl(ttl), maxAnswers, served: 0 };
    this.#entries.set(key, entry);
  }

  /** Makes `name` an alias of `target`, replacing any other record of `name`. */
  setCname(name: string, target: string, ttl: number): void {
    this.#entries.set(checkName(name), { CNAME: { target: checkName(target), ttl: checkTtl(ttl) } });
  }

  /** Deletes every record of `name`: it answers NXDOMAIN from now on. */
  remove(name: string): void {
    this.#entries.delete(normalizeName(name));
  }

  /** Answers one question the way an authoritative server does. */
  answer(question: Question): ZoneAnswer {
    const answers: Answer[] = [];
    const seen = new Set<string>();
    // The first owner name keeps the question's spelling: resolvers match it against what they asked.
    let owner = question.name.replace(/\.+$/, '');
    let key = normalizeName(owner);
    for (let hop = 0; hop <= MAX_CNAME_HOPS; hop++) {
      const entry = this.#entries.get(key);
      if (!entry) {
        // RFC 6604: the rcode describes the last name of the chain; an empty non-terminal exists.
        return { rcode: this.#hasDescendant(key) ? RCODE.NOERROR : RCODE.NXDOMAIN, answers };
      }
      const alias = entry.CNAME;
      if (alias && question.type !== 'CNAME') {
        if (seen.has(key)) break;
        seen.add(key);
        answers.push({ type: 'CNAME', name: owner, ttl: alias.ttl, class: 'IN', data: alias.target });
        owner = key = alias.target;
        continue;
      }
      answers.push(...this.#records(entry, question.type, owner));
      return { rcode: RCODE.NOERROR, answers }; // no records of the type: NODATA
    }
    return { rcode: RCODE.SERVFAIL, answers: [] };
  }

  #records(entry: Entry, type: Question['type'], owner: string): Answer[] {
    const out: Answer[] = [];
    if (type === 'CNAME' && entry.CNAME) out.push({ type: 'CNAME', name: owner, ttl: entry.CNAME.ttl, class: 'IN', data: entry.CNAME.target });
    for (const t of ['A', 'AAAA'] as const) {
      const set = entry[t];
      if (set && (type === t || (type as string) === 'ANY')) {
        for (const address of window(set)) out.push({ type: t, name: owner, ttl: set.ttl, class: 'IN', data: address });
      }
    }
    return out;
  }

  #hasDescendant(key: string): boolean {
    const suffix = `.${key}`;
    for (const name of this.#entries.keys()) if (name.endsWith(suffix)) return true;
    return false;
  }
}

/** The addresses one answer carries: all, or the next `maxAnswers` of them (wrapping). */
function window(set: AddressSet): readonly string[] {
  const { addresses, maxAnswers } = set;
  if (maxAnswers === undefined || addresses.length <= maxAnswers) return addresses;
  const start = (set.served++ * maxAnswers) % addresses.length;
  return Array.from({ length: maxAnswers }, (_, i) => addresses[(start + i) % addresses.length] as string);
}
