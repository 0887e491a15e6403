/**
 * DynamoDB's item size arithmetic, apart from the store so that `ipdrift cost` can use it
 * without loading the AWS SDK (the CLI loads it only for `failover-drill --yes`).
 */

/** Overhead bytes DynamoDB counts for a list or map, and per element. */
const CONTAINER_OVERHEAD_BYTES = 3;
const ELEMENT_OVERHEAD_BYTES = 1;
const NUMBER_OVERHEAD_BYTES = 1;

/**
 * Size of a document-client item as DynamoDB counts it (names + values; numbers by significant
 * digits; lists and maps with their overhead). An upper estimate, used to refuse what would fail.
 */
export function dynamoItemSize(item: Record<string, unknown>): number {
  let bytes = 0;
  for (const [name, value] of Object.entries(item)) {
    if (value === undefined) continue;
    bytes += Buffer.byteLength(name, 'utf8') + valueSize(value);
  }
  return bytes;
}

function valueSize(value: unknown): number {
  if (typeof value === 'string') return Buffer.byteLength(value, 'utf8');
  if (typeof value === 'number') {
    const digits = String(Math.abs(value)).replace(/e.*$/, '').replace('.', '').replace(/^0+/, '').length || 1;
    return Math.ceil(digits / 2) + NUMBER_OVERHEAD_BYTES;
  }
  if (typeof value === 'boolean' || value === null) return 1;
  if (value instanceof Uint8Array) return value.byteLength;
  if (Array.isArray(value)) return value.reduce<number>((n, v) => n + ELEMENT_OVERHEAD_BYTES + valueSize(v), CONTAINER_OVERHEAD_BYTES);
  if (typeof value === 'object') {
    let n = CONTAINER_OVERHEAD_BYTES;
    for (const [k, v] of Object.entries(value)) {
      if (v === undefined) continue;
      n += ELEMENT_OVERHEAD_BYTES + Buffer.byteLength(k, 'utf8') + valueSize(v);
    }
    return n;
  }
  return 0;
}
