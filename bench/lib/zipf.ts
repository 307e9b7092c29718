/**
 * Zipf popularity for the catalog scenario: the item of rank k (1-based) is picked with probability
 * (1 / k^s) / H(N, s). Real storefront traffic looks like this (a few hits, a long tail), which is what makes a
 * catalog bench different from a uniform one: the hot head contends, the tail does not.
 *
 * The sampler precomputes the cumulative distribution once (N doubles: 800 KB for 100,000 SKUs) and answers each
 * draw with a binary search, so a draw costs ~17 comparisons and no allocation. The random source is injected
 * (a seeded PRNG in the bench), so a run's choices replay from its seed.
 */
export interface ZipfSampler {
  readonly size: number;
  /** A 0-based rank in [0, size). */
  sample(rng: () => number): number;
  /** The exact probability of a 0-based rank (for tests and reports). */
  probability(rank: number): number;
}

export function createZipfSampler(size: number, exponent: number): ZipfSampler {
  if (!Number.isInteger(size) || size < 1) throw new Error(`zipf size must be a positive integer, got ${size}`);
  if (!(exponent >= 0)) throw new Error(`zipf exponent must be ≥ 0, got ${exponent}`);
  const cdf = new Float64Array(size);
  let total = 0;
  for (let k = 0; k < size; k++) {
    total += 1 / Math.pow(k + 1, exponent);
    cdf[k] = total;
  }
  for (let k = 0; k < size; k++) cdf[k] = cdf[k]! / total;
  // Rounding can leave the last entry a hair below 1; a draw of 0.9999999999 must still land inside the table.
  cdf[size - 1] = 1;
  return {
    size,
    sample(rng) {
      const u = rng();
      let lo = 0;
      let hi = size - 1;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (cdf[mid]! > u) hi = mid;
        else lo = mid + 1;
      }
      return lo;
    },
    probability(rank) {
      if (!Number.isInteger(rank) || rank < 0 || rank >= size) throw new Error(`rank out of range: ${rank}`);
      return (1 / Math.pow(rank + 1, exponent)) / total;
    },
  };
}
