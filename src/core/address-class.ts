/**
 * Addresses that can never be a load balancer node or a database instance: a DNS answer naming
 * one is a misconfiguration or a poisoned answer, and probing it would test the wrong host (the
 * monitor's own, or the instance metadata service) and report it healthy. Pure.
 */
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import type { Resolution } from './types.ts';

/** Why an address is not probed. */
export type UnusableReason = 'unspecified' | 'loopback' | 'link-local' | 'metadata' | 'multicast' | 'broadcast';

/** What each reason means, for summaries and evidence. */
export const UNUSABLE_TEXT: Record<UnusableReason, string> = {
  unspecified: 'unspecified (this host)',
  loopback: 'loopback (this host)',
  'link-local': 'link-local (the VPC resolver, the instance metadata service, or nothing routable)',
  metadata: 'the instance metadata service',
  multicast: 'multicast',
  broadcast: 'broadcast',
};

/** Ranges per reason, most specific first (the metadata service sits inside link-local). */
const RANGES: readonly [UnusableReason, readonly [string, number, 'ipv4' | 'ipv6'][]][] = [
  [
    'metadata',
    [
      ['169.254.169.254', 32, 'ipv4'],
      ['fd00:ec2::254', 128, 'ipv6'],
    ],
  ],
  [
    'unspecified',
    [
      ['0.0.0.0', 8, 'ipv4'],
      ['::', 128, 'ipv6'],
    ],
  ],
  [
    'loopback',
    [
      ['127.0.0.0', 8, 'ipv4'],
      ['::1', 128, 'ipv6'],
    ],
  ],
  [
    'link-local',
    [
      ['169.254.0.0', 16, 'ipv4'],
      ['fe80::', 10, 'ipv6'],
    ],
  ],
  [
    'multicast',
    [
      ['224.0.0.0', 4, 'ipv4'],
      ['ff00::', 8, 'ipv6'],
    ],
  ],
  ['broadcast', [['255.255.255.255', 32, 'ipv4']]],
];

const LISTS: readonly [UnusableReason, BlockList][] = RANGES.map(([reason, ranges]) => {
  const list = new BlockList();
  for (const [net, prefix, type] of ranges) list.addSubnet(net, prefix, type);
  return [reason, list] as const;
});

/** Every range above in one list: most answers name usable addresses, and one check clears them. */
const ANY_UNUSABLE = new BlockList();
for (const [, ranges] of RANGES) for (const [net, prefix, type] of ranges) ANY_UNUSABLE.addSubnet(net, prefix, type);

/** The IPv4 address inside an IPv4-mapped IPv6 one (`::ffff:127.0.0.1`), else the address itself. */
function unmapped(address: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return m ? m[1]! : address;
}

/**
 * Why `address` must not be probed, or undefined when it may be. Loopback is allowed only when
 * `allowLoopback` (the lab on this machine: config `allowLoopback`, or a `localhost` name).
 */
export function unusableReason(address: string, allowLoopback: boolean): UnusableReason | undefined {
  const a = unmapped(address);
  const type = isIPv4(a) ? 'ipv4' : isIPv6(a) ? 'ipv6' : undefined;
  if (!type || !ANY_UNUSABLE.check(a, type)) return undefined;
  for (const [reason, list] of LISTS) {
    if (!list.check(a, type)) continue;
    return reason === 'loopback' && allowLoopback ? undefined : reason;
  }
  return undefined;
}

/** True for `localhost` and names under `.localhost` (RFC 6761): loopback is their right answer. */
export const isLocalName = (host: string) => /(^|\.)localhost\.?$/i.test(host);

/** An address an answer named that is not probed, and why. */
export interface UnusableAddress {
  address: string;
  reason: UnusableReason;
}

/**
 * Splits a successful resolution into what may be probed and what may not. An answer with
 * nothing usable left is a failed lookup (code `unusable`): history is not changed by it.
 */
export function screenResolution(resolution: Resolution, allowLoopback: boolean): { resolution: Resolution; unusable: UnusableAddress[] } {
  if (!resolution.ok) return { resolution, unusable: [] };
  const unusable: UnusableAddress[] = [];
  const usable = resolution.addresses.filter((a) => {
    const reason = unusableReason(a.address, allowLoopback);
    if (reason) unusable.push({ address: a.address, reason });
    return reason === undefined;
  });
  if (unusable.length === 0) return { resolution, unusable };
  if (usable.length > 0) return { resolution: { ...resolution, addresses: usable }, unusable };
  const named = unusable.map((u) => `${u.address} (${UNUSABLE_TEXT[u.reason]})`).join(', ');
  return {
    resolution: {
      ok: false,
      host: resolution.host,
      code: 'unusable',
      message: `${resolution.host}: every address in the answer is one no node can have: ${named}; not probed`,
      durationMs: resolution.durationMs,
    },
    unusable,
  };
}
