/**
 * Splits a config's targets into shards, one Lambda invocation each, when there are more than
 * one invocation checks within its deadline. Pure and deterministic:
 *
 * - a web tier lands in the same shard as its upstream ELB (assess judges it against the
 *   upstream's probes of the same check), so a target's group is indivisible;
 * - the result depends on the set of targets only, never on their order in the file;
 * - it is stable: each group prefers shards in a fixed order of its own (rendezvous hashing of
 *   the group's name), so adding or removing an unrelated target moves few others, and adding a
 *   shard moves about 1/N of them. A target's state is its own DynamoDB partition
 *   (`target#<name>`), so a move never migrates data; stability keeps shards' logs and warm
 *   caches meaningful and makes each tick's partition predictable;
 * - shards are bounded: a group goes to the first shard in its order that has room, and shards
 *   are filled to SHARD_DEFAULTS.fillFactor of the size on average, so the bound rarely bites.
 */
import type { Config, TargetConfig } from './config.ts';
import { IpdriftError } from './errors.ts';

/** Defaults of sharding. */
export const SHARD_DEFAULTS = {
  /**
   * Targets one invocation checks. bench/ workload A (100 ELB-like targets x 5 addresses = 500
   * concurrent probes) is the largest measured shape that keeps peak RSS under 128 MB and the
   * sockets of one check (probes + DNS + SDK) well under Lambda's 1,024 file descriptors;
   * workload C (1,000 x 8 = 8,000 sockets at once) would hit that limit inside Lambda.
   */
  targetsPerInvocation: 100,
  /** Shards are planned for this share of `shardSize` on average, leaving room for hash skew. */
  fillFactor: 0.8,
} as const;

/** One shard: the names of its targets, in config order. */
export interface Shard {
  /** 0-based; stable for a given set of targets and shard count. */
  readonly index: number;
  readonly targets: readonly string[];
}

/** How a config was split. */
export interface ShardPlan {
  /** Shards planned (some may be empty when groups are lumpy); `shards` lists the non-empty ones. */
  readonly shardCount: number;
  readonly shards: readonly Shard[];
  /** Groups larger than the shard size (an ELB with very many web tiers): each has a shard of its own. */
  readonly oversized: readonly string[];
}

/** The part of a target that sharding reads. */
export type ShardableTarget = Pick<TargetConfig, 'name' | 'type'> & { readonly upstream?: string };

/** A shard size that is not a positive whole number. */
export class ShardSizeError extends IpdriftError {
  override readonly name = 'ShardSizeError';
  readonly code = 'shard-size';
}

/** FNV-1a offset basis and prime (32-bit). */
const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/**
 * 32-bit hash of a string: FNV-1a over its UTF-16 code units, then murmur3's finaliser so that
 * names differing in their last character still spread over every shard.
 */
export function hash32(text: string): number {
  let h = FNV_OFFSET;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, FNV_PRIME);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The group a target belongs to: its upstream's name for a web tier, its own otherwise. */
export function groupKeyOf(target: ShardableTarget, names: ReadonlySet<string>): string {
  return target.type === 'web-tier' && target.upstream !== undefined && names.has(target.upstream) ? target.upstream : target.name;
}

/** Shards a target count needs: 1 up to `shardSize`, then enough for the fill factor. */
export function shardCountFor(targets: number, shardSize: number): number {
  checkShardSize(shardSize);
  if (targets <= shardSize) return 1;
  return Math.ceil(targets / (shardSize * SHARD_DEFAULTS.fillFactor));
}

/**
 * Splits `targets` into shards of at most `shardSize` targets (a group bigger than that gets a
 * shard to itself). One shard when `targets.length <= shardSize`.
 *
 * @throws ShardSizeError when `shardSize` is not a positive whole number.
 */
export function planShards(targets: readonly ShardableTarget[], shardSize: number): ShardPlan {
  checkShardSize(shardSize);
  const names = new Set(targets.map((t) => t.name));
  const groups = new Map<string, string[]>();
  for (const t of targets) {
    const key = groupKeyOf(t, names);
    groups.set(key, [...(groups.get(key) ?? []), t.name]);
  }
  // Placement order: by hash, then name; never the file's order.
  const ordered = [...groups.entries()].sort(([a], [b]) => hash32(a) - hash32(b) || (a < b ? -1 : a > b ? 1 : 0));
  const oversized = ordered.filter(([, members]) => members.length > shardSize).map(([key]) => key);

  for (let count = shardCountFor(targets.length, shardSize); ; count++) {
    const placed = place(ordered, count, shardSize);
    if (!placed) continue; // lumpy groups did not fit: one more shard (terminates: a shard per group always fits)
    const order = new Map(targets.map((t, i) => [t.name, i]));
    const shards = placed
      .map((members, index) => ({ index, targets: members.sort((a, b) => order.get(a)! - order.get(b)!) }))
      .filter((s) => s.targets.length > 0);
    return { shardCount: count, shards, oversized };
  }
}

/** Bounded-load rendezvous placement into `count` shards; undefined when some group fits nowhere. */
function place(groups: readonly (readonly [string, readonly string[]])[], count: number, shardSize: number): string[][] | undefined {
  const shards: string[][] = Array.from({ length: count }, () => []);
  for (const [key, members] of groups) {
    // An oversized group needs an empty shard; any other group, room for all its members.
    const fits = (s: string[]) => (members.length > shardSize ? s.length === 0 : s.length + members.length <= shardSize);
    // The group's most preferred shard with room: the highest score (ties: the lower index).
    let chosen = -1;
    let best = -1;
    for (let i = 0; i < count; i++) {
      const score = hash32(`${key}#${i}`);
      if (score > best && fits(shards[i]!)) {
        chosen = i;
        best = score;
      }
    }
    if (chosen < 0) return undefined;
    shards[chosen]!.push(...members);
  }
  return shards;
}

function checkShardSize(shardSize: number): void {
  if (!Number.isInteger(shardSize) || shardSize < 1) throw new ShardSizeError(`shard size: expected a positive whole number of targets, got ${shardSize}`);
}

/** One shard's part of a config, and what did not fit it. */
export interface ShardSelection {
  readonly config: Config;
  /** Names the shard lists that the config does not have (it changed since the split). */
  readonly missing: readonly string[];
  /** Web tiers listed without their upstream: skipped, as they cannot be judged alone. */
  readonly orphaned: readonly string[];
}

/**
 * The part of `config` a shard checks: the targets it names, in config order. A web tier whose
 * upstream the shard does not list is left out (the split never does that; a config changed
 * between the split and the check can).
 */
export function selectShard(config: Config, names: readonly string[]): ShardSelection {
  const wanted = new Set(names);
  const present = new Set(config.targets.map((t) => t.name));
  const orphaned: string[] = [];
  const targets = config.targets.filter((t) => {
    if (!wanted.has(t.name)) return false;
    if (t.type === 'web-tier' && !wanted.has(t.upstream)) {
      orphaned.push(t.name);
      return false;
    }
    return true;
  });
  return { config: { ...config, targets }, missing: names.filter((n) => !present.has(n)), orphaned };
}
