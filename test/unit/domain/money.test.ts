import { describe, expect, it } from 'vitest';
import { allocate, applyBps, roundHalfUpDiv, sumMinor } from '../../../src/domain/money.js';
import { intBelow, seededRng } from '../../support/seeded-random.js';


describe('roundHalfUpDiv', () => {
  it.each([
    [5, 2, 3],
    [-5, 2, -3],
    [5, -2, -3],
    [-5, -2, 3],
    [4, 2, 2],
    [7, 3, 2],
    [8, 3, 3],
    [-7, 3, -2],
    [-8, 3, -3],
    [15, 10, 2],
    [14, 10, 1],
    [25, 10, 3],
    [-25, 10, -3],
    [Number.MAX_SAFE_INTEGER, 2, 2 ** 52],
    [Number.MAX_SAFE_INTEGER, 1, Number.MAX_SAFE_INTEGER],
  ])('rounds %d / %d to %d, halves away from zero', (n, d, expected) => {
    expect(roundHalfUpDiv(n, d)).toBe(expected);
  });

  it('never returns negative zero', () => {
    expect(Object.is(roundHalfUpDiv(-1, 3), 0)).toBe(true);
    expect(Object.is(roundHalfUpDiv(0, -7), 0)).toBe(true);
  });

  it.each([
    [1.5, 2],
    [1, 0],
    [1, 0.5],
    [Number.NaN, 1],
    [2 ** 53, 1],
  ])('asserts on %d / %d, which is not safe integer arithmetic', (n, d) => {
    expect(() => roundHalfUpDiv(n, d)).toThrow();
  });
});

describe('applyBps', () => {
  it('equals roundHalfUpDiv(amount × bps, 10000) for random amounts (seed 0xb95)', () => {
    const rng = seededRng(0xb95);
    const mismatches: string[] = [];
    for (let i = 0; i < 2_000; i++) {
      const amount = intBelow(rng, 2) === 0 ? intBelow(rng, 100_000) : intBelow(rng, 900_000_000_000);
      const bps = intBelow(rng, 10_001);
      if (applyBps(amount, bps) !== roundHalfUpDiv(amount * bps, 10_000)) mismatches.push(`${amount} at ${bps} bps`);
      if (applyBps(-amount, bps) !== roundHalfUpDiv(-amount * bps, 10_000)) mismatches.push(`-${amount} at ${bps} bps`);
    }
    expect(mismatches).toEqual([]);
  });

  it('stays exact where amount × bps would pass 2^53', () => {
    expect(applyBps(5_000_000_000_000, 10_000)).toBe(5_000_000_000_000);
    expect(applyBps(5_000_000_000_005, 5_000)).toBe(2_500_000_000_003);
  });
});

describe('allocate', () => {
  it.each([
    [100, [1, 1, 1], [34, 33, 33]],
    [10, [0, 5, 5], [0, 5, 5]],
    [7, [1, 2, 4], [1, 2, 4]],
    [1, [1, 1], [1, 0]],
    [5, [0, 0, 0], [2, 2, 1]],
    [0, [3, 4], [0, 0]],
    [0, [], []],
    [999, [1000, 2000, 7000], [100, 200, 699]],
  ])('allocates %d over weights %j as %j', (total, weights, expected) => {
    expect(allocate(total, weights)).toEqual(expected);
  });

  it('gives the odd units to the largest remainders, ties to the earlier part', () => {
    // Exact shares 3.5, 3.5, 3: the two halves tie, the first wins, the third has no remainder.
    expect(allocate(10, [7, 7, 6])).toEqual([4, 3, 3]);
  });

  it('sums exactly and keeps every part within one unit of its exact share (seed 0xa11c)', () => {
    const rng = seededRng(0xa11c);
    const mismatches: string[] = [];
    for (let run = 0; run < 500; run++) {
      const weights = Array.from({ length: 1 + intBelow(rng, 50) }, () => intBelow(rng, 5) === 0 ? 0 : intBelow(rng, 1e8));
      const total = intBelow(rng, 1e9);
      const parts = allocate(total, weights);
      if (sumMinor(parts) !== total) mismatches.push(`run ${run}: parts sum to ${sumMinor(parts)}, not ${total}`);
      const sum = weights.reduce((a, b) => a + b, 0);
      parts.forEach((part, i) => {
        const exact = sum === 0 ? total / weights.length : (total * (weights[i] ?? 0)) / sum;
        const fine = Number.isInteger(part) && part >= 0 && Math.abs(part - exact) < 1 + 1e-6;
        if (!fine) mismatches.push(`run ${run} part ${i}: ${part} for an exact share of ${exact}`);
      });
    }
    expect(mismatches).toEqual([]);
  });

  it('stays exact for a full cart whose total × weight passes 2^53', () => {
    const weights = Array.from({ length: 50 }, (_, i) => 100_000_000_000 - i);
    const parts = allocate(4_999_999_999_999, weights);
    expect(sumMinor(parts)).toBe(4_999_999_999_999);
  });

  it.each([
    [-1, [1]],
    [1, []],
    [1.5, [1]],
    [1, [-1, 2]],
    [1, [0.5]],
  ])('asserts on total %d with weights %j', (total, weights) => {
    expect(() => allocate(total, weights)).toThrow();
  });
});
