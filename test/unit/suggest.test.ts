/** "Did you mean": close words only, the closest first. */
import { describe, expect, it } from 'vitest';
import { closest, editDistance } from '../../src/core/suggest.ts';

describe('closest', () => {
  it.each([
    ['chek', 'check'],
    ['wacth', 'watch'],
    ['histroy', 'history'],
    ['RPEORT', 'report'],
    ['frobnicate', undefined],
    ['x', undefined],
  ])('%s -> %s', (word, want) => {
    expect(closest(word, ['check', 'watch', 'history', 'report', 'demo', 'validate', 'cost'])).toBe(want);
  });

  it('counts a swap of neighbours as one edit', () => {
    expect([editDistance('wacth', 'watch'), editDistance('abc', 'abc'), editDistance('', 'ab')]).toEqual([1, 0, 2]);
  });
});
