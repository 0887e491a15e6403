/** When the resolver evidence is read, over which range, and what stands between reads (pure, with a fake source). */
import { ProblemLog } from '../../src/core/problems.ts';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/core/config.ts';
import type { ElbTarget } from '../../src/core/config.ts';
import type { ResolverLogSource } from '../../src/core/ports.ts';
import { readResolverEvidence, resolverProof } from '../../src/core/resolver-evidence.ts';
import type { Observed } from '../../src/core/targets/types.ts';
import type { AddressRecord, TargetState } from '../../src/core/types.ts';
import { STATE_SCHEMA_VERSION } from '../../src/core/constants.ts';

const T0 = Date.parse('2026-12-06T10:00:00Z');
const MIN = 60_000;
const HOST = 'internal-app.elb.test';
const config = parseConfig({
  resolverLogs: { source: 'cloudwatch', logGroup: '/route53/resolver', everyMinutes: 5, lookbackMinutes: 30 },
  targets: [{ name: 'app-alb', type: 'elb', host: HOST, port: 443, probe: { protocol: 'tcp' } }],
});
const target = config.targets[0] as ElbTarget;
const RETIRED: AddressRecord = {
  address: '10.0.1.5',
  firstSeen: new Date(T0 - 60 * MIN).toISOString(),
  lastSeen: new Date(T0 - 10 * MIN).toISOString(),
  retiredAt: new Date(T0 - 10 * MIN).toISOString(),
  ttl: 60,
};
const CURRENT: AddressRecord = { address: '10.0.1.6', firstSeen: new Date(T0 - 10 * MIN).toISOString(), lastSeen: new Date(T0).toISOString() };

function observed(records: AddressRecord[], previous: Partial<TargetState> = {}): Map<string, Observed> {
  const prev: TargetState = { schemaVersion: STATE_SCHEMA_VERSION, target: 'app-alb', version: 1, addresses: [], alerts: {}, ...previous };
  return new Map([['app-alb', { target, previous: prev, records, probes: new Map() } as Observed]]);
}

describe('readResolverEvidence', () => {
  it('reads from the lookback before the retirement, for the name, its all. name and every address; proof follows from it', async () => {
    // Prepare
    const asked: Parameters<ResolverLogSource['read']>[0][] = [];
    const source: ResolverLogSource = {
      read: async (q) => {
        asked.push(q);
        return { askers: [{ srcaddr: '10.0.5.7', queries: 2, firstAsked: T0 - 30 * MIN, lastAsked: T0 - 20 * MIN }], rows: 1 };
      },
    };
    const o = observed([RETIRED, CURRENT]);
    // Act
    const figures = await readResolverEvidence(config, o, source, new Date(T0), AbortSignal.timeout(1000), new ProblemLog());
    // Assess
    expect(figures).toEqual({ reads: 1, askers: 1 });
    expect(asked).toEqual([
      { names: [HOST, `all.${HOST}`], addresses: ['10.0.1.5', '10.0.1.6'], from: T0 - 40 * MIN, to: T0, signal: expect.any(AbortSignal) },
    ]);
    const elb = o.get('app-alb')! as Observed<ElbTarget>;
    expect(elb.resolver?.from).toBe(new Date(T0 - 40 * MIN).toISOString());
    // It opened a connection to the retired address past the horizon (retirement + 2 x 60 s TTL + 30 s).
    expect(resolverProof(elb, { addresses: new Set(['10.0.5.7']) }, '10.0.1.5', T0 - MIN)?.detail).toContain('10.0.5.7 last asked');
    // Inside the horizon (an honest cache may still hold it), or none opened (a pool riding old ones, or no tcp-flags to tell): no proof.
    expect(resolverProof(elb, { addresses: new Set(['10.0.5.7']) }, '10.0.1.5', T0 - 9 * MIN)).toBeUndefined();
    expect(resolverProof(elb, { addresses: new Set(['10.0.5.7']) }, '10.0.1.5', undefined)).toBeUndefined();
    expect(resolverProof(elb, { addresses: new Set(['10.0.5.8']) }, '10.0.1.5', T0 - MIN)).toBeUndefined();
  });

  it('once a read covers the change, the next reads only what came since (less the delivery delay) and merges', async () => {
    // Prepare
    const asked: number[] = [];
    const source: ResolverLogSource = {
      read: async (q) => {
        asked.push(q.from);
        return { askers: [{ srcaddr: '10.0.5.7', queries: 1, firstAsked: T0 + 4 * MIN, lastAsked: T0 + 4 * MIN }], rows: 1 };
      },
    };
    const last = {
      queriedAt: new Date(T0).toISOString(),
      from: new Date(T0 - 40 * MIN).toISOString(),
      clientCacheSeconds: 30,
      askers: [{ srcaddr: '10.0.5.7', queries: 2, firstAsked: T0 - 30 * MIN, lastAsked: T0 - 20 * MIN }],
    };
    const o = observed([RETIRED], { resolver: last });
    // Act
    await readResolverEvidence(config, o, source, new Date(T0 + 5 * MIN), AbortSignal.timeout(1000), new ProblemLog());
    // Assess
    expect(asked).toEqual([T0 - 10 * MIN]);
    expect(o.get('app-alb')!.resolver).toEqual({
      queriedAt: new Date(T0 + 5 * MIN).toISOString(),
      clientCacheSeconds: 30,
      from: last.from,
      askers: [{ srcaddr: '10.0.5.7', queries: 2, firstAsked: T0 - 30 * MIN, lastAsked: T0 + 4 * MIN }],
    });
  });

  it('no read without a retired address past its TTL; between reads the last stands; a failed read is an error line and the last stands', async () => {
    // Prepare
    let reads = 0;
    const source: ResolverLogSource = {
      read: async () => {
        reads++;
        throw new Error('AccessDeniedException');
      },
    };
    const last = { queriedAt: new Date(T0 - 2 * MIN).toISOString(), from: new Date(T0 - 40 * MIN).toISOString(), clientCacheSeconds: 30, askers: [] };
    const errors = new ProblemLog();
    // Act
    const none = observed([CURRENT]);
    await readResolverEvidence(config, none, source, new Date(T0), AbortSignal.timeout(1000), errors);
    const between = observed([RETIRED], { resolver: last });
    await readResolverEvidence(config, between, source, new Date(T0), AbortSignal.timeout(1000), errors);
    const failed = observed([RETIRED], { resolver: last });
    await readResolverEvidence(config, failed, source, new Date(T0 + 5 * MIN), AbortSignal.timeout(1000), errors);
    // Assess
    expect(none.get('app-alb')!.resolver).toBeUndefined();
    expect(between.get('app-alb')!.resolver).toEqual(last);
    expect(failed.get('app-alb')!.resolver).toEqual(last);
    expect(reads).toBe(1);
    expect(errors.lines).toEqual(['resolver logs (app-alb): AccessDeniedException']);
  });
});
