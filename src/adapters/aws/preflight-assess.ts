/**
 * `ipdrift preflight`: what a deploy into this VPC needs, item by item, each with its fix
 * (README, "Deploy to AWS"). This file judges facts already read (preflight-facts.ts reads them
 * with read-only calls); it calls nothing, so every verdict is tested on facts shaped as the
 * EC2, CloudTrail, RDS, Secrets Manager and CloudWatch Logs APIs return them.
 */
import type { Config } from '../../core/config.ts';
import { logGroupRef } from '../../core/arn.ts';
import { interfaceEndpointsFor } from '../../planning/vpc-endpoints.ts';
import type { EndpointService } from '../../planning/vpc-endpoints.ts';

/** One item's verdict: `error` means it could not be checked (an API call failed). */
export type PreflightStatus = 'ok' | 'info' | 'warn' | 'fail' | 'error';

/** One line of the report. */
export interface PreflightItem {
  id: string;
  status: PreflightStatus;
  what: string;
  fix?: string;
}

/** A fact, or why it could not be read. */
export type Read<T> = { ok: true; value: T } | { ok: false; error: string };

export interface SubnetFact {
  subnetId: string;
  vpcId: string;
  availabilityZone: string;
  /** Its IPv4 block: the monitor's addresses come from it (a target admitting a CIDR may cover them). */
  cidr?: string;
}

export interface RouteTableFact {
  routeTableId: string;
  main: boolean;
  subnetIds: string[];
  /** The default route's target (`nat-...`, `igw-...`, `tgw-...`, `eni-...`, `i-...`), when there is one. */
  defaultRoute?: string;
}

export interface EndpointFact {
  id: string;
  type: 'Interface' | 'Gateway';
  /** The service's short name: `sns`, `monitoring`, `dynamodb` (from `com.amazonaws.<region>.<name>`). */
  service: string;
  state: string;
  privateDns: boolean;
  routeTableIds: string[];
  /** An interface endpoint's security groups: they must admit the monitor on 443. */
  groupIds?: string[];
}

export interface TrailFact {
  name: string;
  logging: boolean;
  /** It records management write events (event selectors, or advanced ones). */
  managementWrites: boolean;
  /** It covers this region (multi-region, or its home region). */
  coversRegion: boolean;
}

export interface ClusterFact {
  identifier: string;
  port?: number;
  securityGroupIds: string[];
}

/** The groups in front of an ELB or web-tier target (its interfaces'), or why they are not known. */
export type TargetGroupsFact = { target: string; port: number; groupIds: string[] } | { target: string; unknown: string };

/** An ingress rule: a port range and the groups it admits. */
export interface IngressFact {
  groupId: string;
  rules: { protocol: string; fromPort?: number; toPort?: number; groupIds: string[]; cidrs: string[] }[];
}

/** Everything preflight reads. Absent: not asked (the config or the options did not need it). */
export interface PreflightFacts {
  region: string;
  vpcId: string;
  vpcExists: Read<boolean>;
  dnsSupport: Read<boolean>;
  dnsHostnames: Read<boolean>;
  subnets: Read<SubnetFact[]>;
  routeTables: Read<RouteTableFact[]>;
  endpoints: Read<EndpointFact[]>;
  trails?: Read<TrailFact[]>;
  clusters?: Read<(ClusterFact | { identifier: string; missing: true })[]>;
  /** The ELB and web-tier targets' groups, when the monitor's group is known. */
  targetGroups?: Read<TargetGroupsFact[]>;
  /** The clusters' and targets' security groups' ingress, when the monitor's group is known. */
  ingress?: Read<IngressFact[]>;
  secrets?: Read<{ arn: string; exists: boolean; kmsKeyId?: string }[]>;
  logGroups?: Read<{ spec: string; exists: boolean | 'elsewhere' | 'other-region' }[]>;
}

/** What of the config preflight reads (without one: no Aurora, no logs). */
export type PreflightConfig = Pick<Config, 'targets'> & Partial<Pick<Config, 'flowLogs' | 'resolverLogs'>>;

/** What the deploy will use, from the command line. */
export interface PreflightOptions {
  subnetIds?: readonly string[];
  securityGroupId?: string;
  endpoints?: 'create' | 'existing';
  eniEvents?: boolean;
}

const fromRead = <T>(id: string, r: Read<T> | undefined, what: string): PreflightItem | undefined =>
  r && !r.ok ? { id, status: 'error', what: `${what}: could not be read (${r.error})` } : undefined;

/** The port of the AWS APIs behind an interface endpoint. */
const HTTPS_PORT = 443;

/** The services whose route the functions need for `config`: the interface endpoints' and DynamoDB. */
export function neededServices(config: PreflightConfig): EndpointService[] {
  return ['dynamodb', ...interfaceEndpointsFor(config)];
}

/** Every item of the report, in the order a deploy meets them. */
export function assessPreflight(facts: PreflightFacts, config: PreflightConfig, opts: PreflightOptions): PreflightItem[] {
  const items: PreflightItem[] = [];
  const push = (item: PreflightItem | undefined) => item && items.push(item);
  const v = facts.vpcId;

  // The VPC and its DNS.
  const vpcError = fromRead('vpc', facts.vpcExists, `VPC ${v}`);
  if (vpcError) return [vpcError];
  if (facts.vpcExists.ok && !facts.vpcExists.value)
    return [
      { id: 'vpc', status: 'fail', what: `no VPC ${v} in ${facts.region}`, fix: `check the id and --region (aws ec2 describe-vpcs --region ${facts.region})` },
    ];
  items.push({ id: 'vpc', status: 'ok', what: `VPC ${v} in ${facts.region}` });
  push(fromRead('dns-support', facts.dnsSupport, 'enableDnsSupport'));
  if (facts.dnsSupport.ok)
    items.push(
      facts.dnsSupport.value
        ? { id: 'dns-support', status: 'ok', what: 'enableDnsSupport: the VPC resolver answers (the targets are private names)' }
        : {
            id: 'dns-support',
            status: 'fail',
            what: 'enableDnsSupport is off: nothing in the VPC resolves names through the Amazon-provided resolver',
            fix: `aws ec2 modify-vpc-attribute --vpc-id ${v} --enable-dns-support "{\\"Value\\":true}"`,
          },
    );

  // Subnets: in the VPC, and their AZs (an interface endpoint takes one per AZ).
  const subnetError = fromRead('subnets', facts.subnets, 'subnets');
  const subnets = facts.subnets.ok ? facts.subnets.value : [];
  const tables = facts.routeTables.ok ? facts.routeTables.value : [];
  const tableOf = (subnetId: string) => tables.find((t) => t.subnetIds.includes(subnetId)) ?? tables.find((t) => t.main);
  // Without --subnet-ids: the private subnets (a public one routes to an internet gateway, which a function cannot use).
  const isPublic = (subnetId: string) => tableOf(subnetId)?.defaultRoute?.startsWith('igw-') === true;
  const wanted = opts.subnetIds ?? subnets.filter((s) => !isPublic(s.subnetId)).map((s) => s.subnetId);
  const monitorCidrs = wanted.flatMap((id) => subnets.find((s) => s.subnetId === id)?.cidr ?? []);
  if (subnetError) items.push(subnetError);
  else {
    const missing = wanted.filter((id) => !subnets.some((s) => s.subnetId === id && s.vpcId === v));
    if (missing.length)
      items.push({
        id: 'subnets',
        status: 'fail',
        what: `not subnets of ${v}: ${missing.join(', ')}`,
        fix: `aws ec2 describe-subnets --filters Name=vpc-id,Values=${v}`,
      });
    else if (wanted.length === 0)
      items.push({
        id: 'subnets',
        status: 'fail',
        what: `${v} has no private subnets (every one routes to an internet gateway)`,
        fix: 'create private subnets for the function, or give --subnet-ids',
      });
    else {
      const azs = wanted.map((id) => subnets.find((s) => s.subnetId === id)!.availabilityZone);
      items.push({
        id: 'subnets',
        status: 'ok',
        what: `${wanted.length} subnet(s) in ${new Set(azs).size} AZ(s)`,
        fix: `-c subnetIds=${wanted.join(',')} -c availabilityZones=${azs.join(',')}`,
      });
    }
  }

  // A route to each AWS API: a default route through NAT (or a transit gateway, an appliance), or an endpoint.
  const routeError = fromRead('routes', facts.routeTables, 'route tables');
  const endpointError = fromRead('endpoints', facts.endpoints, 'VPC endpoints');
  push(routeError);
  push(endpointError);
  if (!routeError && !endpointError && facts.routeTables.ok && facts.endpoints.ok) {
    const endpoints = facts.endpoints.value.filter((e) => e.state.toLowerCase() === 'available');
    const needed = neededServices(config);
    const noNat = wanted.filter((id) => {
      const route = tableOf(id)?.defaultRoute;
      return !route || route.startsWith('igw-');
    });
    if (noNat.length === 0)
      items.push({ id: 'routes', status: 'ok', what: 'every subnet has a default route through NAT (or a gateway that is not an internet gateway)' });
    else {
      const igw = noNat.filter((id) => tableOf(id)?.defaultRoute?.startsWith('igw-'));
      items.push({
        id: 'routes',
        status: 'info',
        what: `no NAT route from ${noNat.join(', ')}${igw.length ? ` (${igw.join(', ')}: an internet gateway, which a Lambda function in a VPC cannot use: it has no public address)` : ''}: the AWS APIs only through endpoints`,
      });
      const reach = (service: EndpointService) =>
        endpoints.some((e) =>
          service === 'dynamodb'
            ? e.service === 'dynamodb' && e.type === 'Gateway' && noNat.every((id) => e.routeTableIds.includes(tableOf(id)?.routeTableId ?? ''))
            : e.service === service && e.type === 'Interface' && e.privateDns,
        );
      const missing = needed.filter((s) => !reach(s));
      // An endpoint the function will use must admit it on 443, or every call to that API times out.
      if (opts.securityGroupId && facts.ingress?.ok)
        for (const service of needed.filter((s) => s !== 'dynamodb' && reach(s))) {
          const e = endpoints.find((x) => x.service === service && x.type === 'Interface' && x.privateDns)!;
          const verdict = admission(
            `the ${service} endpoint ${e.id}`,
            e.groupIds ?? [],
            HTTPS_PORT,
            opts.securityGroupId,
            facts.ingress.value,
            monitorCidrs,
            'every call to that API would time out',
          );
          items.push({ ...verdict, id: 'endpoint-ingress', ...(verdict.status === 'warn' ? { status: 'fail' as const } : {}) });
        }
      if (missing.length === 0)
        items.push({ id: 'endpoints', status: 'ok', what: `the VPC has endpoints for ${needed.join(', ')}`, fix: '-c endpoints=existing' });
      else if (opts.endpoints === 'create') {
        const have = needed.filter((s) => reach(s));
        items.push({
          id: 'endpoints',
          status: 'ok',
          what: `the stack creates endpoints for ${missing.join(', ')}`,
          ...(have.length ? { fix: `-c existingEndpoints=${have.join(',')} (the VPC has those already)` } : {}),
        });
      } else
        items.push({
          id: 'endpoints',
          status: 'fail',
          what: `no route to ${missing.join(', ')}: the function's calls would time out`,
          fix: `-c endpoints=create -c routeTableIds=${[...new Set(noNat.map((id) => tableOf(id)?.routeTableId))].join(',')}${needed.length > missing.length ? ` -c existingEndpoints=${needed.filter((s) => !missing.includes(s)).join(',')}` : ''}, or a NAT gateway`,
        });
    }
    // Endpoints with private DNS already answer these names for the whole VPC: creating ours too costs twice.
    const shared = endpoints.filter((e) => e.type === 'Interface' && e.privateDns && needed.includes(e.service as EndpointService));
    if (shared.length && opts.endpoints === 'create' && noNat.length === 0)
      items.push({
        id: 'endpoints',
        status: 'info',
        what: `the VPC already has ${shared.map((e) => e.service).join(', ')} endpoint(s) with private DNS`,
        fix: `-c existingEndpoints=${shared.map((e) => e.service).join(',')}`,
      });
    if (shared.length && facts.dnsHostnames.ok && !facts.dnsHostnames.value)
      items.push({
        id: 'dns-hostnames',
        status: 'fail',
        what: "enableDnsHostnames is off: the existing endpoints' private DNS names do not resolve",
        fix: `aws ec2 modify-vpc-attribute --vpc-id ${v} --enable-dns-hostnames "{\\"Value\\":true}"`,
      });
  }

  // CloudTrail, for the ELB interface rule.
  if (opts.eniEvents) {
    const trailError = fromRead('trail', facts.trails, 'CloudTrail trails');
    if (trailError) items.push(trailError);
    else {
      const good = (facts.trails?.ok ? facts.trails.value : []).filter((t) => t.logging && t.managementWrites && t.coversRegion);
      items.push(
        good.length
          ? { id: 'trail', status: 'ok', what: `CloudTrail trail ${good[0]!.name} logs management write events here (the ELB interface rule needs one)` }
          : {
              id: 'trail',
              status: 'fail',
              what: `no logging CloudTrail trail records management write events in ${facts.region}: -c eniEvents=true would never fire`,
              fix: 'create a trail with management events (read/write or write-only), or leave eniEvents off',
            },
      );
    }
  }

  // What the config names: clusters (and the monitor's admission), secrets, log groups.
  if (facts.clusters) {
    const err = fromRead('aurora', facts.clusters, 'Aurora clusters');
    if (err) items.push(err);
    else if (facts.clusters.ok)
      for (const c of facts.clusters.value) {
        if ('missing' in c) {
          items.push({
            id: 'aurora',
            status: 'fail',
            what: `no DB cluster "${c.identifier}"`,
            fix: 'check clusterIdentifier and the target\'s "region" in the config',
          });
          continue;
        }
        items.push({ id: 'aurora', status: 'ok', what: `DB cluster ${c.identifier}` });
        if (opts.securityGroupId && facts.ingress?.ok && c.port !== undefined)
          items.push(admission(c.identifier, c.securityGroupIds, c.port, opts.securityGroupId, facts.ingress.value, monitorCidrs));
      }
  }
  if (facts.targetGroups && opts.securityGroupId) {
    const err = fromRead('ingress', facts.targetGroups, "the targets' security groups");
    if (err) items.push(err);
    else if (facts.targetGroups.ok)
      for (const g of facts.targetGroups.value)
        items.push(
          'unknown' in g
            ? { id: 'ingress', status: 'info', what: `${g.target}: not checked: ${g.unknown}` }
            : g.groupIds.length === 0
              ? { id: 'ingress', status: 'info', what: `${g.target}: no security group on its interfaces (an NLB without groups): the groups behind it decide` }
              : facts.ingress?.ok
                ? admission(g.target, g.groupIds, g.port, opts.securityGroupId, facts.ingress.value, monitorCidrs)
                : { id: 'ingress', status: 'error', what: `${g.target}: its groups' rules could not be read` },
        );
  }
  if (facts.secrets) {
    const err = fromRead('secrets', facts.secrets, 'secrets');
    if (err) items.push(err);
    else if (facts.secrets.ok)
      for (const s of facts.secrets.value) {
        if (!s.exists)
          items.push({
            id: 'secret',
            status: 'fail',
            what: `no secret ${s.arn}`,
            fix: "check login.secretArn (the full ARN, from the console or the cluster's MasterUserSecret)",
          });
        else if (s.kmsKeyId && !/alias\/aws\/secretsmanager$/.test(s.kmsKeyId))
          items.push({
            id: 'secret',
            status: 'warn',
            what: `${s.arn} is encrypted with ${s.kmsKeyId}: the function also needs kms:Decrypt on that key, which the stack does not grant`,
            fix: "allow the monitor function's role kms:Decrypt in that key's policy after the deploy",
          });
        else items.push({ id: 'secret', status: 'ok', what: `secret ${s.arn}` });
      }
  }
  if (facts.logGroups) {
    const err = fromRead('log-groups', facts.logGroups, 'log groups');
    if (err) items.push(err);
    else if (facts.logGroups.ok)
      for (const g of facts.logGroups.value)
        items.push(
          g.exists === true
            ? { id: 'log-group', status: 'ok', what: `log group ${logGroupRef(g.spec)?.name ?? g.spec}` }
            : g.exists === 'elsewhere'
              ? { id: 'log-group', status: 'info', what: `log group ${g.spec} is in another account: not checked from here` }
              : g.exists === 'other-region'
                ? {
                    id: 'log-group',
                    status: 'fail',
                    what: `log group ${g.spec} is in another region: Logs Insights queries only the region the function runs in`,
                    fix: `deploy to that region, or send the logs to a group in ${facts.region}`,
                  }
                : {
                    id: 'log-group',
                    status: 'fail',
                    what: `no log group ${g.spec} in ${facts.region}`,
                    fix: 'check flowLogs/resolverLogs.logGroup (or give its ARN)',
                  },
        );
  }
  return items;
}

/**
 * Whether `groupIds` admit `monitor` on `port`: a rule for the port (or all traffic) naming the
 * monitor's group, or a CIDR block holding every subnet the monitor runs in.
 */
function admission(
  who: string,
  groupIds: readonly string[],
  port: number,
  monitor: string,
  ingress: readonly IngressFact[],
  monitorCidrs: readonly string[],
  consequence = 'every probe would time out',
): PreflightItem {
  const admits = ingress
    .filter((g) => groupIds.includes(g.groupId))
    .some((g) =>
      g.rules.some(
        (r) =>
          (r.protocol === '-1' || (r.protocol === 'tcp' && (r.fromPort ?? 0) <= port && port <= (r.toPort ?? 65535))) &&
          (r.groupIds.includes(monitor) || (monitorCidrs.length > 0 && monitorCidrs.every((m) => r.cidrs.some((c) => cidrContains(c, m))))),
      ),
    );
  return admits
    ? { id: 'ingress', status: 'ok', what: `${who} admits ${monitor} on ${port}` }
    : {
        id: 'ingress',
        status: 'warn',
        what: `${who}: its security group(s) do not admit ${monitor} on ${port}: ${consequence}`,
        fix: `aws ec2 authorize-security-group-ingress --group-id ${groupIds[0] ?? 'TARGET_SG'} --protocol tcp --port ${port} --source-group ${monitor}`,
      };
}

/** IPv4 `outer` holds all of `inner` (both "a.b.c.d/n"); false for anything else. */
export function cidrContains(outer: string, inner: string): boolean {
  const parse = (c: string) => {
    const [ip, bits] = c.split('/');
    const parts = (ip ?? '').split('.').map(Number);
    const n = Number(bits);
    if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255) || !Number.isInteger(n) || n < 0 || n > 32) return undefined;
    return { base: ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0, bits: n };
  };
  const o = parse(outer);
  const i = parse(inner);
  if (!o || !i || i.bits < o.bits) return false;
  const mask = o.bits === 0 ? 0 : (~0 << (32 - o.bits)) >>> 0;
  return (o.base & mask) >>> 0 === (i.base & mask) >>> 0;
}

/** Exit status: 0 a deploy would work; 1 it would not; 3 something could not be checked. */
export function preflightExit(items: readonly PreflightItem[]): 0 | 1 | 3 {
  if (items.some((i) => i.status === 'fail')) return 1;
  if (items.some((i) => i.status === 'error')) return 3;
  return 0;
}
