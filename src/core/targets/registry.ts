/** Target type -> its part in a check, as the probe registry maps protocol -> probe. */
import type { TargetConfig } from '../config.ts';
import { aurora } from './aurora.ts';
import { elb } from './elb.ts';
import type { TargetType } from './types.ts';
import { webTier } from './web-tier.ts';

/** Every target type of the config contract. */
export const TARGET_TYPES: { [K in TargetConfig['type']]: TargetType<Extract<TargetConfig, { type: K }>> } = {
  elb,
  'web-tier': webTier,
  aurora,
};

/** The target type of `o.target`, typed for it. */
export function targetTypeOf<T extends TargetConfig>(target: T): TargetType<T> {
  return TARGET_TYPES[target.type] as unknown as TargetType<T>;
}
