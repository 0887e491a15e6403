/**
 * What `ipdrift preflight` reads, with read-only calls only (Describe*, Get*): the VPC, its DNS
 * attributes, subnets, route tables and endpoints (EC2), trails (CloudTrail), and what the config
 * names: DB clusters (RDS), secrets (Secrets Manager), log groups (CloudWatch Logs). A call that
 * fails makes its fact unreadable, never a verdict (preflight-assess.ts).
 */
import { CloudTrailClient, DescribeTrailsCommand, GetEventSelectorsCommand, GetTrailStatusCommand } from '@aws-sdk/client-cloudtrail';
import { CloudWatchLogsClient, DescribeLogGroupsCommand } from '@aws-sdk/client-cloudwatch-logs';
import {
  DescribeRouteTablesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DescribeVpcAttributeCommand,
  DescribeVpcEndpointsCommand,
  DescribeVpcsCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { DescribeDBClustersCommand, RDSClient } from '@aws-sdk/client-rds';
import { DescribeSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { logGroupRef } from '../../core/arn.ts';
import { errorWithName } from '../../core/error-text.ts';
import type {
  ClusterFact,
  EndpointFact,
  IngressFact,
  PreflightConfig,
  PreflightFacts,
  PreflightOptions,
  Read,
  RouteTableFact,
  TrailFact,
} from './preflight-assess.ts';

/** Reads a fact; a failure is kept as its error text. */
async function read<T>(f: () => Promise<T>): Promise<Read<T>> {
  try {
    return { ok: true, value: await f() };
  } catch (err) {
    return { ok: false, error: errorWithName(err) };
  }
}

const notFound = (err: unknown, ...names: string[]) => names.includes((err as { name?: string }).name ?? '');

/** Reads every fact preflight judges, in parallel where the calls are independent. */
export async function readPreflightFacts(region: string, vpcId: string, config: PreflightConfig, opts: PreflightOptions): Promise<PreflightFacts> {
  const ec2 = new EC2Client({ region });
  const vpcFilter = [{ Name: 'vpc-id', Values: [vpcId] }];
  const [vpcExists, dnsSupport, dnsHostnames, subnets, routeTables, endpoints] = await Promise.all([
    read(async () => {
      try {
        return ((await ec2.send(new DescribeVpcsCommand({ VpcIds: [vpcId] }))).Vpcs ?? []).length > 0;
      } catch (err) {
        if (notFound(err, 'InvalidVpcID.NotFound')) return false;
        throw err;
      }
    }),
    read(async () => (await ec2.send(new DescribeVpcAttributeCommand({ VpcId: vpcId, Attribute: 'enableDnsSupport' }))).EnableDnsSupport?.Value === true),
    read(async () => (await ec2.send(new DescribeVpcAttributeCommand({ VpcId: vpcId, Attribute: 'enableDnsHostnames' }))).EnableDnsHostnames?.Value === true),
    read(async () =>
      ((await ec2.send(new DescribeSubnetsCommand({ Filters: vpcFilter }))).Subnets ?? []).map((s) => ({
        subnetId: s.SubnetId ?? '',
        vpcId: s.VpcId ?? '',
        availabilityZone: s.AvailabilityZone ?? '',
      })),
    ),
    read(async () => ((await ec2.send(new DescribeRouteTablesCommand({ Filters: vpcFilter }))).RouteTables ?? []).map(routeTableOf)),
    read(async () => ((await ec2.send(new DescribeVpcEndpointsCommand({ Filters: vpcFilter }))).VpcEndpoints ?? []).map(endpointOf)),
  ]);
  const facts: PreflightFacts = { region, vpcId, vpcExists, dnsSupport, dnsHostnames, subnets, routeTables, endpoints };
  if (opts.eniEvents) facts.trails = await read(() => trailsOf(new CloudTrailClient({ region }), region));

  const clusters = config.targets.filter((t) => t.type === 'aurora');
  if (clusters.length) {
    facts.clusters = await read(() =>
      Promise.all(
        clusters.map(async (t): Promise<ClusterFact | { identifier: string; missing: true }> => {
          try {
            const c = (await new RDSClient({ region: t.region ?? region }).send(new DescribeDBClustersCommand({ DBClusterIdentifier: t.clusterIdentifier })))
              .DBClusters?.[0];
            if (!c) return { identifier: t.clusterIdentifier, missing: true };
            return {
              identifier: t.clusterIdentifier,
              port: c.Port ?? t.port,
              securityGroupIds: (c.VpcSecurityGroups ?? []).flatMap((g) => (g.VpcSecurityGroupId ? [g.VpcSecurityGroupId] : [])),
            };
          } catch (err) {
            if (notFound(err, 'DBClusterNotFoundFault')) return { identifier: t.clusterIdentifier, missing: true };
            throw err;
          }
        }),
      ),
    );
    const groups = facts.clusters.ok ? [...new Set(facts.clusters.value.flatMap((c) => ('missing' in c ? [] : c.securityGroupIds)))] : [];
    if (opts.securityGroupId && groups.length) facts.ingress = await read(async () => ingressOf(ec2, groups));
  }

  const secretArns = [...new Set(clusters.flatMap((t) => (t.login?.secretArn ? [t.login.secretArn] : [])))];
  if (secretArns.length) {
    facts.secrets = await read(() =>
      Promise.all(
        secretArns.map(async (arn) => {
          try {
            const s = await new SecretsManagerClient({ region: arn.split(':')[3] ?? region }).send(new DescribeSecretCommand({ SecretId: arn }));
            return { arn, exists: true, ...(s.KmsKeyId ? { kmsKeyId: s.KmsKeyId } : {}) };
          } catch (err) {
            if (notFound(err, 'ResourceNotFoundException')) return { arn, exists: false };
            throw err;
          }
        }),
      ),
    );
  }

  const specs = [config.flowLogs, config.resolverLogs].flatMap((l) => (l?.source === 'cloudwatch' ? [l.logGroup] : []));
  if (specs.length) {
    const logs = new CloudWatchLogsClient({ region });
    facts.logGroups = await read(() =>
      Promise.all(
        specs.map(async (spec) => {
          const ref = logGroupRef(spec);
          // A group in another region or account (a monitoring account's source) is not visible from here.
          if (ref?.arn && ref.arn.split(':')[3] !== region) return { spec, exists: 'elsewhere' as const };
          const name = ref?.name ?? spec;
          const found = (await logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: name, limit: 50 }))).logGroups ?? [];
          return { spec, exists: found.some((g) => g.logGroupName === name) };
        }),
      ),
    );
  }
  return facts;
}

/** A route table: its associations and where its default route goes. */
function routeTableOf(t: {
  RouteTableId?: string;
  Associations?: { Main?: boolean; SubnetId?: string }[];
  Routes?: {
    DestinationCidrBlock?: string;
    NatGatewayId?: string;
    GatewayId?: string;
    TransitGatewayId?: string;
    NetworkInterfaceId?: string;
    InstanceId?: string;
    State?: string;
  }[];
}): RouteTableFact {
  const d = (t.Routes ?? []).find((r) => r.DestinationCidrBlock === '0.0.0.0/0' && r.State !== 'blackhole');
  const target = d ? (d.NatGatewayId ?? d.TransitGatewayId ?? d.NetworkInterfaceId ?? d.InstanceId ?? d.GatewayId) : undefined;
  return {
    routeTableId: t.RouteTableId ?? '',
    main: (t.Associations ?? []).some((a) => a.Main === true),
    subnetIds: (t.Associations ?? []).flatMap((a) => (a.SubnetId ? [a.SubnetId] : [])),
    ...(target ? { defaultRoute: target } : {}),
  };
}

/** An endpoint: its type, its service's short name, state, private DNS and route tables. */
function endpointOf(e: {
  VpcEndpointId?: string;
  VpcEndpointType?: string;
  ServiceName?: string;
  State?: string;
  PrivateDnsEnabled?: boolean;
  RouteTableIds?: string[];
}): EndpointFact {
  return {
    id: e.VpcEndpointId ?? '',
    type: e.VpcEndpointType === 'Gateway' ? 'Gateway' : 'Interface',
    service: (e.ServiceName ?? '').split('.').slice(3).join('.'),
    state: e.State ?? '',
    privateDns: e.PrivateDnsEnabled === true,
    routeTableIds: e.RouteTableIds ?? [],
  };
}

/** The region's trails: logging, management writes recorded, this region covered. */
async function trailsOf(client: CloudTrailClient, region: string): Promise<TrailFact[]> {
  const trails = (await client.send(new DescribeTrailsCommand({ includeShadowTrails: true }))).trailList ?? [];
  return Promise.all(
    trails.map(async (t) => {
      const id = t.TrailARN ?? t.Name ?? '';
      const [status, selectors] = await Promise.all([
        client.send(new GetTrailStatusCommand({ Name: id })),
        client.send(new GetEventSelectorsCommand({ TrailName: id })),
      ]);
      const basic = (selectors.EventSelectors ?? []).some((s) => s.IncludeManagementEvents !== false && s.ReadWriteType !== 'ReadOnly');
      const advanced = (selectors.AdvancedEventSelectors ?? []).some((s) => {
        const category = s.FieldSelectors?.find((f) => f.Field === 'eventCategory');
        const readOnly = s.FieldSelectors?.find((f) => f.Field === 'readOnly');
        return category?.Equals?.includes('Management') === true && !readOnly?.Equals?.includes('true');
      });
      return {
        name: t.Name ?? id,
        logging: status.IsLogging === true,
        managementWrites: basic || advanced,
        coversRegion: t.IsMultiRegionTrail === true || t.HomeRegion === region,
      };
    }),
  );
}

/** The ingress rules of the clusters' security groups. */
async function ingressOf(ec2: EC2Client, groupIds: string[]): Promise<IngressFact[]> {
  const groups = (await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: groupIds }))).SecurityGroups ?? [];
  return groups.map((g) => ({
    groupId: g.GroupId ?? '',
    rules: (g.IpPermissions ?? []).map((p) => ({
      protocol: p.IpProtocol ?? '',
      ...(p.FromPort !== undefined ? { fromPort: p.FromPort } : {}),
      ...(p.ToPort !== undefined ? { toPort: p.ToPort } : {}),
      groupIds: (p.UserIdGroupPairs ?? []).flatMap((u) => (u.GroupId ? [u.GroupId] : [])),
      cidrs: (p.IpRanges ?? []).flatMap((r) => (r.CidrIp ? [r.CidrIp] : [])),
    })),
  }));
}
