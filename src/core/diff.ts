/**
 * Address history: which addresses came, which left, first/last seen, retirement and retention.
 * Pure: the caller passes `now`. A failed lookup never reaches here (it changes no history),
 * and a failed address family changes nothing of that family.
 */
import { isIPv6 } from 'node:net';
import { LIMITS } from './constants.ts';
import type { InterfaceNews } from './interface-change.ts';
import type { AddressRecord, ResolutionOk } from './types.ts';
import { MS_PER_MINUTE } from './time-units.ts';

/** The outcome of one diff. */
export interface AddressDiff {
  addresses: AddressRecord[];
  /** Addresses new in this answer (including ones that came back after retirement). */
  added: string[];
  /** Addresses retired in this check. */
  retired: string[];
  /** Retired addresses dropped because their retention ended (or the retired list was full). */
  dropped: string[];
}

/** Current (not retired) records. */
export const currentOf = (records: readonly AddressRecord[]) => records.filter((r) => r.retiredAt === undefined);
/** Retired records still retained. */
export const retiredOf = (records: readonly AddressRecord[]) => records.filter((r) => r.retiredAt !== undefined);

/**
 * Applies one successful resolution to the history. An address missing from a complete answer
 * is retired at once; from an incomplete one (capped ELB answer) only after it is missing from
 * LIMITS.missingChecksToRetire checks in a row.
 */
export function diffAddresses(previous: readonly AddressRecord[], resolution: ResolutionOk, now: Date, retainRetiredMinutes: number): AddressDiff {
  const at = now.toISOString();
  const ttls = new Map(resolution.addresses.map((a) => [a.address, a.ttl]));
  const answer = new Set(ttls.keys());
  const added: string[] = [];
  const retired: string[] = [];
  const dropped: string[] = [];
  const next: AddressRecord[] = [];
  const known = new Set<string>();
  // A family whose query failed told nothing about its addresses: they stay as they were.
  const unknownFamilies = new Set(resolution.failedFamilies ?? []);
  const familyOf = (address: string): 4 | 6 => (isIPv6(address) ? 6 : 4);

  for (const prev of previous) {
    known.add(prev.address);
    if (!answer.has(prev.address) && unknownFamilies.has(familyOf(prev.address))) {
      next.push(prev);
      continue;
    }
    if (answer.has(prev.address)) {
      // Listed again: whatever went is back (`goneSince` is of the last retirement only).
      const { retiredAt, missingChecks: _m, released, goneSince: _g, ...rest } = prev;
      if (retiredAt !== undefined) added.push(prev.address);
      // Listed again after its retirement: an interface holds it again, its release is over.
      // The largest TTL seen: a caching resolver (the VPC's) answers with the time its own copy
      // has left, and a client may have cached the record for the full TTL, so judging a web
      // tier stale after a countdown value would page inside the TTL (and every countdown
      // value would look like a change worth writing).
      next.push({ ...rest, ...(released && retiredAt === undefined ? { released } : {}), lastSeen: at, ttl: Math.max(prev.ttl ?? 0, ttls.get(prev.address)!) });
      continue;
    }
    if (prev.retiredAt !== undefined) {
      const expired = now.getTime() - Date.parse(prev.retiredAt) > retainRetiredMinutes * MS_PER_MINUTE;
      if (expired) dropped.push(prev.address);
      else next.push(prev);
      continue;
    }
    const missing = (prev.missingChecks ?? 0) + 1;
    if (resolution.complete || missing >= LIMITS.missingChecksToRetire) {
      const { missingChecks: _m, ...rest } = prev;
      next.push({ ...rest, retiredAt: at });
      retired.push(prev.address);
    } else {
      next.push({ ...prev, missingChecks: missing });
    }
  }
  for (const a of resolution.addresses) {
    if (known.has(a.address)) continue;
    next.push({ address: a.address, firstSeen: at, lastSeen: at, ttl: a.ttl });
    added.push(a.address);
  }
  return { addresses: capRetired(next, dropped), added, retired, dropped };
}

/** Keeps at most LIMITS.maxRetiredAddresses retired records (newest retirements win): bounded state. */
function capRetired(records: AddressRecord[], dropped: string[]): AddressRecord[] {
  const retired = retiredOf(records);
  if (retired.length <= LIMITS.maxRetiredAddresses) return records;
  const keep = new Set(
    retired
      .sort((a, b) => Date.parse(b.retiredAt!) - Date.parse(a.retiredAt!))
      .slice(0, LIMITS.maxRetiredAddresses)
      .map((r) => r.address),
  );
  return records.filter((r) => {
    if (r.retiredAt === undefined || keep.has(r.address)) return true;
    dropped.push(r.address);
    return false;
  });
}

/**
 * Marks the addresses whose interface the ELB deleted (ground truth: gone for good) and clears
 * the mark of those a new interface holds. A release older than the address's first sighting
 * in this history was of an earlier holder and is ignored. Returns the addresses released now.
 */
export function applyInterfaceNews(records: readonly AddressRecord[], news: InterfaceNews): { records: AddressRecord[]; released: string[] } {
  const releases = new Map(news.released.map((r) => [r.address, r]));
  const assigned = new Set(news.assigned);
  const released: string[] = [];
  const next = records.map((r) => {
    if (assigned.has(r.address) && r.released) {
      const { released: _r, ...rest } = r;
      return rest;
    }
    const rel = releases.get(r.address);
    if (!rel || r.released || Date.parse(rel.at) < Date.parse(r.firstSeen)) return r;
    released.push(r.address);
    return { ...r, released: { at: rel.at, interfaceId: rel.interfaceId } };
  });
  return { records: next, released };
}
