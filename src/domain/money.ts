import assert from 'node:assert/strict';

/** An amount in integer minor units (cents, pence) of an ISO 4217 currency; never a float of major units. */
export interface Money {
  amountMinor: number;
  currency: string;
}

/** Basis points in one whole: 10000 bps = 100 %. */
export const bpsPerWhole = 10_000;

/**
 * The one rounding function: numerator / denominator rounded to the nearest integer, halves away from zero.
 * Every rounding of money in boxoffice goes through here, so rounding behaviour is tested in one place.
 * It divides with integer remainders rather than `Math.round(n / d)`, because the float quotient can land on the
 * wrong side of .5 for large numerators.
 */
export function roundHalfUpDiv(numerator: number, denominator: number): number {
  assert(Number.isSafeInteger(numerator), `numerator must be a safe integer, got ${numerator}`);
  assert(Number.isSafeInteger(denominator) && denominator !== 0, `bad denominator ${denominator}`);
  const negative = numerator < 0 !== denominator < 0;
  const n = Math.abs(numerator);
  const d = Math.abs(denominator);
  const remainder = n % d;
  // n - remainder is an exact multiple of d, so this division is exact in floating point.
  const quotient = (n - remainder) / d;
  // 2 * remainder is exact too (a doubling only changes the exponent).
  const magnitude = 2 * remainder >= d ? quotient + 1 : quotient;
  return negative && magnitude !== 0 ? -magnitude : magnitude;
}

/**
 * amountMinor × bps / 10000, rounded once with roundHalfUpDiv. Splitting the amount into whole 10000s and a
 * remainder gives exactly roundHalfUpDiv(amountMinor * bps, 10000) while keeping every intermediate product a safe
 * integer: a full cart (cartLinesMax × lineQtyMax × priceMinorMax) times 10000 bps would pass 2^53.
 */
export function applyBps(amountMinor: number, bps: number): number {
  assert(Number.isSafeInteger(amountMinor), `amountMinor must be a safe integer, got ${amountMinor}`);
  assert(Number.isSafeInteger(bps) && bps >= 0 && bps <= bpsPerWhole, `bps must be an integer in 0..10000, got ${bps}`);
  // Half away from zero is symmetric, so a negative amount is the negation of its absolute value's result.
  const sign = amountMinor < 0 ? -1 : 1;
  const magnitude = Math.abs(amountMinor);
  const remainder = magnitude % bpsPerWhole;
  const wholes = (magnitude - remainder) / bpsPerWhole;
  const result = wholes * bps + roundHalfUpDiv(remainder * bps, bpsPerWhole);
  return result === 0 ? 0 : sign * result;
}

/**
 * Splits totalMinor into parts proportional to weights by the largest-remainder method, so the parts sum to
 * totalMinor exactly. Each part is floor(total × weight / sum); the units left over go one each to the parts with
 * the largest remainders, ties to the earlier index, which keeps the split deterministic.
 * All-zero weights split evenly (as if every weight were 1), earlier parts taking the odd units: there is no
 * proportion to follow, and an even split is the least surprising answer.
 * Products are taken in BigInt because total × weight can pass 2^53 for a large cart.
 */
export function allocate(totalMinor: number, weights: number[]): number[] {
  assert(Number.isSafeInteger(totalMinor) && totalMinor >= 0, `totalMinor must be >= 0, got ${totalMinor}`);
  for (const w of weights) assert(Number.isSafeInteger(w) && w >= 0, `weights must be non-negative integers, got ${w}`);
  if (weights.length === 0) {
    assert(totalMinor === 0, 'cannot allocate a non-zero total to no parts');
    return [];
  }
  const sumWeights = weights.reduce((a, b) => a + b, 0);
  const effective = sumWeights === 0 ? weights.map(() => 1n) : weights.map((w) => BigInt(w));
  const sum = effective.reduce((a, b) => a + b, 0n);
  const total = BigInt(totalMinor);
  const parts = effective.map((w) => (total * w) / sum);
  const remainders = effective.map((w) => (total * w) % sum);
  let leftover = Number(total - parts.reduce((a, b) => a + b, 0n));
  // leftover < parts.length, because each floor lost less than one unit.
  const order = remainders
    .map((r, index) => ({ r, index }))
    .sort((a, b) => (a.r === b.r ? a.index - b.index : a.r > b.r ? -1 : 1));
  const result = parts.map((p) => Number(p));
  for (const { index } of order) {
    if (leftover === 0) break;
    result[index] = (result[index] ?? 0) + 1;
    leftover -= 1;
  }
  return result;
}

/** Sum of integer minor amounts, asserting the sum stays exact. */
export function sumMinor(amounts: readonly number[]): number {
  let total = 0;
  for (const a of amounts) total += a;
  assert(Number.isSafeInteger(total), `sum of minor amounts is not a safe integer: ${total}`);
  return total;
}
