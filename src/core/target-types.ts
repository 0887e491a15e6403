/**
 * The target types of the config contract, and one descriptor each: what the config's schema,
 * the report's sections and the docs say of the type. Its part in a check is in
 * src/core/targets/<type>.ts (registry.ts), its metrics in src/core/metric-sets.ts. A new type
 * starts here; every Record keyed by TargetTypeName then fails to compile until it has its entry.
 * Imports nothing.
 */

/** Every target type. */
export const TARGET_TYPE_NAMES = ['elb', 'web-tier', 'aurora'] as const;
/** A target type, as the config's `type` names it. */
export type TargetTypeName = (typeof TARGET_TYPE_NAMES)[number];

/** What one target type is, for people and for the tables derived from it. */
export interface TargetTypeDescriptor {
  /** The config's `type` description (config.schema.json, `validate --print-schema`). */
  readonly summary: string;
  /** The report section it is drawn in. */
  readonly reportSection: 'elb' | 'tier' | 'aurora';
  /** A name of its own that resolves to addresses (the report's lanes and counts, the address series); a web tier has a URL instead. */
  readonly hasAddresses: boolean;
}

/** One descriptor per target type. */
export const TARGET_TYPE_DESCRIPTORS: { readonly [T in TargetTypeName]: TargetTypeDescriptor } = {
  elb: { summary: 'An ELB (ALB/CLB/NLB) name: every node address resolved, diffed and probed.', reportSection: 'elb', hasAddresses: true },
  'web-tier': {
    summary: 'A web tier (httpd, nginx, HAProxy) in front of an elb target: is it stuck on retired addresses?',
    reportSection: 'tier',
    hasAddresses: false,
  },
  aurora: { summary: 'An Aurora cluster endpoint: does its DNS follow the writer?', reportSection: 'aurora', hasAddresses: true },
};
