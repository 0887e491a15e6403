/**
 * The lab DNS server through Node's own resolver (c-ares), the way ipdrift queries it.
 * Addresses: the server binds 127.0.0.100; record data may name any address (never bound).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Resolver } from 'node:dns/promises';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import dnsPacket from 'dns-packet';
import { LabDnsServer } from '../../lab/dns-server.ts';
import type { DnsFault } from '../../lab/dns-server.ts';

const DNS_HOST = '127.0.0.100';
const RESOLVER_TIMEOUT_MS = 200;
const APP = 'app.lab.test';
/** Low four bits of the header flags (dns-packet's types omit its decoded `rcode`). */
const RCODE_MASK = 0xf;

let dns: LabDnsServer;

/** A fresh Resolver per query: some Node releases cache answers per Resolver. */
function ask(): Resolver {
  const resolver = new Resolver({ timeout: RESOLVER_TIMEOUT_MS, tries: 1 });
  resolver.setServers([dns.address]);
  return resolver;
}

/** One raw UDP query, to see what the resolver library hides (record order, flags). */
async function rawQuery(name: string, type: 'A' | 'AAAA' | 'CNAME') {
  const socket = createSocket('udp4');
  try {
    socket.send(dnsPacket.encode({ type: 'query', id: 7, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name }] }), dns.port, dns.host);
    const [msg] = (await once(socket, 'message')) as [Buffer];
    return dnsPacket.decode(msg);
  } finally {
    socket.close();
  }
}

beforeEach(async () => {
  dns = await LabDnsServer.start({ host: DNS_HOST });
});

afterEach(async () => {
  await dns.stop();
});

describe('LabDnsServer records', () => {
  it('answers A records with their TTL, whatever the case and trailing dot', async () => {
    // Prepare
    dns.setA(APP, ['10.1.0.11', '10.1.0.12'], 30);

    // Act
    const answer = await ask().resolve4('APP.Lab.Test.', { ttl: true });

    // Assess
    expect(answer).toEqual([
      { address: '10.1.0.11', ttl: 30 },
      { address: '10.1.0.12', ttl: 30 },
    ]);
    expect(dns.address).toBe(`${DNS_HOST}:${dns.port}`);
    expect(dns.queryCount(APP)).toBe(1);
  });

  it('answers AAAA records and NODATA for a type the name lacks', async () => {
    // Prepare
    dns.setAAAA('v6.lab.test', ['fd00::11'], 45);
    dns.setA(APP, ['10.1.0.11']);

    // Act
    const v6 = await ask().resolve6('v6.lab.test', { ttl: true });
    const missing = ask().resolve6(APP);

    // Assess
    expect(v6).toEqual([{ address: 'fd00::11', ttl: 45 }]);
    await expect(missing).rejects.toMatchObject({ code: 'ENODATA' });
  });

  it('follows a CNAME chain inside the zone, CNAMEs first, as an authoritative server does', async () => {
    // Prepare: cluster endpoint -> instance alias -> instance, like an Aurora writer endpoint.
    dns.setCname('orders.cluster.lab.test', 'writer.lab.test', 5);
    dns.setCname('writer.lab.test', 'orders-1.lab.test', 30);
    dns.setA('orders-1.lab.test', ['10.2.0.21'], 20);

    // Act
    const addresses = await ask().resolve4('orders.cluster.lab.test', { ttl: true });
    const cname = await ask().resolveCname('orders.cluster.lab.test');
    const raw = await rawQuery('orders.cluster.lab.test', 'A');

    // Assess: c-ares reports the smallest TTL along the chain, not the A record's own.
    expect(addresses).toEqual([{ address: '10.2.0.21', ttl: 5 }]);
    expect(cname).toEqual(['writer.lab.test']);
    expect((raw.flags ?? 0) & RCODE_MASK).toBe(0); // NOERROR
    expect(raw.flag_aa).toBe(true);
    expect(raw.answers?.map((a) => [a.type, a.name, 'data' in a ? a.data : undefined])).toEqual([
      ['CNAME', 'orders.cluster.lab.test', 'writer.lab.test'],
      ['CNAME', 'writer.lab.test', 'orders-1.lab.test'],
      ['A', 'orders-1.lab.test', '10.2.0.21'],
    ]);
  });

  it('answers NXDOMAIN for unknown and removed names, NODATA for an empty non-terminal', async () => {
    // Prepare
    dns.setA(APP, ['10.1.0.11']);
    dns.remove(APP);
    dns.setA('a.b.lab.test', ['10.1.0.13']);

    // Act
    const unknown = ask().resolve4('nope.lab.test');
    const removed = ask().resolve4(APP);
    const parent = ask().resolve4('b.lab.test');

    // Assess
    await expect(unknown).rejects.toMatchObject({ code: 'ENOTFOUND' });
    await expect(removed).rejects.toMatchObject({ code: 'ENOTFOUND' });
    await expect(parent).rejects.toMatchObject({ code: 'ENODATA' });
  });

  it('keeps a name with an emptied address list: NODATA, not NXDOMAIN', async () => {
    // Prepare
    dns.setA(APP, ['10.1.0.11']);
    dns.setA(APP, []);

    // Act
    const lookup = ask().resolve4(APP);

    // Assess
    await expect(lookup).rejects.toMatchObject({ code: 'ENODATA' });
  });

  it('rejects malformed records and non-loopback bind addresses', async () => {
    // Prepare
    const bad = [
      () => dns.setA(APP, ['fd00::1']),
      () => dns.setAAAA(APP, ['10.0.0.1']),
      () => dns.setA(APP, ['10.0.0.1'], -1),
      () => dns.setA(APP, ['10.0.0.1'], 60, { maxAnswers: 0 }),
    ];

    // Act
    const outside = LabDnsServer.start({ host: '10.0.0.1' });

    // Assess
    for (const call of bad) expect(call).toThrow(RangeError);
    await expect(outside).rejects.toThrow(/loopback/);
  });
});

describe('LabDnsServer faults', () => {
  it.each([
    ['servfail', 'ESERVFAIL'],
    ['refused', 'EREFUSED'],
    ['timeout', 'ETIMEOUT'],
  ] as const satisfies ReadonlyArray<readonly [DnsFault, string]>)('%s surfaces as %s', async (fault, code) => {
    // Prepare
    dns.setA(APP, ['10.1.0.11']);
    dns.setFault(APP, fault);

    // Act
    const lookup = ask().resolve4(APP);

    // Assess
    await expect(lookup).rejects.toMatchObject({ code });
    expect(dns.queryCount(APP)).toBe(1);
  });

  it("applies '*' to every name, a per-name fault first, and clears", async () => {
    // Prepare
    dns.setA(APP, ['10.1.0.11']);
    dns.setA('other.lab.test', ['10.1.0.12']);
    dns.setFault('*', 'servfail');
    dns.setFault(APP, 'refused');

    // Act
    const named = ask().resolve4(APP);
    const wildcard = ask().resolve4('other.lab.test');
    await Promise.allSettled([named, wildcard]);
    dns.setFault('*', undefined);
    dns.setFault(APP, undefined);
    const healed = await ask().resolve4(APP);

    // Assess
    await expect(named).rejects.toMatchObject({ code: 'EREFUSED' });
    await expect(wildcard).rejects.toMatchObject({ code: 'ESERVFAIL' });
    expect(healed).toEqual(['10.1.0.11']);
    expect(dns.queryCount()).toBe(3);
  });

  it('truncate: TC over UDP, c-ares retries over TCP and gets the full answer', async () => {
    // Prepare
    dns.setA(APP, ['10.1.0.11', '10.1.0.12']);
    dns.setFault(APP, 'truncate');

    // Act
    const answer = await ask().resolve4(APP);
    const raw = await rawQuery(APP, 'A');

    // Assess: one UDP query, one TCP retry from c-ares, then our raw UDP query.
    expect(answer).toEqual(['10.1.0.11', '10.1.0.12']);
    expect(raw.flag_tc).toBe(true);
    expect(raw.answers).toEqual([]);
    expect(dns.queryCount(APP)).toBe(3);
  });

  it('truncates an answer too big for UDP on its own; TCP carries all of it', async () => {
    // Prepare: 100 A records do not fit 512 bytes nor c-ares' EDNS buffer.
    const many = Array.from({ length: 100 }, (_, i) => `10.3.${i >> 4}.${i & 15}`);
    dns.setA('big.lab.test', many);

    // Act
    const answer = await ask().resolve4('big.lab.test');

    // Assess
    expect(answer).toEqual(many);
    expect(dns.queryCount('big.lab.test')).toBe(2);
  });
});

describe('LabDnsServer maxAnswers', () => {
  it('caps each answer and rotates the window so a few lookups see every address', async () => {
    // Prepare: a large ELB, 12 nodes, answered 8 at a time like Route 53.
    const nodes = Array.from({ length: 12 }, (_, i) => `10.4.0.${i + 1}`);
    dns.setA('elb.lab.test', nodes, 60, { maxAnswers: 8 });

    // Act
    const answers = [await ask().resolve4('elb.lab.test'), await ask().resolve4('elb.lab.test'), await ask().resolve4('elb.lab.test')];

    // Assess
    for (const a of answers) expect(a).toHaveLength(8);
    expect(new Set(answers[0])).not.toEqual(new Set(answers[1]));
    expect(new Set(answers.flat())).toEqual(new Set(nodes));
  });

  it('leaves a set at or under the cap whole', async () => {
    // Prepare
    const nodes = ['10.4.1.1', '10.4.1.2', '10.4.1.3'];
    dns.setA('small.lab.test', nodes, 60, { maxAnswers: 8 });

    // Act
    const answer = await ask().resolve4('small.lab.test');

    // Assess
    expect(answer).toEqual(nodes);
  });
});
