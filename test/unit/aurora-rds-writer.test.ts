import { beforeEach, describe, expect, it } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import { allCustomMatcher } from 'aws-sdk-client-mock-vitest';
import type {} from 'aws-sdk-client-mock-vitest/extend';
import { DBClusterNotFoundFault, DescribeDBClustersCommand, FailoverDBClusterCommand, InvalidDBClusterStateFault, RDSClient } from '@aws-sdk/client-rds';
import { describeCluster, probeEngineOf, RdsFailoverStarter, RdsWriterLookup, rdsClientFor } from '../../src/adapters/aws/rds-writer.ts';
import { ClusterNotFoundError, FailoverRefusedError, NoWriterError, WriterLookupError } from '../../src/core/aurora/errors.ts';

expect.extend(allCustomMatcher);

const A = 'orders-instance-1';
const B = 'orders-instance-2';
const cluster = (writer: string | undefined) => ({
  DBClusterIdentifier: 'orders',
  Status: 'available',
  Endpoint: 'orders.cluster-abc.ap-northeast-2.rds.amazonaws.com',
  ReaderEndpoint: 'orders.cluster-ro-abc.ap-northeast-2.rds.amazonaws.com',
  Port: 5432,
  Engine: 'aurora-postgresql',
  DBClusterMembers: [
    { DBInstanceIdentifier: A, IsClusterWriter: writer === A },
    { DBInstanceIdentifier: B, IsClusterWriter: writer === B },
  ],
});
const sdkError = (name: string, message = 'x') => Object.assign(new Error(message), { name, $metadata: {} });

describe('RdsWriterLookup', () => {
  const rds = mockClient(RDSClient);
  beforeEach(() => rds.reset());

  it('asks for a mixed-case identifier in lower case, as RDS stores it and as the stack grants IAM', async () => {
    rds.on(DescribeDBClustersCommand).resolves({ DBClusters: [cluster(B)] });
    await new RdsWriterLookup().writer('Orders');
    expect(rds.commandCalls(DescribeDBClustersCommand)[0]!.args[0].input).toEqual({ DBClusterIdentifier: 'orders' });
  });

  it('asks DescribeDBClusters for exactly that cluster and names the member marked writer', async () => {
    // Prepare
    rds.on(DescribeDBClustersCommand).resolves({ DBClusters: [cluster(B)] });
    // Act
    const w = await new RdsWriterLookup().writer('orders');
    // Assess
    expect(w).toEqual({
      writer: B,
      members: [
        { id: A, isWriter: false },
        { id: B, isWriter: true },
      ],
    });
    expect(rds).toHaveReceivedCommandTimes(DescribeDBClustersCommand, 1);
    expect(rds).toHaveReceivedCommandWith(DescribeDBClustersCommand, { DBClusterIdentifier: 'orders' });
    expect(rds.commandCalls(DescribeDBClustersCommand)[0]!.args[0].input).toEqual({ DBClusterIdentifier: 'orders' });
  });

  it('uses one client per region, created once', async () => {
    // Prepare
    rds.on(DescribeDBClustersCommand).resolves({ DBClusters: [cluster(A)] });
    const seen: (string | undefined)[] = [];
    const lookup = new RdsWriterLookup((region) => {
      seen.push(region);
      return rdsClientFor(region);
    });
    // Act
    await lookup.writer('orders', 'us-east-1');
    await lookup.writer('orders', 'us-east-1');
    const region = await rdsClientFor('us-east-1').config.region();
    // Assess
    expect(seen).toEqual(['us-east-1', 'us-east-1']);
    expect(rdsClientFor('us-east-1')).toBe(rdsClientFor('us-east-1'));
    expect(rdsClientFor()).toBe(rdsClientFor());
    expect(region).toBe('us-east-1');
  });

  it.each([
    ['an unknown cluster', sdkError('DBClusterNotFoundFault', 'DBCluster nope not found.'), ClusterNotFoundError, 'not-found'],
    ['missing permission', sdkError('AccessDenied', 'not authorized to perform: rds:DescribeDBClusters'), WriterLookupError, 'access-denied'],
    ['throttling', sdkError('Throttling', 'Rate exceeded'), WriterLookupError, 'throttled'],
    ['a network failure', sdkError('TimeoutError', 'socket hang up'), WriterLookupError, 'error'],
  ] as const)('maps %s to a typed error with the SDK error as cause', async (_name, err, type, code) => {
    // Prepare
    rds.on(DescribeDBClustersCommand).rejects(err);
    // Act
    const lookup = new RdsWriterLookup().writer('nope', 'ap-northeast-2');
    // Assess
    await expect(lookup).rejects.toBeInstanceOf(type);
    await expect(lookup).rejects.toMatchObject({ code, clusterIdentifier: 'nope' });
    await expect(lookup).rejects.toMatchObject({ cause: err });
  });

  it('the real SDK fault class maps too', async () => {
    // Prepare
    rds.on(DescribeDBClustersCommand).rejects(new DBClusterNotFoundFault({ message: 'DBCluster nope not found.', $metadata: {} }));
    // Act
    const lookup = new RdsWriterLookup().writer('nope');
    // Assess
    await expect(lookup).rejects.toThrow('no DB cluster "nope"');
  });

  it('throws NoWriterError, with the members, while no member is marked writer', async () => {
    // Prepare
    rds.on(DescribeDBClustersCommand).resolves({ DBClusters: [cluster(undefined)] });
    // Act
    const lookup = new RdsWriterLookup().writer('orders');
    // Assess
    await expect(lookup).rejects.toBeInstanceOf(NoWriterError);
    await expect(lookup).rejects.toMatchObject({
      code: 'no-writer',
      members: [
        { id: A, isWriter: false },
        { id: B, isWriter: false },
      ],
    });
  });

  it('an empty answer is "not found", and describeCluster gives the drill its endpoint, port and engine', async () => {
    // Prepare
    rds
      .on(DescribeDBClustersCommand)
      .resolvesOnce({ DBClusters: [] })
      .resolves({ DBClusters: [cluster(A)] });
    // Act
    const empty = new RdsWriterLookup().writer('orders');
    await expect(empty).rejects.toBeInstanceOf(ClusterNotFoundError);
    const d = await describeCluster('orders');
    // Assess
    expect(d).toEqual({
      clusterIdentifier: 'orders',
      status: 'available',
      endpoint: 'orders.cluster-abc.ap-northeast-2.rds.amazonaws.com',
      readerEndpoint: 'orders.cluster-ro-abc.ap-northeast-2.rds.amazonaws.com',
      port: 5432,
      engine: 'aurora-postgresql',
      writer: A,
      members: [
        { id: A, isWriter: true },
        { id: B, isWriter: false },
      ],
    });
    expect(probeEngineOf(d.engine)).toBe('postgres');
  });

  it.each([
    ['aurora-mysql', 'mysql'],
    ['aurora', 'mysql'],
    ['aurora-postgresql', 'postgres'],
    ['neptune', 'tcp'],
    [undefined, 'tcp'],
  ] as const)('probeEngineOf(%s) = %s', (engine, expected) => {
    // Prepare: the table row.
    // Act
    const protocol = probeEngineOf(engine);
    // Assess
    expect(protocol).toBe(expected);
  });
});

describe('RdsFailoverStarter', () => {
  const rds = mockClient(RDSClient);
  beforeEach(() => rds.reset());

  it('sends exactly FailoverDBCluster with the cluster, and the target instance when given', async () => {
    // Prepare
    rds.on(FailoverDBClusterCommand).resolves({ DBCluster: cluster(A) });
    // Act
    await new RdsFailoverStarter().failover('orders');
    await new RdsFailoverStarter(rdsClientFor, B).failover('orders', 'ap-northeast-2');
    // Assess
    const inputs = rds.commandCalls(FailoverDBClusterCommand).map((c) => c.args[0].input);
    expect(inputs).toEqual([{ DBClusterIdentifier: 'orders' }, { DBClusterIdentifier: 'orders', TargetDBInstanceIdentifier: B }]);
    expect(rds).toHaveReceivedCommandTimes(FailoverDBClusterCommand, 2);
    expect(rds).not.toHaveReceivedCommand(DescribeDBClustersCommand);
  });

  it('maps a refusal and an unknown cluster to typed errors', async () => {
    // Prepare
    const busy = new InvalidDBClusterStateFault({ message: 'DBCluster orders is not in the available state.', $metadata: {} });
    rds.on(FailoverDBClusterCommand, { DBClusterIdentifier: 'orders' }).rejects(busy);
    rds.on(FailoverDBClusterCommand, { DBClusterIdentifier: 'nope' }).rejects(sdkError('DBClusterNotFoundFault'));
    // Act
    const refused = new RdsFailoverStarter().failover('orders');
    const unknown = new RdsFailoverStarter().failover('nope');
    // Assess
    await expect(refused).rejects.toBeInstanceOf(FailoverRefusedError);
    await expect(refused).rejects.toThrow('FailoverDBCluster orders refused (InvalidDBClusterStateFault: DBCluster orders is not in the available state.)');
    await expect(refused).rejects.toMatchObject({ cause: busy });
    await expect(unknown).rejects.toBeInstanceOf(ClusterNotFoundError);
  });
});
