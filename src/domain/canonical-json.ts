import assert from 'node:assert/strict';

/**
 * JSON with object keys sorted at every depth, so two equal values serialise to the same bytes whatever order
 * their keys were built in. Array order is kept: it carries meaning (the order of cart lines).
 * Only JSON values are allowed; undefined, functions, bigints and non-finite numbers are programmer errors,
 * because JSON.stringify would drop or mangle them silently and two different values could hash alike.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return JSON.stringify(value);
  if (typeof value === 'number') {
    assert(Number.isFinite(value), `canonicalJson: non-finite number ${value}`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  assert(typeof value === 'object', `canonicalJson: cannot serialise a ${typeof value}`);
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(record[k])}`).join(',')}}`;
}
