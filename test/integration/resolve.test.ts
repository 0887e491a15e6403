import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LabDnsServer } from '../../lab/dns-server.ts';
import { createResolver, resolveElb, resolveName } from '../../src/core/resolve.ts';
import type { ResolutionFailed, ResolutionOk } from '../../src/core/types.ts';

// Addresses of this file: 127.0.50.0/24 (no other test uses them).
const DNS_HOST = '127.0.50.1';
const addrs = (n: number, from = 1) => Array.from({ length: n }, (_, i) => `10.9.0.${from + i}`);

describe('resolve against the lab DNS server', () => {
  let dns: LabDnsServer;
  const fresh = () => createResolver({ resolvers: [dns.address], timeoutMs: 300, tries: 1 });

  beforeAll(async () => {
    dns = await LabDnsServer.start({ host: DNS_HOST, port: 0 });
  });
  afterAll(async () => {
    await dns.stop();
  });

  it('uses all.<host> when it answers, and calls the answer complete', async () => {
    // Prepare
    dns.setA('a.elb.test', addrs(2), 60);
    dns.setA('all.a.elb.test', addrs(12), 60);
    // Act
    const r = (await resolveElb('a.elb.test', fresh)) as ResolutionOk;
    // Assess
    expect(r).toMatchObject({ ok: true, queried: 'all.a.elb.test', complete: true });
    expect(r.addresses.map((a) => a.address)).toEqual(addrs(12));
    expect(r.addresses[0]).toMatchObject({ family: 4, ttl: 60 });
  });

  it('falls back to the plain name when all.<host> does not exist', async () => {
    dns.setA('b.elb.test', addrs(3), 30);
    dns.setAAAA('b.elb.test', ['fd00::1'], 30);
    const r = (await resolveElb('b.elb.test', fresh)) as ResolutionOk;
    expect(r).toMatchObject({ ok: true, queried: 'b.elb.test', complete: true });
    expect(r.addresses.map((a) => `${a.family}:${a.address}`)).toEqual(['4:10.9.0.1', '4:10.9.0.2', '4:10.9.0.3', '6:fd00::1']);
  });

  it('unions 3 lookups when a plain answer is capped at 8, and marks it incomplete', async () => {
    // Prepare: 12 nodes, 8 per answer, rotating (like Route 53 for a large ELB).
    dns.setA('c.elb.test', addrs(12), 60, { maxAnswers: 8 });
    // Act
    const r = (await resolveElb('c.elb.test', fresh)) as ResolutionOk;
    // Assess
    expect(r).toMatchObject({ ok: true, complete: false, lookups: 4 });
    expect(r.addresses.length).toBeGreaterThan(8);
  });

  it("asks the first questions on the check's shared resolver, the union's extra lookups on fresh ones", async () => {
    // Prepare: a capped, rotating answer; count the fresh resolvers made.
    dns.setA('d.elb.test', addrs(12), 60, { maxAnswers: 8 });
    dns.setA('e.elb.test', addrs(3), 60);
    const shared = fresh();
    let made = 0;
    const counted = () => {
      made++;
      return fresh();
    };
    // Act
    const capped = (await resolveElb('d.elb.test', counted, undefined, shared)) as ResolutionOk;
    const plain = (await resolveElb('e.elb.test', counted, undefined, shared)) as ResolutionOk;
    // Assess: 3 lookups of the capped name, 2 of them fresh; none for a plain answer.
    expect(capped).toMatchObject({ ok: true, complete: false, lookups: 4 });
    expect(capped.addresses.length).toBeGreaterThan(8);
    expect(plain).toMatchObject({ ok: true, complete: true });
    expect(made).toBe(2);
  });

  it('records the CNAME chain', async () => {
    dns.setCname('orders.cluster-x.rds.test', 'orders-1.x.rds.test', 5);
    dns.setA('orders-1.x.rds.test', ['10.9.1.1'], 5);
    const r = (await resolveName('orders.cluster-x.rds.test', fresh())) as ResolutionOk;
    expect(r.cname).toEqual(['orders-1.x.rds.test']);
    expect(r.addresses.map((a) => a.address)).toEqual(['10.9.1.1']);
  });

  it.each([
    ['servfail', 'servfail'],
    ['refused', 'refused'],
    ['timeout', 'timeout'],
  ] as const)('a %s from the server is a typed failure, never an empty set', async (fault, code) => {
    // Prepare
    dns.setA(`f-${fault}.elb.test`, addrs(2), 60);
    dns.setFault(`f-${fault}.elb.test`, fault);
    dns.setFault(`all.f-${fault}.elb.test`, fault);
    // Act
    const r = (await resolveElb(`f-${fault}.elb.test`, fresh)) as ResolutionFailed;
    // Assess
    expect(r).toMatchObject({ ok: false, code });
    expect(r.message).toContain(`f-${fault}.elb.test`);
  });

  it.each([
    ['servfail', 1, 'servfail'],
    ['refused', 1, 'refused'],
    ['timeout', 0, 'timeout'],
    ['nxdomain', 0, 'nxdomain'],
  ] as const)('a %s on the shared resolver is asked again alone %d time(s): only a failure that is not an answer nor a wait', async (fault, again, code) => {
    // Prepare: count the resolvers of its own the lookup makes.
    const name = `again-${fault}.test`;
    if (fault !== 'nxdomain') {
      dns.setA(name, addrs(1), 60);
      dns.setFault(name, fault);
    }
    let made = 0;
    const alone = () => {
      made++;
      return fresh();
    };
    // Act
    const r = await resolveName(name, fresh(), undefined, alone);
    // Assess
    expect(r).toMatchObject({ ok: false, code });
    expect(made).toBe(again);
  });

  it.each([
    ['servfail', 1],
    ['timeout', 0],
  ] as const)('half an answer (AAAA %s, A answers) is asked again alone %d time(s): a silent family would only wait again', async (fault, again) => {
    // Prepare
    const name = `half-again-${fault}.test`;
    dns.setA(name, addrs(1), 60);
    dns.setAAAA(name, ['fd00::9'], 60);
    dns.setFault(name, fault, 'AAAA');
    let made = 0;
    const alone = () => {
      made++;
      return fresh();
    };
    // Act
    const r = await resolveName(name, fresh(), undefined, alone);
    // Assess: the A answer stands either way, the AAAA family marked failed.
    expect(r).toMatchObject({ ok: true, failedFamilies: [6] });
    expect(made).toBe(again);
  });

  it('NXDOMAIN is a typed failure', async () => {
    const r = await resolveElb('missing.elb.test', fresh);
    expect(r).toMatchObject({ ok: false, code: 'nxdomain' });
  });

  it('a name with no addresses is "nodata", not an empty answer', async () => {
    dns.setA('empty.elb.test', [], 60);
    const r = await resolveName('empty.elb.test', fresh());
    expect(r).toMatchObject({ ok: false, code: 'nodata' });
  });

  it('an unreachable resolver is a timeout failure', async () => {
    // A loopback port nobody listens on: UDP queries go unanswered.
    const r = await resolveName('a.elb.test', createResolver({ resolvers: ['127.0.50.2:9'], timeoutMs: 200, tries: 1 }));
    expect(r.ok).toBe(false);
    expect(['timeout', 'refused']).toContain((r as ResolutionFailed).code);
  });
});
