/** Splitting a list into the batches an API takes at most (BatchGetItem 100 keys, PutMetricData 1,000 points). Pure. */

/** `items` in order, `size` at a time (the last batch may be smaller); none for an empty list. */
export function batches<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
