/** The wall clock, injected into the engine from the edge. */
import type { Clock } from '../functions/core/types.ts';

export const systemClock: Clock = { now: () => new Date() };
