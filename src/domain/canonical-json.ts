import assert from 'node:assert/strict';

/**
 * JSON with object keys sorted at every depth, so two equal values serialise to the same bytes whatever order
 * their keys were built in. Array order is kept: it carries meaning (the order of cart lines).
 * Only JSON values are allowed; undefined, functions, bigints and non-finite numbers are programmer errors,
 * because JSON.stringify would drop or mangle them silently and two different values could hash alike.
 */
export function canonicalJson(value: unknown): string {
  // Building a key-sorted copy and stringifying it once is several times faster than concatenating by hand.
  return JSON.stringify(sortedCopy(value));
}

function sortedCopy(value: unknown): unknown {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    assert(Number.isFinite(value), `canonicalJson: non-finite number ${value}`);
    return value;
  }
  if (Array.isArray(value)) return value.map(sortedCopy);
  assert(typeof value === 'object', `canonicalJson: cannot serialise a ${typeof value}`);
  const record = value as Record<string, unknown>;
  // A null prototype makes '__proto__' an ordinary key. Integer-like keys still come first in ascending order
  // (an engine rule), which is as deterministic as sorting, so equal values still serialise alike.
  const copy: Record<string, unknown> = Object.create(null);
  for (const key of Object.keys(record).sort()) copy[key] = sortedCopy(record[key]);
  return copy;
}
