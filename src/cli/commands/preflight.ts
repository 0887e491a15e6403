/** `ipdrift preflight`: before a deploy, what this VPC and this config need, each item with its fix. */
import { AWS_REGION_PATTERN } from '../../core/constants.ts';
import { printable } from '../../adapters/local/printable.ts';
import type { PreflightConfig, PreflightItem, PreflightOptions } from '../../adapters/aws/preflight-assess.ts';
import { parse } from '../args.ts';
import { EXIT, UsageError } from '../errors.ts';
import { loadConfigFile } from '../load-config.ts';

export const PREFLIGHT_USAGE = `Usage: ipdrift preflight --region R --vpc-id V [--config FILE] [--subnet-ids a,b]
                         [--security-group-id SG] [--endpoints create|existing] [--eni-events] [--json]

Checks, with read-only AWS calls (Describe*, Get*), what a deploy of the stack into this VPC
needs, and prints each item with its fix and the -c flags to deploy with: the VPC and its DNS
support; the subnets and their AZs; a route to every AWS API the functions call (a NAT route,
or endpoints the VPC has, or -c endpoints=create); with --eni-events, a CloudTrail trail logging
management writes; from the config, the Aurora clusters, the login secrets and the flow/resolver
log groups; with --security-group-id, whether each target's groups admit the monitor on its port.

Options:
      --region R             the region you deploy to (required)
      --vpc-id V             the VPC (required)
  -c, --config FILE          the config you deploy (default: ELB targets only, no logs)
      --subnet-ids a,b       the subnets you give -c subnetIds (default: the VPC's private ones)
      --security-group-id SG the monitor's security group, when you give -c securityGroupId
      --endpoints MODE       as you give -c endpoints: create, or existing
      --eni-events           as -c eniEvents=true: a trail must record the ELB's interface calls
      --json                 the items as JSON
  -h, --help                 this help

Needs ec2:Describe*, and as the config asks: cloudtrail:DescribeTrails/GetTrailStatus/
GetEventSelectors, rds:DescribeDBClusters, secretsmanager:DescribeSecret, logs:DescribeLogGroups.

Examples:
  ipdrift preflight --region eu-west-1 --vpc-id vpc-0123456789abcdef0 -c ipdrift.json
  ipdrift preflight --region eu-west-1 --vpc-id vpc-0123456789abcdef0 --subnet-ids subnet-a,subnet-b --endpoints create

Exit status: 0 a deploy would work; 1 an item fails (its fix is printed); 2 usage or config
error; 3 an item could not be checked (an AWS call failed: access denied, throttled).`;

const LABEL: Record<PreflightItem['status'], string> = { ok: 'ok   ', info: 'info ', warn: 'WARN ', fail: 'FAIL ', error: 'ERROR' };

export async function preflightCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    {
      region: { type: 'string' },
      'vpc-id': { type: 'string' },
      config: { type: 'string', short: 'c' },
      'subnet-ids': { type: 'string' },
      'security-group-id': { type: 'string' },
      endpoints: { type: 'string' },
      'eni-events': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
    PREFLIGHT_USAGE,
  );
  if (values.help) {
    console.log(PREFLIGHT_USAGE);
    return EXIT.ok;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`, PREFLIGHT_USAGE);
  const region = values.region;
  if (!region) throw new UsageError('--region R is required (the region you deploy to)', PREFLIGHT_USAGE);
  if (!AWS_REGION_PATTERN.test(region)) throw new UsageError(`--region: expected a region such as eu-west-1, got "${region}"`, PREFLIGHT_USAGE);
  const vpcId = values['vpc-id'];
  if (!vpcId || !/^vpc-[0-9a-f]{8,17}$/.test(vpcId))
    throw new UsageError(`--vpc-id: expected a VPC id such as vpc-0123456789abcdef0${vpcId ? `, got "${vpcId}"` : ''}`, PREFLIGHT_USAGE);
  const endpoints = values.endpoints;
  if (endpoints !== undefined && endpoints !== 'create' && endpoints !== 'existing')
    throw new UsageError(`--endpoints: expected create or existing, got "${endpoints}"`, PREFLIGHT_USAGE);
  const subnetIds = values['subnet-ids']
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const opts: PreflightOptions = {
    ...(subnetIds?.length ? { subnetIds } : {}),
    ...(values['security-group-id'] ? { securityGroupId: values['security-group-id'] } : {}),
    ...(endpoints ? { endpoints } : {}),
    ...(values['eni-events'] ? { eniEvents: true } : {}),
  };
  const config: PreflightConfig = values.config ? await loadConfigFile(values.config, PREFLIGHT_USAGE) : { targets: [] };

  // The AWS SDK, only for this command.
  const [{ readPreflightFacts }, { assessPreflight, preflightExit }] = await Promise.all([
    import('../../adapters/aws/preflight-facts.ts'),
    import('../../adapters/aws/preflight-assess.ts'),
  ]);
  const items = assessPreflight(await readPreflightFacts(region, vpcId, config, opts), config, opts);
  const exit = preflightExit(items);
  if (values.json) console.log(JSON.stringify({ region, vpcId, items, exit }, null, 2));
  else {
    console.log(`ipdrift preflight: ${vpcId} in ${region}${values.config ? ` for ${values.config}` : ''}`);
    for (const i of items) {
      console.log(printable(`  ${LABEL[i.status]}  ${i.id.padEnd(14)} ${i.what}`));
      if (i.fix) console.log(printable(`  ${' '.repeat(5)}  ${' '.repeat(14)} ${i.status === 'ok' || i.status === 'info' ? 'deploy with' : 'fix'}: ${i.fix}`));
    }
    const failing = items.filter((i) => i.status === 'fail').length;
    console.log(
      exit === 0
        ? 'result: a deploy would work'
        : exit === 1
          ? `result: a deploy would not work (${failing} item(s) to fix)`
          : 'result: some items could not be checked (see ERROR above)',
    );
  }
  return exit;
}
