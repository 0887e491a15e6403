/** The cache census (pure, with fake sources): who caches the name before any change, and how that proves it after one. */
import { ProblemLog } from '../../src/core/problems.ts';
import { describe, expect, it } from 'vitest';
import { cachingThresholdMs, readCacheCensus } from '../../src/core/cache-census.ts';
import { parseConfig } from '../../src/core/config.ts';
import type { ElbTarget } from '../../src/core/config.ts';
import type { FlowRecord } from '../../src/core/flow-log.ts';
import type { FlowSource, ResolverLogSource } from '../../src/core/ports.ts';
import { resolverProof } from '../../src/core/resolver-evidence.ts';
import type { Asker } from '../../src/core/resolver-log.ts';
import type { Observed } from '../../src/core/targets/types.ts';
import type { AddressRecord, TargetState } from '../../src/core/types.ts';
import { STATE_SCHEMA_VERSION } from '../../src/core/constants.ts';

const T0 = Date.parse('2026-12-06T10:00:00Z');
const MIN = 60_000;
const config = parseConfig({
  flowLogs: { source: 'cloudwatch', logGroup: '/vpc/flow', ignoreSources: ['10.0.8.0/24'] },
  resolverLogs: { source: 'cloudwatch', logGroup: '/route53/resolver' },
  targets: [{ name: 'app-alb', type: 'elb', host: 'internal-app.elb.test', port: 443, probe: { protocol: 'tcp' } }],
});
const target = config.targets[0] as ElbTarget;
const CURRENT: AddressRecord = { address: '10.0.1.5', firstSeen: new Date(T0 - 120 * MIN).toISOString(), lastSeen: new Date(T0).toISOString(), ttl: 60 };

/** A record of `src`'s traffic to the ELB, `ago` ms before T0: a connection it opened (SYN, 2), or one it rides (ACK, 16). */
const conn = (src: string, ago: number, instanceId?: string, tcpFlags = 2): FlowRecord => ({
  srcaddr: src,
  dstaddr: '10.0.1.5',
  dstport: 443,
  start: Math.floor((T0 - ago) / 1000),
  packets: 10,
  flowDirection: 'egress',
  interfaceId: `eni-${src}`,
  tcpFlags,
  ...(instanceId ? { instanceId } : {}),
});
const asker = (srcaddr: string, ago: number): Asker => ({ srcaddr, queries: 3, firstAsked: T0 - 50 * MIN, lastAsked: T0 - ago });

function observed(records: AddressRecord[], previous: Partial<TargetState> = {}): Map<string, Observed> {
  const prev: TargetState = { schemaVersion: STATE_SCHEMA_VERSION, target: 'app-alb', version: 1, addresses: [], alerts: {}, ...previous };
  return new Map([['app-alb', { target, previous: prev, records, probes: new Map() } as Observed]]);
}

describe('readCacheCensus', () => {
  it('names hosts that open connections long past their last query; not one that re-resolves within its TTL, one the log never saw ask, nor a pool riding old connections', async () => {
    // Prepare
    const flow: FlowSource = {
      read: async () => ({
        records: [
          conn('10.0.5.1', 30_000, 'i-0java'),
          conn('10.0.5.2', 30_000),
          conn('10.0.5.3', 30_000),
          conn('10.0.8.4', 30_000),
          // A pool riding connections it opened long ago: silent, but it opens none, so it asks nothing.
          conn('10.0.5.4', 30_000, undefined, 16),
        ],
        rows: 5,
      }),
    };
    const resolver: ResolverLogSource = {
      // 10.0.5.1 asked 40 min ago (caches); 10.0.5.2 asked 50 s ago (honours the 60 s TTL); 10.0.5.3 never.
      read: async () => ({ askers: [asker('10.0.5.1', 40 * MIN), asker('10.0.5.2', 50_000)], rows: 2 }),
    };
    const o = observed([CURRENT]);
    // Act
    const figures = await readCacheCensus(config, o, { flow, resolver }, new Date(T0), AbortSignal.timeout(1000), new ProblemLog());
    // Assess: the monitor (10.0.8.0/24, ignored) is never a host.
    expect(figures).toEqual({ elbs: 1, caching: 1 });
    const census = o.get('app-alb')!.census!;
    // 10.0.5.3 never asked (a host the log does not know is no suspect); the monitor (10.0.8.0/24) is ignored.
    expect(census.clients.map((c) => [c.client, c.lastAsked === undefined ? 'never' : new Date(c.lastAsked).toISOString()])).toEqual([
      ['i-0java', new Date(T0 - 40 * MIN).toISOString()],
    ]);
    expect(census.thresholdMs).toBe(1800_000);
    expect(census.from).toBe(new Date(T0 - 60 * MIN).toISOString());
  });

  it('never counts a host as caching under twice the TTL (plus the log’s whole second)', () => {
    expect(cachingThresholdMs(1, 60)).toBe(121_000);
    expect(cachingThresholdMs(1800, 60)).toBe(1_800_000);
  });

  it('after a change, a host the census saw ask before it is proof when the resolver read no longer knows it; not when the read shows it asked since', async () => {
    // Prepare: the census ran before the change; the address retired since; the post-change read starts too late to know the host.
    const census = {
      queriedAt: new Date(T0 - 5 * MIN).toISOString(),
      from: new Date(T0 - 65 * MIN).toISOString(),
      thresholdMs: 1_800_000,
      clients: [
        {
          client: '10.0.5.3',
          clientKind: 'address' as const,
          sourceAddress: '10.0.5.3',
          addresses: ['10.0.1.5'],
          lastConnected: T0 - 5 * MIN,
          lastAsked: T0 - 40 * MIN,
        },
      ],
    };
    const retired: AddressRecord = { ...CURRENT, lastSeen: new Date(T0 - 2 * MIN).toISOString(), retiredAt: new Date(T0 - MIN).toISOString() };
    const read = (askers: Asker[]) => ({
      queriedAt: new Date(T0 + 2 * MIN).toISOString(),
      from: new Date(T0 - 30 * MIN).toISOString(),
      clientCacheSeconds: 30,
      askers,
    });
    const elb = { ...(observed([retired]).get('app-alb') as Observed<ElbTarget>), census, resolver: read([]) };
    const askedSince = { ...elb, resolver: read([asker('10.0.5.3', -MIN)]) };
    // Past the horizon: the retirement, twice the 60 s TTL and a JVM's 30 s.
    const opened = T0 + 2 * MIN;
    // Act
    const proof = resolverProof(elb, { addresses: new Set(['10.0.5.3']) }, '10.0.1.5', opened);
    const other = resolverProof(elb, { addresses: new Set(['10.0.5.9']) }, '10.0.1.5', opened);
    const reResolved = resolverProof(askedSince, { addresses: new Set(['10.0.5.3']) }, '10.0.1.5', opened);
    // A pool riding its old connections opened none; an honest cache may open one inside the horizon.
    const pooled = resolverProof(elb, { addresses: new Set(['10.0.5.3']) }, '10.0.1.5', undefined);
    const honest = resolverProof(elb, { addresses: new Set(['10.0.5.3']) }, '10.0.1.5', T0 + MIN);
    // Assess
    expect(proof?.detail).toBe(
      `the cache census named 10.0.5.3 before the change: it has not asked for internal-app.elb.test since ${new Date(T0 - 40 * MIN).toISOString()}, while 10.0.1.5 was still in its answer (seen until ${new Date(retired.lastSeen).toISOString()}): it will not move by itself`,
    );
    expect([other, reResolved, pooled, honest]).toEqual([undefined, undefined, undefined, undefined]);
  });

  it('between censuses the last stands; a failed one is an error line and the last stands', async () => {
    // Prepare
    let reads = 0;
    const failing: FlowSource = {
      read: async () => {
        reads++;
        throw new Error('AccessDeniedException');
      },
    };
    const resolver: ResolverLogSource = { read: async () => ({ askers: [], rows: 0 }) };
    const last = { queriedAt: new Date(T0 - 10 * MIN).toISOString(), from: new Date(T0 - 70 * MIN).toISOString(), thresholdMs: 1_800_000, clients: [] };
    const errors = new ProblemLog();
    // Act
    const between = observed([CURRENT], { census: last });
    await readCacheCensus(config, between, { flow: failing, resolver }, new Date(T0), AbortSignal.timeout(1000), errors);
    const due = observed([CURRENT], { census: last });
    await readCacheCensus(config, due, { flow: failing, resolver }, new Date(T0 + 51 * MIN), AbortSignal.timeout(1000), errors);
    // Assess
    expect(between.get('app-alb')!.census).toEqual(last);
    expect(due.get('app-alb')!.census).toEqual(last);
    expect(reads).toBe(1);
    expect(errors.lines).toEqual(['cache census (app-alb): AccessDeniedException']);
  });
});
