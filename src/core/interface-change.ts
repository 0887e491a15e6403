/**
 * An ELB's network-interface calls, as CloudTrail records them and EventBridge delivers them
 * (docs/architecture.md, "Interface changes"). A created interface names its addresses; a
 * deleted one names only its id, so the addresses must have been remembered at its creation.
 * Pure: reads the event, nothing else.
 */
import { isIP } from 'node:net';

/** The EventBridge detail-type of every CloudTrail-delivered API call. */
export const CLOUDTRAIL_DETAIL_TYPE = 'AWS API Call via CloudTrail';

/** One interface created or deleted (a call that failed is none). */
export type InterfaceChange =
  | { call: 'CreateNetworkInterface'; interfaceId: string; at: string; addresses: string[]; description?: string }
  | { call: 'DeleteNetworkInterface'; interfaceId: string; at: string };

/** Addresses an interface had, from the ledger, as the check applies them (core/check.ts). */
export interface InterfaceNews {
  /** Addresses whose interface was deleted: gone for good (until an interface gets them again). */
  released: AddressRelease[];
  /** Addresses a new interface of the ELB holds: a release of them is over. */
  assigned: string[];
}

/** An address whose interface the ELB deleted. */
export interface AddressRelease {
  address: string;
  /** The call's time (CloudTrail `eventTime`). */
  at: string;
  interfaceId: string;
  /** The interface's description, e.g. `ELB app/my-alb/50dc6c495c0c9188`. */
  description?: string;
}

type Loose = Record<string, unknown> | null | undefined;
const obj = (v: unknown): Loose => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined);
const items = (set: unknown): Loose[] => {
  // CloudTrail renders EC2's XML sets as `{ "item": [...] }` (some records: `items`).
  const s = obj(set);
  const list = s?.item ?? s?.items;
  return Array.isArray(list) ? list.map(obj) : [];
};

/**
 * The interface change an EventBridge event carries, or undefined for anything else: another
 * event, another call, or a call that failed (`errorCode`: nothing was created or deleted).
 */
export function interfaceChangeOf(event: unknown): InterfaceChange | undefined {
  const e = obj(event);
  if (e?.['detail-type'] !== CLOUDTRAIL_DETAIL_TYPE) return undefined;
  const d = obj(e.detail);
  if (!d || d.errorCode !== undefined) return undefined;
  const at = str(d.eventTime) ?? str(e.time);
  if (at === undefined || Number.isNaN(Date.parse(at))) return undefined;
  if (d.eventName === 'DeleteNetworkInterface') {
    const interfaceId = str(obj(d.requestParameters)?.networkInterfaceId);
    return interfaceId ? { call: 'DeleteNetworkInterface', interfaceId, at } : undefined;
  }
  if (d.eventName === 'CreateNetworkInterface') {
    const ni = obj(obj(d.responseElements)?.networkInterface);
    const interfaceId = str(ni?.networkInterfaceId);
    if (!ni || !interfaceId) return undefined;
    const addresses = [
      str(ni.privateIpAddress),
      ...items(ni.privateIpAddressesSet).map((i) => str(i?.privateIpAddress)),
      ...items(ni.ipv6AddressesSet).map((i) => str(i?.ipv6Address)),
    ].filter((a): a is string => a !== undefined && isIP(a) !== 0);
    const description = str(ni.description);
    return { call: 'CreateNetworkInterface', interfaceId, at, addresses: [...new Set(addresses)], ...(description ? { description } : {}) };
  }
  return undefined;
}
