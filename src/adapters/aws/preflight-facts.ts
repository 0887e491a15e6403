/**
 * What `ipdrift preflight` reads, with read-only calls only (Describe*, Get*): the VPC, its DNS
 * attributes, subnets, route tables and endpoints (EC2), trails (CloudTrail), and what the config
 * names: DB clusters (RDS), secrets (Secrets Manager), log groups (CloudWatch Logs). A call that
 * fails makes its fact unreadable, never a verdict (preflight-assess.ts).
 */
import { CloudTrailClient, DescribeTrailsCommand, GetEventSelectorsCommand, GetTrailStatusCommand } from '@aws-sdk/client-cloudtrail';
import { CloudWatchLogsClient, DescribeLogGroupsCommand } from '@aws-sdk/client-cloudwatch-logs';
import {
  DescribeNetworkInterfacesCommand,
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
import { isIP } from 'node:net';
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
  TargetGroupsFact,
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
  // The caller's account: the VPC's owner, read with the VPC (no STS call needed).
  let ownerId: string | undefined;
  const [vpcExists, dnsSupport, dnsHostnames, subnets, routeTables, endpoints] = await Promise.all([
    read(async () => {
      try {
        const vpcs = (await ec2.send(new DescribeVpcsCommand({ VpcIds: [vpcId] }))).Vpcs ?? [];
        ownerId = vpcs[0]?.OwnerId;
        return vpcs.length > 0;
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
        ...(s.CidrBlock ? { cidr: s.CidrBlock } : {}),
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
  }
  // The groups in front of the ELBs and web tiers, found by their interfaces: only with the monitor's group to judge.
  if (opts.securityGroupId) {
    const fronts = config.targets.filter((t) => t.type === 'elb' || t.type === 'web-tier');
    if (fronts.length) facts.targetGroups = await read(() => Promise.all(fronts.map((t) => targetGroupsOf(ec2, vpcId, t))));
    const groups = [
      ...new Set([
        ...(facts.clusters?.ok ? facts.clusters.value.flatMap((c) => ('missing' in c ? [] : c.securityGroupIds)) : []),
        ...(facts.targetGroups?.ok ? facts.targetGroups.value.flatMap((g) => ('groupIds' in g ? g.groupIds : [])) : []),
        ...(facts.endpoints.ok ? facts.endpoints.value.flatMap((e) => e.groupIds ?? []) : []),
      ]),
    ];
    if (groups.length) facts.ingress = await read(async () => ingressOf(ec2, groups));
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
          // Logs Insights queries its own region only; a group of another account (a monitoring account's source) is not visible from here.
          if (ref?.arn && ref.arn.split(':')[3] !== region) return { spec, exists: 'other-region' as const };
          if (ref?.arn && ref.arn.split(':')[4] !== ownerId) return { spec, exists: 'elsewhere' as const };
          const name = ref?.name ?? spec;
          const found = (await logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: name, limit: 50 }))).logGroups ?? [];
          return { spec, exists: found.some((g) => g.logGroupName === name) };
        }),
      ),
    );
  }
  return facts;
}

/**
 * A load balancer's name from its DNS name: ALB and CLB `[internal-]<name>-<id>.<region>.elb.amazonaws.com`,
 * NLB `[internal-]<name>-<hex id>.elb.<region>.amazonaws.com`. Undefined for an alias or a custom name.
 */
export function loadBalancerNameOf(host: string): string | undefined {
  const h = host
    .toLowerCase()
    .replace(/\.$/, '')
    .replace(/^dualstack\./, '');
  const nlb = /^(?:internal-)?(.+)-[0-9a-f]{16}\.elb\.[a-z0-9-]+\.amazonaws\.com$/.exec(h);
  if (nlb) return nlb[1];
  return /^(?:internal-)?(.+)-\d+\.[a-z0-9-]+\.elb\.amazonaws\.com$/.exec(h)?.[1];
}

/**
 * The security groups in front of an ELB or web-tier target, by its network interfaces: a load
 * balancer's have the description "ELB app/<name>/<id>" (ALB), "ELB net/<name>/<id>" (NLB) or
 * "ELB <name>" (CLB); a web tier's carries its URL's address.
 */
async function targetGroupsOf(ec2: EC2Client, vpcId: string, t: PreflightConfig['targets'][number]): Promise<TargetGroupsFact> {
  let filter: { Name: string; Values: string[] };
  let port: number;
  if (t.type === 'elb') {
    const name = loadBalancerNameOf(t.host);
    if (!name) return { target: t.name, unknown: `${t.host} is not a load balancer's own DNS name (an alias?): its groups are not looked up` };
    filter = { Name: 'description', Values: [`ELB app/${name}/*`, `ELB net/${name}/*`, `ELB ${name}`] };
    port = t.port;
  } else if (t.type === 'web-tier') {
    const url = new URL(t.url);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (isIP(host) === 0) return { target: t.name, unknown: `${host} is a name: the web tier's groups are looked up by address only` };
    filter = { Name: 'addresses.private-ip-address', Values: [host] };
    port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  } else return { target: t.name, unknown: 'not an ELB or a web tier' };
  const enis = (await ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [filter, { Name: 'vpc-id', Values: [vpcId] }] }))).NetworkInterfaces ?? [];
  if (enis.length === 0) return { target: t.name, unknown: 'no network interface found for it in this VPC' };
  return { target: t.name, port, groupIds: [...new Set(enis.flatMap((e) => (e.Groups ?? []).flatMap((g) => (g.GroupId ? [g.GroupId] : []))))] };
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
    VpcPeeringConnectionId?: string;
    CoreNetworkArn?: string;
    LocalGatewayId?: string;
    State?: string;
  }[];
}): RouteTableFact {
  const d = (t.Routes ?? []).find((r) => r.DestinationCidrBlock === '0.0.0.0/0' && r.State !== 'blackhole');
  const target = d
    ? (d.NatGatewayId ??
      d.TransitGatewayId ??
      d.NetworkInterfaceId ??
      d.InstanceId ??
      d.VpcPeeringConnectionId ??
      d.CoreNetworkArn ??
      d.LocalGatewayId ??
      d.GatewayId)
    : undefined;
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
  Groups?: { GroupId?: string }[];
}): EndpointFact {
  return {
    id: e.VpcEndpointId ?? '',
    type: e.VpcEndpointType === 'Gateway' ? 'Gateway' : 'Interface',
    service: (e.ServiceName ?? '').split('.').slice(3).join('.'),
    state: e.State ?? '',
    privateDns: e.PrivateDnsEnabled === true,
    routeTableIds: e.RouteTableIds ?? [],
    groupIds: (e.Groups ?? []).flatMap((g) => (g.GroupId ? [g.GroupId] : [])),
  };
}

/** The region's trails: logging, management writes recorded, this region covered. */
async function trailsOf(client: CloudTrailClient, region: string): Promise<TrailFact[]> {
  const trails = (await client.send(new DescribeTrailsCommand({ includeShadowTrails: true }))).trailList ?? [];
  // One trail that cannot be read (an organization's, seen from a member account) must not hide the others.
  const read = await Promise.allSettled(
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
        const readsOnly = readOnly?.Equals?.includes('true') === true || readOnly?.NotEquals?.includes('false') === true;
        return category?.Equals?.includes('Management') === true && !readsOnly;
      });
      return {
        name: t.Name ?? id,
        logging: status.IsLogging === true,
        managementWrites: basic || advanced,
        coversRegion: t.IsMultiRegionTrail === true || t.HomeRegion === region,
      };
    }),
  );
  const readable = read.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  if (readable.length === 0 && read[0]?.status === 'rejected') throw read[0].reason;
  return readable;
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
