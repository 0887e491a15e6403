import { describe, expect, it } from 'vitest';
import { limiter } from '../../src/core/limit.ts';

describe('limiter', () => {
  it('never runs more than n at once, even when newcomers arrive as tasks finish', async () => {
    // Prepare
    const limit = limiter(3);
    let active = 0;
    let peak = 0;
    const task = async (i: number) => {
      active++;
      peak = Math.max(peak, active);
      // Finish on different turns of the event loop, with newcomers queued between.
      for (let k = 0; k < (i % 4) + 1; k++) await Promise.resolve();
      active--;
      return i;
    };
    // Act: waves of callers, some arriving while earlier tasks release their slots.
    const first = Array.from({ length: 20 }, (_, i) => limit(() => task(i)));
    await Promise.resolve();
    const second = Array.from({ length: 20 }, (_, i) => limit(() => task(20 + i)));
    const results = await Promise.all([...first, ...second]);
    // Assess
    expect(peak).toBe(3);
    expect(results).toEqual(Array.from({ length: 40 }, (_, i) => i));
  });

  it("passes a task's rejection to its caller and frees the slot", async () => {
    const limit = limiter(1);
    await expect(limit(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(limit(async () => 'next')).resolves.toBe('next');
  });
});
