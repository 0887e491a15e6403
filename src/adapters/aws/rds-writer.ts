/**
 * RDS adapter: the Aurora writer from DescribeDBClusters (`DBClusterMembers[].IsClusterWriter`),
 * the cluster's endpoint/port/engine for the drill, and FailoverDBCluster. SDK failures come
 * back as the typed errors of core/aurora/errors.ts, with the SDK error as `cause`.
 *
 * Clients live at module scope (one per region), created once per container or CLI run.
 */
import { DescribeDBClustersCommand, FailoverDBClusterCommand, RDSClient } from '@aws-sdk/client-rds';
import type { DBCluster, DescribeDBClustersCommandInput, FailoverDBClusterCommandInput } from '@aws-sdk/client-rds';
import { ClusterNotFoundError, FailoverRefusedError, NoWriterError, WriterLookupError } from '../../core/aurora/errors.ts';
import type { WriterLookupErrorCode } from '../../core/aurora/errors.ts';
import type { FailoverStarter } from '../../core/aurora/drill.ts';
import type { ClusterMember, WriterInfo, WriterLookup } from '../../core/ports.ts';
import { errorWithName } from '../../core/error-text.ts';

/** SDK settings: short, because a writer sample older than a second or two says little. */
export const RDS_CLIENT_SETTINGS = {
  /** One retry: the failover sampler asks again within a second anyway. */
  maxAttempts: 2,
  requestTimeoutMs: 3000,
  connectionTimeoutMs: 1000,
} as const;

const clientOptions = () => ({
  maxAttempts: RDS_CLIENT_SETTINGS.maxAttempts,
  requestHandler: { requestTimeout: RDS_CLIENT_SETTINGS.requestTimeoutMs, connectionTimeout: RDS_CLIENT_SETTINGS.connectionTimeoutMs },
});

/** The client for the function's (or profile's) own region. */
const defaultClient = new RDSClient(clientOptions());
const regionalClients = new Map<string, RDSClient>();

/** The RDS client for `region` (the default region when undefined); created once, then reused. */
export function rdsClientFor(region?: string): RDSClient {
  if (region === undefined) return defaultClient;
  let client = regionalClients.get(region);
  if (!client) {
    client = new RDSClient({ ...clientOptions(), region });
    regionalClients.set(region, client);
  }
  return client;
}

/** SDK error names, by what they mean for us. */
const NOT_FOUND = new Set(['DBClusterNotFoundFault']);
const ACCESS_DENIED = new Set(['AccessDenied', 'AccessDeniedException', 'UnauthorizedOperation', 'NotAuthorized']);
const THROTTLED = new Set(['Throttling', 'ThrottlingException', 'RequestLimitExceeded', 'TooManyRequestsException']);

const sdkName = (err: unknown) => (err instanceof Error ? err.name : 'Error');

function lookupError(err: unknown, id: string, region: string | undefined): WriterLookupError {
  const name = sdkName(err);
  if (NOT_FOUND.has(name)) return new ClusterNotFoundError(id, region, { cause: err });
  const code: WriterLookupErrorCode = ACCESS_DENIED.has(name) ? 'access-denied' : THROTTLED.has(name) ? 'throttled' : 'error';
  return new WriterLookupError(code, id, `DescribeDBClusters ${id}${region ? ` in ${region}` : ''} failed (${errorWithName(err)})`, { cause: err });
}

/** The exact DescribeDBClusters request for one cluster. */
export function describeInput(clusterIdentifier: string): DescribeDBClustersCommandInput {
  // RDS stores identifiers in lower case, and the stack grants IAM on the lower-cased ARN.
  return { DBClusterIdentifier: clusterIdentifier.toLowerCase() };
}

/** The exact FailoverDBCluster request; `targetInstance` picks the new writer (RDS picks otherwise). */
export function failoverInput(clusterIdentifier: string, targetInstance?: string): FailoverDBClusterCommandInput {
  return { DBClusterIdentifier: clusterIdentifier.toLowerCase(), ...(targetInstance ? { TargetDBInstanceIdentifier: targetInstance } : {}) };
}

/** What the drill needs to know about a cluster. */
export interface ClusterDescription {
  clusterIdentifier: string;
  status?: string;
  /** The cluster (writer) endpoint. */
  endpoint?: string;
  readerEndpoint?: string;
  port?: number;
  /** `aurora-mysql`, `aurora-postgresql`, ... */
  engine?: string;
  /** The writer, when one is marked. */
  writer?: string;
  members: ClusterMember[];
}

/** The probe protocol for an RDS engine name. */
export function probeEngineOf(engine: string | undefined): 'mysql' | 'postgres' | 'tcp' {
  if (!engine) return 'tcp';
  if (engine.includes('postgres')) return 'postgres';
  if (engine.includes('mysql') || engine === 'aurora') return 'mysql';
  return 'tcp';
}

function membersOf(c: DBCluster): ClusterMember[] {
  return (c.DBClusterMembers ?? []).flatMap((m) => (m.DBInstanceIdentifier ? [{ id: m.DBInstanceIdentifier, isWriter: m.IsClusterWriter === true }] : []));
}

/** DescribeDBClusters for one cluster; throws ClusterNotFoundError / WriterLookupError. */
export async function describeCluster(clusterIdentifier: string, region?: string, client: RDSClient = rdsClientFor(region)): Promise<ClusterDescription> {
  let cluster: DBCluster | undefined;
  try {
    const out = await client.send(new DescribeDBClustersCommand(describeInput(clusterIdentifier)));
    cluster = out.DBClusters?.[0];
  } catch (err) {
    throw lookupError(err, clusterIdentifier, region);
  }
  if (!cluster) throw new ClusterNotFoundError(clusterIdentifier, region);
  const members = membersOf(cluster);
  const writer = members.find((m) => m.isWriter)?.id;
  return {
    clusterIdentifier: cluster.DBClusterIdentifier ?? clusterIdentifier,
    members,
    ...(cluster.Status ? { status: cluster.Status } : {}),
    ...(cluster.Endpoint ? { endpoint: cluster.Endpoint } : {}),
    ...(cluster.ReaderEndpoint ? { readerEndpoint: cluster.ReaderEndpoint } : {}),
    ...(cluster.Port !== undefined ? { port: cluster.Port } : {}),
    ...(cluster.Engine ? { engine: cluster.Engine } : {}),
    ...(writer ? { writer } : {}),
  };
}

/** WriterLookup on the RDS API. NoWriterError when no member is marked writer (mid-failover). */
export class RdsWriterLookup implements WriterLookup {
  constructor(private readonly clientFor: (region?: string) => RDSClient = rdsClientFor) {}

  /** The member marked writer; typed errors for every failure. */
  async writer(clusterIdentifier: string, region?: string): Promise<WriterInfo> {
    const d = await describeCluster(clusterIdentifier, region, this.clientFor(region));
    if (!d.writer) throw new NoWriterError(clusterIdentifier, d.members);
    return { writer: d.writer, members: d.members };
  }
}

/** FailoverDBCluster: returns once RDS accepted the request (the failover itself takes seconds). */
export class RdsFailoverStarter implements FailoverStarter {
  constructor(
    private readonly clientFor: (region?: string) => RDSClient = rdsClientFor,
    /** The instance to promote; RDS chooses (by failover tier) when absent. */
    private readonly targetInstance?: string,
  ) {}

  /** Sends FailoverDBCluster; ClusterNotFoundError or FailoverRefusedError when RDS says no. */
  async failover(clusterIdentifier: string, region?: string): Promise<void> {
    try {
      await this.clientFor(region).send(new FailoverDBClusterCommand(failoverInput(clusterIdentifier, this.targetInstance)));
    } catch (err) {
      if (NOT_FOUND.has(sdkName(err))) throw new ClusterNotFoundError(clusterIdentifier, region, { cause: err });
      throw new FailoverRefusedError(clusterIdentifier, `FailoverDBCluster ${clusterIdentifier} refused (${errorWithName(err)})`, { cause: err });
    }
  }
}
