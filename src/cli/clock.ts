/** The wall clock, injected into the engine from the edge. */
import type { Clock } from '../core/types.ts';

export const systemClock: Clock = { now: () => new Date() };
