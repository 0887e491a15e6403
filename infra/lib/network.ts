/**
 * Which targets a function outside any VPC cannot reach. Decided from the config alone (synth
 * is offline): an internal ELB's name resolves, publicly, to private addresses; Aurora endpoints
 * resolve to the instances' VPC addresses; a web tier at a private address or an internal name
 * is inside the VPC. Without a VPC those targets would report `current-address-unhealthy` from
 * the first minute, for a reason that has nothing to do with them.
 */
import { BlockList, isIP } from 'node:net';
import type { Config } from '../../src/core/config.ts';

/** A target that needs the function in the VPC, and why. */
export interface PrivateTarget {
  name: string;
  why: string;
}

/** RFC 1918, shared address space (RFC 6598), unique local IPv6 (RFC 4193). */
const PRIVATE = new BlockList();
for (const [net, prefix] of [
  ['10.0.0.0', 8],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
  ['100.64.0.0', 10],
] as const)
  PRIVATE.addSubnet(net, prefix, 'ipv4');
PRIVATE.addSubnet('fc00::', 7, 'ipv6');

/** Name suffixes that only resolve inside a network (private hosted zones, EC2's own names). */
const INTERNAL_SUFFIXES = ['.internal', '.local', '.lan', '.corp', '.intra', '.private', '.home.arpa', '.compute.internal'];

/** Why a web tier's URL host is private, or undefined when it looks public. */
function privateHost(host: string): string | undefined {
  const bare = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  const family = isIP(bare);
  if (family !== 0) return PRIVATE.check(bare, family === 4 ? 'ipv4' : 'ipv6') ? `${bare} is a private address` : undefined;
  if (INTERNAL_SUFFIXES.some((s) => bare.endsWith(s)) || !bare.includes('.')) return `${bare} is an internal name`;
  return undefined;
}

/** The targets of `config` that only a function inside the VPC can reach. */
export function targetsNeedingVpc(config: Config): PrivateTarget[] {
  return config.targets.flatMap((t): PrivateTarget[] => {
    if (t.type === 'elb') {
      if (/^internal-/i.test(t.host)) return [{ name: t.name, why: 'an internal ELB: its name resolves to private addresses' }];
      const why = privateHost(t.host);
      return why ? [{ name: t.name, why }] : [];
    }
    if (t.type === 'aurora') return [{ name: t.name, why: "an Aurora endpoint: it resolves to the instances' VPC addresses" }];
    const why = privateHost(new URL(t.url).hostname);
    return why ? [{ name: t.name, why }] : [];
  });
}

/** Synth refused: private targets and no VPC. The message names them and the context to give. */
export class VpcRequiredError extends Error {
  override readonly name = 'VpcRequiredError';
  constructor(readonly targets: readonly PrivateTarget[]) {
    super(
      `ipdrift: ${targets.length} target(s) can only be reached from inside a VPC, and no VPC was given:\n` +
        targets.map((t) => `  - ${t.name}: ${t.why}`).join('\n') +
        '\nRun the function in the VPC: -c vpcId=vpc-... -c subnetIds=subnet-a,subnet-b (private subnets with a route to the AWS APIs,' +
        ' through a NAT gateway or VPC endpoints: -c endpoints=create; README "Deploy"). If they really are reachable from the' +
        ' internet, say so with -c outsideVpc=true.',
    );
  }
}
