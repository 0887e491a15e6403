/**
 * `ipdrift preflight` over mocked AWS answers shaped as the API references document them (EC2
 * DescribeVpcs, DescribeVpcAttribute, DescribeSubnets, DescribeRouteTables, DescribeVpcEndpoints,
 * DescribeSecurityGroups; CloudTrail DescribeTrails, GetTrailStatus, GetEventSelectors; RDS
 * DescribeDBClusters; Secrets Manager DescribeSecret; CloudWatch Logs DescribeLogGroups): a VPC
 * that is ready, then each way a deploy goes wrong, each with its fix and exit status.
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
import type { RouteTable } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { assessPreflight, cidrContains, preflightExit } from '../../src/adapters/aws/preflight-assess.ts';
import type { PreflightConfig, PreflightOptions } from '../../src/adapters/aws/preflight-assess.ts';
import { loadBalancerNameOf, readPreflightFacts } from '../../src/adapters/aws/preflight-facts.ts';
import { parseConfig } from '../../src/core/config.ts';

const REGION = 'eu-west-1';
const VPC = 'vpc-0123456789abcdef0';
const SUBNETS = [
  {
    SubnetId: 'subnet-0aaaaaaaaaaaaaaa1',
    VpcId: VPC,
    CidrBlock: '10.0.1.0/24',
    AvailabilityZone: 'eu-west-1a',
    AvailabilityZoneId: 'euw1-az1',
    State: 'available',
  },
  {
    SubnetId: 'subnet-0bbbbbbbbbbbbbbb2',
    VpcId: VPC,
    CidrBlock: '10.0.2.0/24',
    AvailabilityZone: 'eu-west-1b',
    AvailabilityZoneId: 'euw1-az2',
    State: 'available',
  },
] as const;
const MONITOR_SG = 'sg-0123456789abcdef0';
const CLUSTER_SG = 'sg-0fedcba9876543210';
const SECRET = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!cluster-0edf3242-4cb9-4b90-9896-52cc5068a5fb-XmjB9d';

/** A private route table: local, and the default route through a NAT gateway (DescribeRouteTables' shape). */
const natTable: RouteTable = {
  RouteTableId: 'rtb-0aaaaaaaaaaaaaaa1',
  VpcId: VPC,
  Associations: [{ Main: true, RouteTableAssociationId: 'rtbassoc-0a', RouteTableId: 'rtb-0aaaaaaaaaaaaaaa1', AssociationState: { State: 'associated' } }],
  Routes: [
    { DestinationCidrBlock: '10.0.0.0/16', GatewayId: 'local', Origin: 'CreateRouteTable', State: 'active' },
    { DestinationCidrBlock: '0.0.0.0/0', NatGatewayId: 'nat-0123456789abcdef0', Origin: 'CreateRoute', State: 'active' },
  ],
};
/** An isolated one: local only. */
const isolatedTable: RouteTable = { ...natTable, Routes: [natTable.Routes![0]!] };

const config = (extra: object = {}): PreflightConfig =>
  parseConfig({ targets: [{ name: 'app-alb', type: 'elb', host: 'internal-app-1.eu-west-1.elb.amazonaws.com', port: 443 }], ...extra });
const withAurora = () =>
  config({
    targets: [
      { name: 'app-alb', type: 'elb', host: 'internal-app-1.eu-west-1.elb.amazonaws.com', port: 443 },
      {
        name: 'db',
        type: 'aurora',
        host: 'orders.cluster-abc.eu-west-1.rds.amazonaws.com',
        port: 5432,
        engine: 'postgres',
        clusterIdentifier: 'orders',
        login: { secretArn: SECRET },
      },
    ],
    flowLogs: { source: 'cloudwatch', logGroup: '/vpc/flow-logs', ignoreSources: ['10.0.8.0/24'] },
  });

describe('preflight', () => {
  const ec2 = mockClient(EC2Client);
  const trail = mockClient(CloudTrailClient);
  const rds = mockClient(RDSClient);
  const secrets = mockClient(SecretsManagerClient);
  const logs = mockClient(CloudWatchLogsClient);
  afterAll(() => {
    for (const m of [ec2, trail, rds, secrets, logs]) m.restore();
  });

  /** A ready VPC: DNS on, two private subnets in two AZs behind NAT, no endpoints. */
  beforeEach(() => {
    for (const m of [ec2, trail, rds, secrets, logs]) m.reset();
    ec2.on(DescribeVpcsCommand).resolves({ Vpcs: [{ VpcId: VPC, CidrBlock: '10.0.0.0/16', State: 'available', IsDefault: false }] });
    ec2.on(DescribeVpcAttributeCommand, { Attribute: 'enableDnsSupport' }).resolves({ VpcId: VPC, EnableDnsSupport: { Value: true } });
    ec2.on(DescribeVpcAttributeCommand, { Attribute: 'enableDnsHostnames' }).resolves({ VpcId: VPC, EnableDnsHostnames: { Value: true } });
    ec2.on(DescribeSubnetsCommand).resolves({ Subnets: [...SUBNETS] });
    ec2.on(DescribeRouteTablesCommand).resolves({ RouteTables: [natTable] });
    ec2.on(DescribeVpcEndpointsCommand).resolves({ VpcEndpoints: [] });
    ec2.on(DescribeNetworkInterfacesCommand).resolves({ NetworkInterfaces: [] });
  });

  async function run(cfg: PreflightConfig, opts: PreflightOptions = {}) {
    const items = assessPreflight(await readPreflightFacts(REGION, VPC, cfg, opts), cfg, opts);
    return {
      items,
      exit: preflightExit(items),
      line: (id: string) => items.filter((i) => i.id === id).map((i) => `${i.status}: ${i.what}${i.fix ? ` | ${i.fix}` : ''}`),
    };
  }

  it('a ready VPC: exit 0, and the subnets and AZs to deploy with', async () => {
    // Act
    const r = await run(config());
    // Assess
    expect(r.exit).toBe(0);
    expect(r.items.map((i) => `${i.id} ${i.status}`)).toEqual(['vpc ok', 'dns-support ok', 'subnets ok', 'routes ok']);
    expect(r.line('subnets')).toEqual([
      'ok: 2 subnet(s) in 2 AZ(s) | -c subnetIds=subnet-0aaaaaaaaaaaaaaa1,subnet-0bbbbbbbbbbbbbbb2 -c availabilityZones=eu-west-1a,eu-west-1b',
    ]);
  });

  it('no VPC by that id: exit 1 at once, saying to check the id and the region', async () => {
    // Prepare: EC2's error for an unknown id.
    ec2.on(DescribeVpcsCommand).rejects(Object.assign(new Error(`The vpc ID '${VPC}' does not exist`), { name: 'InvalidVpcID.NotFound' }));
    // Act
    const r = await run(config());
    // Assess
    expect(r.exit).toBe(1);
    expect(r.line('vpc')).toEqual([`fail: no VPC ${VPC} in ${REGION} | check the id and --region (aws ec2 describe-vpcs --region ${REGION})`]);
  });

  it('DNS support off: fail, with the command that turns it on', async () => {
    ec2.on(DescribeVpcAttributeCommand, { Attribute: 'enableDnsSupport' }).resolves({ VpcId: VPC, EnableDnsSupport: { Value: false } });
    const r = await run(config());
    expect(r.exit).toBe(1);
    expect(r.line('dns-support')[0]).toContain(`| aws ec2 modify-vpc-attribute --vpc-id ${VPC} --enable-dns-support`);
  });

  it('a subnet of another VPC: fail, naming it', async () => {
    const r = await run(config(), { subnetIds: ['subnet-0aaaaaaaaaaaaaaa1', 'subnet-0ccccccccccccccc3'] });
    expect(r.exit).toBe(1);
    expect(r.line('subnets')).toEqual([`fail: not subnets of ${VPC}: subnet-0ccccccccccccccc3 | aws ec2 describe-subnets --filters Name=vpc-id,Values=${VPC}`]);
  });

  it('no NAT and no endpoints: fail, with the endpoints=create flags; with --endpoints create: ok', async () => {
    // Prepare
    ec2.on(DescribeRouteTablesCommand).resolves({ RouteTables: [isolatedTable] });
    // Act
    const bare = await run(config());
    const create = await run(config(), { endpoints: 'create' });
    // Assess
    expect(bare.exit).toBe(1);
    expect(bare.line('endpoints')).toEqual([
      "fail: no route to dynamodb, sns, monitoring: the function's calls would time out | -c endpoints=create -c routeTableIds=rtb-0aaaaaaaaaaaaaaa1, or a NAT gateway",
    ]);
    expect(create.exit).toBe(0);
    expect(create.line('endpoints')).toEqual(['ok: the stack creates endpoints for dynamodb, sns, monitoring']);
  });

  it('an internet gateway route is not a route for a Lambda function: the endpoints it has are named, the rest missing', async () => {
    // Prepare: a public route table, and an SNS endpoint with private DNS and a DynamoDB gateway (DescribeVpcEndpoints' shape).
    ec2.on(DescribeRouteTablesCommand).resolves({
      RouteTables: [
        { ...natTable, Routes: [natTable.Routes![0]!, { DestinationCidrBlock: '0.0.0.0/0', GatewayId: 'igw-0123456789abcdef0', State: 'active' }] },
      ],
    });
    ec2.on(DescribeVpcEndpointsCommand).resolves({
      VpcEndpoints: [
        {
          VpcEndpointId: 'vpce-0a',
          VpcEndpointType: 'Interface',
          VpcId: VPC,
          ServiceName: 'com.amazonaws.eu-west-1.sns',
          State: 'Available',
          PrivateDnsEnabled: true,
          RouteTableIds: [],
        },
        {
          VpcEndpointId: 'vpce-0b',
          VpcEndpointType: 'Gateway',
          VpcId: VPC,
          ServiceName: 'com.amazonaws.eu-west-1.dynamodb',
          State: 'Available',
          RouteTableIds: ['rtb-0aaaaaaaaaaaaaaa1'],
        },
      ],
    });
    // Act
    const r = await run(config(), { subnetIds: SUBNETS.map((x) => x.SubnetId) });
    // Assess
    expect(r.line('routes')[0]).toContain('an internet gateway, which a Lambda function in a VPC cannot use');
    expect(r.line('endpoints')).toEqual([
      "fail: no route to monitoring: the function's calls would time out | -c endpoints=create -c routeTableIds=rtb-0aaaaaaaaaaaaaaa1 -c existingEndpoints=dynamodb,sns, or a NAT gateway",
    ]);
  });

  it('existing endpoints with private DNS and DNS hostnames off: their names do not resolve', async () => {
    ec2.on(DescribeRouteTablesCommand).resolves({ RouteTables: [isolatedTable] });
    ec2.on(DescribeVpcAttributeCommand, { Attribute: 'enableDnsHostnames' }).resolves({ VpcId: VPC, EnableDnsHostnames: { Value: false } });
    ec2.on(DescribeVpcEndpointsCommand).resolves({
      VpcEndpoints: ['sns', 'monitoring'].map((s, i) => ({
        VpcEndpointId: `vpce-0${i}`,
        VpcEndpointType: 'Interface' as const,
        VpcId: VPC,
        ServiceName: `com.amazonaws.eu-west-1.${s}`,
        State: 'Available' as const,
        PrivateDnsEnabled: true,
      })),
    });
    const r = await run(config(), { endpoints: 'create' });
    expect(r.exit).toBe(1);
    expect(r.line('dns-hostnames')[0]).toContain('fail: enableDnsHostnames is off');
    expect(r.line('endpoints')).toEqual(['ok: the stack creates endpoints for dynamodb | -c existingEndpoints=sns,monitoring (the VPC has those already)']);
  });

  it('--eni-events: no trail logging management writes is a fail; a multi-region trail that does is ok', async () => {
    // Prepare: a trail that logs only reads, then one that logs everything (DescribeTrails / GetTrailStatus / GetEventSelectors shapes).
    const trailArn = 'arn:aws:cloudtrail:us-east-1:123456789012:trail/management';
    trail.on(DescribeTrailsCommand).resolves({ trailList: [{ Name: 'management', TrailARN: trailArn, IsMultiRegionTrail: true, HomeRegion: 'us-east-1' }] });
    trail.on(GetTrailStatusCommand).resolves({ IsLogging: true });
    trail
      .on(GetEventSelectorsCommand)
      .resolves({ TrailARN: trailArn, EventSelectors: [{ ReadWriteType: 'ReadOnly', IncludeManagementEvents: true, DataResources: [] }] });
    // Act
    const readsOnly = await run(config(), { eniEvents: true });
    trail.on(GetEventSelectorsCommand).resolves({
      TrailARN: trailArn,
      AdvancedEventSelectors: [{ Name: 'Management events', FieldSelectors: [{ Field: 'eventCategory', Equals: ['Management'] }] }],
    });
    const all = await run(config(), { eniEvents: true });
    // Assess
    expect(readsOnly.exit).toBe(1);
    expect(readsOnly.line('trail')[0]).toContain('fail: no logging CloudTrail trail records management write events in eu-west-1');
    expect(all.exit).toBe(0);
    expect(all.line('trail')[0]).toContain('ok: CloudTrail trail management logs management write events here');
  });

  it('the config: a missing cluster and log group fail; an rds! secret under its own key and a group that does not admit the monitor warn', async () => {
    // Prepare: DescribeDBClusters, DescribeSecurityGroups, DescribeSecret, DescribeLogGroups shapes.
    rds
      .on(DescribeDBClustersCommand)
      .resolves({ DBClusters: [{ DBClusterIdentifier: 'orders', Port: 5432, VpcSecurityGroups: [{ VpcSecurityGroupId: CLUSTER_SG, Status: 'active' }] }] });
    ec2.on(DescribeSecurityGroupsCommand).resolves({
      SecurityGroups: [
        {
          GroupId: CLUSTER_SG,
          IpPermissions: [{ IpProtocol: 'tcp', FromPort: 5432, ToPort: 5432, UserIdGroupPairs: [{ GroupId: 'sg-0aaaaaaaaaaaaaaaa' }], IpRanges: [] }],
        },
      ],
    });
    secrets.on(DescribeSecretCommand).resolves({
      ARN: SECRET,
      Name: 'rds!cluster-0edf3242-4cb9-4b90-9896-52cc5068a5fb',
      KmsKeyId: 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
      OwningService: 'rds',
    });
    logs
      .on(DescribeLogGroupsCommand)
      .resolves({ logGroups: [{ logGroupName: '/vpc/flow-logs-old', arn: 'arn:aws:logs:eu-west-1:123456789012:log-group:/vpc/flow-logs-old:*' }] });
    // Act
    const r = await run(withAurora(), { securityGroupId: MONITOR_SG });
    rds.on(DescribeDBClustersCommand).rejects(Object.assign(new Error('DBCluster orders not found.'), { name: 'DBClusterNotFoundFault' }));
    const gone = await run(withAurora());
    // Assess
    expect(r.exit).toBe(1);
    expect(r.line('aurora')).toEqual(['ok: DB cluster orders']);
    expect(r.line('ingress')).toEqual([
      `warn: orders: its security group(s) do not admit ${MONITOR_SG} on 5432: every probe would time out | aws ec2 authorize-security-group-ingress --group-id ${CLUSTER_SG} --protocol tcp --port 5432 --source-group ${MONITOR_SG}`,
      'info: app-alb: not checked: no network interface found for it in this VPC',
    ]);
    expect(r.line('secret')[0]).toContain('the function also needs kms:Decrypt on that key');
    expect(r.line('log-group')).toEqual([`fail: no log group /vpc/flow-logs in ${REGION} | check flowLogs/resolverLogs.logGroup (or give its ARN)`]);
    expect(gone.line('aurora')).toEqual(['fail: no DB cluster "orders" | check clusterIdentifier and the target\'s "region" in the config']);
  });

  it("the ELB's and the web tier's groups, found by their interfaces: one admits the monitor, one does not", async () => {
    // Prepare: DescribeNetworkInterfaces answers by description (the ALB's) and by address (the web tier's).
    const ALB_SG = 'sg-0aaaaaaaaaaaaaaa1';
    const WEB_SG = 'sg-0bbbbbbbbbbbbbbb2';
    const cfg = config({
      targets: [
        { name: 'app-alb', type: 'elb', host: 'internal-app-alb-1234567890.eu-west-1.elb.amazonaws.com', port: 443 },
        { name: 'web', type: 'web-tier', url: 'http://10.0.1.10/health', upstream: 'app-alb' },
      ],
    });
    ec2.on(DescribeNetworkInterfacesCommand).callsFake((input: { Filters: { Name: string; Values: string[] }[] }) => {
      const f = input.Filters[0]!;
      if (f.Name === 'description' && f.Values.includes('ELB app/app-alb/*'))
        return {
          NetworkInterfaces: [
            { NetworkInterfaceId: 'eni-0a', Description: 'ELB app/app-alb/50dc6c495c0c9188', Groups: [{ GroupId: ALB_SG, GroupName: 'alb' }] },
          ],
        };
      if (f.Name === 'addresses.private-ip-address' && f.Values.includes('10.0.1.10'))
        return { NetworkInterfaces: [{ NetworkInterfaceId: 'eni-0b', PrivateIpAddress: '10.0.1.10', Groups: [{ GroupId: WEB_SG, GroupName: 'web' }] }] };
      return { NetworkInterfaces: [] };
    });
    ec2.on(DescribeSecurityGroupsCommand).resolves({
      SecurityGroups: [
        { GroupId: ALB_SG, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 443, ToPort: 443, UserIdGroupPairs: [{ GroupId: MONITOR_SG }], IpRanges: [] }] },
        { GroupId: WEB_SG, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 80, ToPort: 80, IpRanges: [{ CidrIp: '10.0.0.0/24' }] }] },
      ],
    });
    // Act
    const r = await run(cfg, { securityGroupId: MONITOR_SG });
    // Assess
    expect(r.line('ingress')).toEqual([
      `ok: app-alb admits ${MONITOR_SG} on 443`,
      `warn: web: its security group(s) do not admit ${MONITOR_SG} on 80: every probe would time out | aws ec2 authorize-security-group-ingress --group-id ${WEB_SG} --protocol tcp --port 80 --source-group ${MONITOR_SG}`,
    ]);
    expect(r.exit).toBe(0);
  });

  it('without --subnet-ids, only the private subnets count: a public one (its own table routes to an internet gateway) is left out', async () => {
    // Prepare: a third subnet, public, with its own route table.
    const PUBLIC = 'subnet-0ddddddddddddddd4';
    ec2
      .on(DescribeSubnetsCommand)
      .resolves({ Subnets: [...SUBNETS, { SubnetId: PUBLIC, VpcId: VPC, CidrBlock: '10.0.100.0/24', AvailabilityZone: 'eu-west-1a' }] });
    ec2.on(DescribeRouteTablesCommand).resolves({
      RouteTables: [
        natTable,
        {
          RouteTableId: 'rtb-0ppppppppppppppp1',
          VpcId: VPC,
          Associations: [{ Main: false, SubnetId: PUBLIC }],
          Routes: [natTable.Routes![0]!, { DestinationCidrBlock: '0.0.0.0/0', GatewayId: 'igw-0123456789abcdef0', State: 'active' }],
        },
      ],
    });
    // Act
    const r = await run(config());
    // Assess
    expect(r.exit).toBe(0);
    expect(r.line('subnets')[0]).toContain('-c subnetIds=subnet-0aaaaaaaaaaaaaaa1,subnet-0bbbbbbbbbbbbbbb2 ');
    expect(r.line('routes')).toEqual(['ok: every subnet has a default route through NAT (or a gateway that is not an internet gateway)']);
  });

  it('a target group that admits the monitor by a CIDR block holding its subnets admits it; an NLB without groups is said, not failed', async () => {
    // Prepare
    const ALB_SG = 'sg-0aaaaaaaaaaaaaaa1';
    const cfg = config({
      targets: [
        { name: 'app-alb', type: 'elb', host: 'internal-app-alb-1234567890.eu-west-1.elb.amazonaws.com', port: 443 },
        { name: 'nlb', type: 'elb', host: 'my-nlb-0123456789abcdef.elb.eu-west-1.amazonaws.com', port: 8443 },
      ],
    });
    ec2
      .on(DescribeNetworkInterfacesCommand)
      .callsFake((input: { Filters: { Name: string; Values: string[] }[] }) =>
        input.Filters[0]!.Values.includes('ELB app/app-alb/*')
          ? { NetworkInterfaces: [{ NetworkInterfaceId: 'eni-0a', Groups: [{ GroupId: ALB_SG }] }] }
          : { NetworkInterfaces: [{ NetworkInterfaceId: 'eni-0n', Description: 'ELB net/my-nlb/0123456789abcdef', Groups: [] }] },
      );
    ec2.on(DescribeSecurityGroupsCommand).resolves({
      SecurityGroups: [{ GroupId: ALB_SG, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 443, ToPort: 443, IpRanges: [{ CidrIp: '10.0.0.0/16' }] }] }],
    });
    // Act
    const r = await run(cfg, { securityGroupId: MONITOR_SG });
    // Assess
    expect(r.line('ingress')).toEqual([
      `ok: app-alb admits ${MONITOR_SG} on 443`,
      'info: nlb: no security group on its interfaces (an NLB without groups): the groups behind it decide',
    ]);
  });

  it('a log group given by an ARN of another region fails (Logs Insights queries its own region); of another account, it is not checked', async () => {
    // Prepare: DescribeVpcs names the account (OwnerId).
    ec2.on(DescribeVpcsCommand).resolves({ Vpcs: [{ VpcId: VPC, OwnerId: '123456789012', State: 'available' }] });
    const logsOf = (group: string) => config({ resolverLogs: { source: 'cloudwatch', logGroup: group } });
    // Act
    const otherRegion = await run(logsOf('arn:aws:logs:us-east-1:123456789012:log-group:/resolver'));
    const otherAccount = await run(logsOf('arn:aws:logs:eu-west-1:111122223333:log-group:/resolver:*'));
    // Assess
    expect(otherRegion.exit).toBe(1);
    expect(otherRegion.line('log-group')[0]).toContain('is in another region: Logs Insights queries only the region the function runs in');
    expect(otherAccount.line('log-group')).toEqual([
      'info: log group arn:aws:logs:eu-west-1:111122223333:log-group:/resolver:* is in another account: not checked from here',
    ]);
  });

  it("the VPC's own endpoints (no NAT) must admit the monitor on 443: one that does not fails, naming the command", async () => {
    // Prepare: SNS and CloudWatch endpoints with private DNS, a DynamoDB gateway; the SNS endpoint's group admits the VPC, CloudWatch's only itself.
    const SNS_SG = 'sg-0ssssssssssssssss';
    const CW_SG = 'sg-0cccccccccccccccc';
    ec2.on(DescribeRouteTablesCommand).resolves({ RouteTables: [isolatedTable] });
    ec2.on(DescribeVpcEndpointsCommand).resolves({
      VpcEndpoints: [
        {
          VpcEndpointId: 'vpce-0sns',
          VpcEndpointType: 'Interface',
          ServiceName: 'com.amazonaws.eu-west-1.sns',
          State: 'Available',
          PrivateDnsEnabled: true,
          Groups: [{ GroupId: SNS_SG }],
        },
        {
          VpcEndpointId: 'vpce-0cw',
          VpcEndpointType: 'Interface',
          ServiceName: 'com.amazonaws.eu-west-1.monitoring',
          State: 'Available',
          PrivateDnsEnabled: true,
          Groups: [{ GroupId: CW_SG }],
        },
        {
          VpcEndpointId: 'vpce-0ddb',
          VpcEndpointType: 'Gateway',
          ServiceName: 'com.amazonaws.eu-west-1.dynamodb',
          State: 'Available',
          RouteTableIds: ['rtb-0aaaaaaaaaaaaaaa1'],
        },
      ],
    });
    ec2.on(DescribeSecurityGroupsCommand).resolves({
      SecurityGroups: [
        { GroupId: SNS_SG, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 443, ToPort: 443, IpRanges: [{ CidrIp: '10.0.0.0/16' }] }] },
        { GroupId: CW_SG, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 443, ToPort: 443, UserIdGroupPairs: [{ GroupId: CW_SG }] }] },
      ],
    });
    // Act
    const r = await run(config(), { securityGroupId: MONITOR_SG });
    // Assess
    expect(r.exit).toBe(1);
    expect(r.line('endpoints')).toEqual(['ok: the VPC has endpoints for dynamodb, sns, monitoring | -c endpoints=existing']);
    expect(r.line('endpoint-ingress')).toEqual([
      `ok: the sns endpoint vpce-0sns admits ${MONITOR_SG} on 443`,
      `fail: the monitoring endpoint vpce-0cw: its security group(s) do not admit ${MONITOR_SG} on 443: every call to that API would time out | aws ec2 authorize-security-group-ingress --group-id ${CW_SG} --protocol tcp --port 443 --source-group ${MONITOR_SG}`,
    ]);
  });

  it.each([
    ['10.0.0.0/16', '10.0.1.0/24', true],
    ['10.0.0.0/16', '10.1.0.0/24', false],
    ['0.0.0.0/0', '192.168.1.0/24', true],
    ['10.0.1.0/24', '10.0.0.0/16', false],
    ['10.0.1.0/24', 'fd00::/64', false],
  ])('cidrContains(%s, %s) is %s', (outer, inner, want) => {
    expect(cidrContains(outer, inner)).toBe(want);
  });

  it.each([
    ['internal-my-load-balancer-1234567890.us-west-2.elb.amazonaws.com', 'my-load-balancer'],
    ['dualstack.my-load-balancer-1234567890.us-west-2.elb.amazonaws.com', 'my-load-balancer'],
    ['my-load-balancer-1234567890.us-west-2.elb.amazonaws.com', 'my-load-balancer'],
    ['my-load-balancer-1234567890abcdef.elb.us-east-2.amazonaws.com', 'my-load-balancer'],
    ['app.corp.internal', undefined],
  ])('the load balancer name of %s is %s (ALB, CLB and NLB DNS names as AWS documents them)', (host, name) => {
    expect(loadBalancerNameOf(host)).toBe(name);
  });

  it('a call refused (AccessDenied): that item cannot be checked, exit 3, and the rest is still judged', async () => {
    ec2
      .on(DescribeRouteTablesCommand)
      .rejects(Object.assign(new Error('You are not authorized to perform this operation.'), { name: 'UnauthorizedOperation' }));
    const r = await run(config());
    expect(r.exit).toBe(3);
    expect(r.line('routes')).toEqual(['error: route tables: could not be read (UnauthorizedOperation: You are not authorized to perform this operation.)']);
    expect(r.line('subnets')[0]).toMatch(/^ok: /);
  });
});
