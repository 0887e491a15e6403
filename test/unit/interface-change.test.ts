/**
 * An ELB's interface calls: the parser over AWS's documented CloudTrail record, and what a
 * release does to the address history.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { applyInterfaceNews, diffAddresses } from '../../src/core/diff.ts';
import { interfaceChangeOf } from '../../src/core/interface-change.ts';
import type { InterfaceNews } from '../../src/core/interface-change.ts';
import type { AddressRecord, ResolutionOk } from '../../src/core/types.ts';
import { CREATE_RECORD_DOC, ENVELOPE_DOC, delivered, eniCreate, eniDelete } from '../fixtures/events/eni-calls.ts';

const FIXTURES = join(import.meta.dirname, '../fixtures/events');

describe('the documented CreateNetworkInterface record', () => {
  it("is the page's code block with exactly the three corrections its source note names", () => {
    // Prepare
    const verbatim = readFileSync(join(FIXTURES, 'cloudtrail-create-network-interface-docs.verbatim.txt'), 'utf8');
    // Act
    const corrected = verbatim.replaceAll('\u00a0', ' ').replaceAll('\u201d', '"').replace('"20You 19-10-23T22:50:05Z"', '"2019-10-23T22:50:05Z"');
    // Assess
    expect(() => JSON.parse(verbatim)).toThrow();
    expect(JSON.parse(corrected)).toEqual(CREATE_RECORD_DOC);
  });

  it('parses as delivered by EventBridge: interface, time, addresses and description', () => {
    // Act
    const change = interfaceChangeOf(delivered(CREATE_RECORD_DOC));
    // Assess
    expect(change).toEqual({
      call: 'CreateNetworkInterface',
      interfaceId: 'eni-0123456789abcdef0',
      at: '2019-10-23T22:50:05Z',
      addresses: ['192.0.2.0'],
      description: 'EFS mount target for fs-1234567 (fsmt-1234567)',
    });
  });
});

describe('interfaceChangeOf', () => {
  it('reads every address of an ELB interface, IPv6 included, once each', () => {
    // Prepare
    const event = eniCreate({ interfaceId: 'eni-0aaa', at: '2026-12-01T10:00:00Z', addresses: ['10.0.1.5', '10.0.1.6'] }) as {
      detail: { responseElements: { networkInterface: Record<string, unknown> } };
    };
    const ni = event.detail.responseElements.networkInterface;
    ni.ipv6AddressesSet = { item: [{ ipv6Address: '2001:db8::5' }, { ipv6Address: 'not-an-address' }] };
    // Act
    const change = interfaceChangeOf(event);
    // Assess
    expect(change).toMatchObject({ call: 'CreateNetworkInterface', interfaceId: 'eni-0aaa', addresses: ['10.0.1.5', '10.0.1.6', '2001:db8::5'] });
    expect(change).toMatchObject({ description: 'ELB app/my-alb/50dc6c495c0c9188' });
  });

  it('reads a deletion from its request (the answer names nothing)', () => {
    expect(interfaceChangeOf(eniDelete({ interfaceId: 'eni-0aaa', at: '2026-12-01T10:05:00Z' }))).toEqual({
      call: 'DeleteNetworkInterface',
      interfaceId: 'eni-0aaa',
      at: '2026-12-01T10:05:00Z',
    });
  });

  it('ignores a call that failed, other calls, other events and junk', () => {
    // Prepare
    const failed = eniDelete({ interfaceId: 'eni-0aaa', at: '2026-12-01T10:05:00Z' }) as { detail: Record<string, unknown> };
    failed.detail.errorCode = 'Client.InvalidNetworkInterfaceID.NotFound';
    // Act / Assess
    expect(interfaceChangeOf(failed)).toBeUndefined();
    expect(interfaceChangeOf(ENVELOPE_DOC)).toBeUndefined();
    expect(interfaceChangeOf({ 'detail-type': 'Scheduled Event', detail: {} })).toBeUndefined();
    for (const junk of [null, 42, 'x', [], { 'detail-type': 'AWS API Call via CloudTrail', detail: [] }]) expect(interfaceChangeOf(junk)).toBeUndefined();
    const noId = eniDelete({ interfaceId: '', at: '2026-12-01T10:05:00Z' });
    expect(interfaceChangeOf(noId)).toBeUndefined();
  });
});

describe('applyInterfaceNews', () => {
  const rec = (address: string, over: Partial<AddressRecord> = {}): AddressRecord => ({
    address,
    firstSeen: '2026-12-01T09:00:00.000Z',
    lastSeen: '2026-12-01T09:30:00.000Z',
    ...over,
  });
  const released = (address: string, at = '2026-12-01T10:00:00Z'): InterfaceNews => ({ released: [{ address, at, interfaceId: 'eni-0aaa' }], assigned: [] });

  it('marks a released address once, retired or still listed', () => {
    // Prepare
    const records = [rec('10.0.1.5', { retiredAt: '2026-12-01T09:31:00.000Z' }), rec('10.0.1.6')];
    // Act
    const first = applyInterfaceNews(records, released('10.0.1.5'));
    const again = applyInterfaceNews(first.records, released('10.0.1.5'));
    const listed = applyInterfaceNews(records, released('10.0.1.6'));
    // Assess
    expect(first.released).toEqual(['10.0.1.5']);
    expect(first.records[0]!.released).toEqual({ at: '2026-12-01T10:00:00Z', interfaceId: 'eni-0aaa' });
    expect(first.records[1]!.released).toBeUndefined();
    expect(again.released).toEqual([]);
    expect(again.records).toEqual(first.records);
    expect(listed.released).toEqual(['10.0.1.6']);
  });

  it('ignores a release older than the address in this history (an earlier holder), and a new interface ends a release', () => {
    // Prepare
    const records = [rec('10.0.1.5', { released: { at: '2026-12-01T08:00:00Z', interfaceId: 'eni-0old' } }), rec('10.0.1.6')];
    // Act
    const older = applyInterfaceNews(records, released('10.0.1.6', '2026-12-01T08:59:00Z'));
    const reassigned = applyInterfaceNews(records, { released: [], assigned: ['10.0.1.5'] });
    // Assess
    expect(older.released).toEqual([]);
    expect(reassigned.records[0]!.released).toBeUndefined();
  });

  it('a released address listed again after its retirement is no longer released (diff)', () => {
    // Prepare
    const answer = (addresses: string[]): ResolutionOk => ({
      ok: true,
      host: 'elb',
      queried: 'all.elb',
      addresses: addresses.map((address) => ({ address, family: 4, ttl: 60 })),
      cname: [],
      complete: true,
      lookups: 1,
      durationMs: 1,
    });
    const released = { at: '2026-12-01T10:00:00Z', interfaceId: 'eni-0aaa' };
    const records = [rec('10.0.1.5', { retiredAt: '2026-12-01T09:31:00.000Z', released }), rec('10.0.1.6', { released })];
    // Act
    const next = diffAddresses(records, answer(['10.0.1.5', '10.0.1.6']), new Date('2026-12-01T10:10:00Z'), 60);
    // Assess
    expect(next.added).toEqual(['10.0.1.5']);
    expect(next.addresses.find((r) => r.address === '10.0.1.5')!.released).toBeUndefined();
    // Still listed, never retired: DNS names an address the ELB gave back; the mark stays.
    expect(next.addresses.find((r) => r.address === '10.0.1.6')!.released).toEqual(released);
  });
});
