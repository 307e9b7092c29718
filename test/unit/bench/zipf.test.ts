import { describe, expect, it } from 'vitest';
import { createZipfSampler } from '../../../bench/lib/zipf.js';
import { mulberry32 } from '../../../src/payments/mulberry32.js';

const harmonic = (n: number, s: number) => {
  let h = 0;
  for (let k = 1; k <= n; k++) h += 1 / k ** s;
  return h;
};

describe('createZipfSampler', () => {
  it('gives rank k probability (1/k^s) / H(N, s), summing to 1', () => {
    const z = createZipfSampler(1_000, 1);
    const h = harmonic(1_000, 1);
    expect(z.probability(0)).toBeCloseTo(1 / h, 12);
    expect(z.probability(9)).toBeCloseTo(1 / 10 / h, 12);
    let total = 0;
    for (let r = 0; r < 1_000; r++) total += z.probability(r);
    expect(total).toBeCloseTo(1, 9);
  });

  it('draws the head as often as its probability says (200,000 draws, seed 42)', () => {
    const z = createZipfSampler(100_000, 1);
    const rng = mulberry32(42);
    const draws = 200_000;
    const counts = new Map<number, number>();
    for (let i = 0; i < draws; i++) {
      const r = z.sample(rng);
      counts.set(r, (counts.get(r) ?? 0) + 1);
    }
    for (const rank of [0, 1, 2, 9, 99]) {
      const expected = z.probability(rank) * draws;
      // Five standard deviations of a binomial count: a correct sampler essentially never leaves this band.
      const tolerance = 5 * Math.sqrt(expected * (1 - z.probability(rank)));
      expect(Math.abs((counts.get(rank) ?? 0) - expected)).toBeLessThan(tolerance);
    }
    // The ratio between rank 1 and rank 2 is 2^s = 2 for s = 1.
    expect((counts.get(0) ?? 0) / (counts.get(1) ?? 1)).toBeGreaterThan(1.8);
    expect((counts.get(0) ?? 0) / (counts.get(1) ?? 1)).toBeLessThan(2.2);
  });

  it('is uniform with exponent 0 and always answers a rank inside the table', () => {
    const z = createZipfSampler(10, 0);
    const rng = mulberry32(3);
    const counts = new Array<number>(10).fill(0);
    let outside = 0;
    for (let i = 0; i < 50_000; i++) {
      const r = z.sample(rng);
      if (r < 0 || r >= 10) outside += 1;
      else counts[r]! += 1;
    }
    expect(outside).toBe(0);
    for (const c of counts) expect(Math.abs(c - 5_000)).toBeLessThan(5 * Math.sqrt(5_000 * 0.9));
    expect(z.sample(() => 0.9999999999999999)).toBe(9);
    expect(z.sample(() => 0)).toBe(0);
  });

  it('replays the same ranks from the same seed', () => {
    const z = createZipfSampler(5_000, 1.1);
    const a = mulberry32(9);
    const b = mulberry32(9);
    for (let i = 0; i < 100; i++) expect(z.sample(a)).toBe(z.sample(b));
  });

  it.each([
    [0, 1],
    [1.5, 1],
    [10, -1],
    [10, Number.NaN],
  ])('refuses size %s with exponent %s', (size, exponent) => {
    expect(() => createZipfSampler(size, exponent)).toThrow();
  });
});
