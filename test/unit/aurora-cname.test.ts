import { describe, expect, it } from 'vitest';
import { dnsWriterOf, instanceOf, isClusterEndpoint } from '../../src/core/aurora/cname.ts';

const REGION = 'ap-northeast-2.rds.amazonaws.com';

describe('dnsWriterOf: the instance the cluster endpoint names', () => {
  it.each([
    ['cluster endpoint -> instance endpoint', [`orders-instance-2.abc.${REGION}`], 'orders-instance-2'],
    ['trailing dot and upper case', [`Orders-Instance-1.ABC.${REGION}.`], 'orders-instance-1'],
    ['own alias -> cluster endpoint -> instance', [`orders.cluster-abc.${REGION}`, `orders-instance-2.abc.${REGION}`], 'orders-instance-2'],
    ['two aliases before the cluster endpoint', [`db.internal.example`, `orders.cluster-abc.${REGION}`, `orders-instance-3.abc.${REGION}`], 'db'],
    ['reader endpoint in the chain is skipped', [`orders.cluster-ro-abc.${REGION}`, `orders-instance-1.abc.${REGION}`], 'orders-instance-1'],
    ['custom endpoint in the chain is skipped', [`analytics.cluster-custom-abc.${REGION}`, `orders-instance-4.abc.${REGION}`], 'orders-instance-4'],
    ['not an alias', [], undefined],
    ['only cluster endpoints (chain cut short)', [`orders.cluster-abc.${REGION}`], undefined],
    ['empty names are ignored', ['', '.', `orders-instance-2.abc.${REGION}`], 'orders-instance-2'],
    ['lab names', ['orders-instance-2.lab40.ap-northeast-2.rds.lab.test'], 'orders-instance-2'],
  ] as const)('%s', (_name, chain, expected) => {
    // Prepare: the table row.
    // Act
    const writer = dnsWriterOf(chain);
    // Assess
    expect(writer).toBe(expected);
  });
});

describe('isClusterEndpoint and instanceOf', () => {
  it.each([
    [`orders.cluster-abc.${REGION}`, true, 'orders'],
    [`orders.cluster-ro-abc.${REGION}`, true, 'orders'],
    [`x.cluster-custom-abc.${REGION}`, true, 'x'],
    [`orders-instance-1.abc.${REGION}`, false, 'orders-instance-1'],
    ['cluster-abc.example', false, 'cluster-abc'],
    ['orders', false, 'orders'],
    ['', false, undefined],
  ] as const)('%s', (name, cluster, instance) => {
    // Prepare: the table row.
    // Act
    const isCluster = isClusterEndpoint(name);
    const first = instanceOf(name);
    // Assess
    expect(isCluster).toBe(cluster);
    expect(first).toBe(instance);
  });
});
