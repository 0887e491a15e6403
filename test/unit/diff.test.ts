import { describe, expect, it } from 'vitest';
import { diffAddresses } from '../../src/core/diff.ts';
import { LIMITS } from '../../src/core/constants.ts';
import type { AddressRecord, ResolutionOk } from '../../src/core/types.ts';

const T0 = new Date('2026-11-25T00:00:00Z');
const at = (minutes: number) => new Date(T0.getTime() + minutes * 60_000);
const answer = (addresses: string[], complete = true): ResolutionOk => ({
  ok: true,
  host: 'elb',
  queried: 'all.elb',
  addresses: addresses.map((a) => ({ address: a, family: 4, ttl: 60 })),
  cname: [],
  complete,
  lookups: 1,
  durationMs: 1,
});
const RETAIN = 60;

describe('diffAddresses', () => {
  it('records first/last seen and retires a missing address at once on a complete answer', () => {
    // Prepare
    const first = diffAddresses([], answer(['10.0.0.1', '10.0.0.2']), at(0), RETAIN);
    // Act
    const second = diffAddresses(first.addresses, answer(['10.0.0.2', '10.0.0.3']), at(1), RETAIN);
    // Assess
    expect(first.added).toEqual(['10.0.0.1', '10.0.0.2']);
    expect(second.added).toEqual(['10.0.0.3']);
    expect(second.retired).toEqual(['10.0.0.1']);
    const byAddr = Object.fromEntries(second.addresses.map((r) => [r.address, r]));
    expect(byAddr['10.0.0.1']).toMatchObject({ firstSeen: at(0).toISOString(), lastSeen: at(0).toISOString(), retiredAt: at(1).toISOString() });
    expect(byAddr['10.0.0.2']).toMatchObject({ firstSeen: at(0).toISOString(), lastSeen: at(1).toISOString() });
    expect(byAddr['10.0.0.2']?.retiredAt).toBeUndefined();
  });

  it("keeps the largest TTL seen: a caching resolver's countdown neither shortens the wait for caches nor changes the record", () => {
    // Prepare: the VPC resolver answers 60 s first, then with what its cached copy has left.
    const withTtl = (ttl: number) => ({ ...answer(['10.0.0.1']), addresses: [{ address: '10.0.0.1', family: 4 as const, ttl }] });
    const first = diffAddresses([], withTtl(60), at(0), RETAIN);
    // Act
    const counted = diffAddresses(first.addresses, withTtl(12), at(1), RETAIN);
    const again = diffAddresses(counted.addresses, withTtl(47), at(2), RETAIN);
    const retired = diffAddresses(again.addresses, answer([]), at(3), RETAIN);
    // Assess
    expect(counted.addresses[0]!.ttl).toBe(60);
    expect(again.addresses[0]!.ttl).toBe(60);
    expect(retired.addresses[0]).toMatchObject({ address: '10.0.0.1', ttl: 60, retiredAt: at(3).toISOString() });
  });

  it(`retires from an incomplete answer only after ${LIMITS.missingChecksToRetire} checks missing`, () => {
    // Prepare
    const base = diffAddresses([], answer(['10.0.0.1', '10.0.0.2'], false), at(0), RETAIN).addresses;
    // Act
    const once = diffAddresses(base, answer(['10.0.0.2'], false), at(1), RETAIN);
    const twice = diffAddresses(once.addresses, answer(['10.0.0.2'], false), at(2), RETAIN);
    // Assess
    expect(once.retired).toEqual([]);
    expect(once.addresses.find((r) => r.address === '10.0.0.1')?.missingChecks).toBe(1);
    expect(twice.retired).toEqual(['10.0.0.1']);
  });

  it('resets the missing count when the address comes back', () => {
    const base = diffAddresses([], answer(['10.0.0.1'], false), at(0), RETAIN).addresses;
    const missing = diffAddresses(base, answer(['10.0.0.9'], false), at(1), RETAIN).addresses;
    const back = diffAddresses(missing, answer(['10.0.0.1'], false), at(2), RETAIN);
    expect(back.addresses.find((r) => r.address === '10.0.0.1')?.missingChecks).toBeUndefined();
    expect(back.retired).toEqual([]);
  });

  it('un-retires an address that returns and reports it as added', () => {
    const base = diffAddresses([], answer(['10.0.0.1']), at(0), RETAIN).addresses;
    const gone = diffAddresses(base, answer(['10.0.0.2']), at(1), RETAIN).addresses;
    const back = diffAddresses(gone, answer(['10.0.0.1', '10.0.0.2']), at(2), RETAIN);
    expect(back.added).toEqual(['10.0.0.1']);
    expect(back.addresses.find((r) => r.address === '10.0.0.1')?.retiredAt).toBeUndefined();
  });

  it('drops retired addresses once retention ends', () => {
    const base = diffAddresses([], answer(['10.0.0.1']), at(0), RETAIN).addresses;
    const gone = diffAddresses(base, answer(['10.0.0.2']), at(1), RETAIN).addresses;
    const kept = diffAddresses(gone, answer(['10.0.0.2']), at(1 + RETAIN), RETAIN);
    const dropped = diffAddresses(gone, answer(['10.0.0.2']), at(2 + RETAIN), RETAIN);
    expect(kept.addresses.map((r) => r.address)).toContain('10.0.0.1');
    expect(dropped.dropped).toEqual(['10.0.0.1']);
    expect(dropped.addresses.map((r) => r.address)).toEqual(['10.0.0.2']);
  });

  it(`keeps at most ${LIMITS.maxRetiredAddresses} retired addresses when a name churns 1,000 addresses`, () => {
    // Prepare
    let records: AddressRecord[] = [];
    // Act
    for (let i = 0; i < 1000; i++) records = diffAddresses(records, answer([`10.1.${Math.floor(i / 250)}.${i % 250}`]), at(i / 100), 100_000).addresses;
    // Assess
    expect(records.filter((r) => r.retiredAt).length).toBe(LIMITS.maxRetiredAddresses);
    expect(records.filter((r) => !r.retiredAt).map((r) => r.address)).toEqual(['10.1.3.249']);
    expect(JSON.stringify(records).length).toBeLessThan(100_000);
  });
});
