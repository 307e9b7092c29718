import { describe, expect, it } from 'vitest';
import { roundHalfUpDiv } from '../../../src/domain/money.js';
import { defaultTaxRates, lineTaxesMinor, taxRateBps, type TaxRate } from '../../../src/domain/tax.js';
import { intBelow, seededRng } from '../../support/seeded-random.js';


describe('taxRateBps', () => {
  it.each([
    ['a US state', 'US', 'CA', 'standard', 725],
    ['a US state with no sales tax', 'US', 'OR', 'standard', 0],
    ['a US state not in the table', 'US', 'MT', 'standard', 0],
    ['the US with no region', 'US', null, 'standard', 0],
    ['German standard VAT', 'DE', null, 'standard', 1_900],
    ['German reduced VAT', 'DE', null, 'reduced', 700],
    ['German VAT, ignoring a region the table does not split by', 'DE', 'BY', 'reduced', 700],
    ['French reduced VAT', 'FR', null, 'reduced', 550],
    ['UK zero-rated goods', 'GB', null, 'zero', 0],
    ['a category the country does not list', 'GB', null, 'luxury', 0],
    ['a country not in the table', 'JP', null, 'standard', 0],
  ])('finds the rate for %s', (_name, country, region, category, expected) => {
    expect(taxRateBps(defaultTaxRates, country, region, category)).toBe(expected);
  });

  it('prefers the region row to the country row', () => {
    const table: TaxRate[] = [
      { country: 'CA', region: null, taxCategory: 'standard', rateBps: 500 },
      { country: 'CA', region: 'ON', taxCategory: 'standard', rateBps: 1_300 },
      { country: 'CA', region: 'QC', taxCategory: 'reduced', rateBps: 1 },
    ];
    expect(taxRateBps(table, 'CA', 'ON', 'standard')).toBe(1_300);
    expect(taxRateBps(table, 'CA', 'AB', 'standard')).toBe(500);
    // QC has a row, but not for this category, so the country row applies.
    expect(taxRateBps(table, 'CA', 'QC', 'standard')).toBe(500);
  });

  it('has one row per country, region and category in the default table', () => {
    const keys = defaultTaxRates.map((r) => `${r.country}/${r.region}/${r.taxCategory}`);
    expect(new Set(keys).size).toBe(keys.length);
  });
});

describe('lineTaxesMinor', () => {
  it.each([
    [5, 1_000, 1],
    [4, 1_250, 1],
    [15, 1_000, 2],
    [14, 1_000, 1],
    [999, 725, 72],
    [1_000, 725, 73],
    [0, 2_000, 0],
    [100_000_000_000, 10_000, 100_000_000_000],
  ])('taxes a net of %d at %d bps as %d, rounding half up', (netMinor, rateBps, expected) => {
    expect(lineTaxesMinor([{ netMinor, rateBps }])).toEqual({ perLine: [expected], totalMinor: expected });
  });

  it('rounds each line once, not the total: three lines of 0.5 tax 3, not round(1.5) = 2', () => {
    const line = { netMinor: 5, rateBps: 1_000 };
    expect(lineTaxesMinor([line, line, line])).toEqual({ perLine: [1, 1, 1], totalMinor: 3 });
  });

  it('gives zero for no lines', () => {
    expect(lineTaxesMinor([])).toEqual({ perLine: [], totalMinor: 0 });
  });

  const seed = 0x7a5eed;
  it(`sums its parts to the total and rounds each line on its own (seed 0x${seed.toString(16)}, 1000 carts)`, () => {
    const rng = seededRng(seed);
    const mismatches: string[] = [];
    for (let run = 0; run < 1_000; run++) {
      const lines = Array.from({ length: 1 + intBelow(rng, 50) }, () => ({
        netMinor: intBelow(rng, 3) === 0 ? intBelow(rng, 100) : intBelow(rng, 100_000_000_000),
        rateBps: intBelow(rng, 2) === 0 ? [0, 500, 550, 700, 725, 1_900, 2_000][intBelow(rng, 7)] ?? 0 : intBelow(rng, 10_001),
      }));
      const { perLine, totalMinor } = lineTaxesMinor(lines);
      // Mismatches are collected and asserted once: 25,000 separate expect() calls would dominate the run time.
      if (perLine.length !== lines.length) mismatches.push(`run ${run}: ${perLine.length} parts for ${lines.length} lines`);
      if (perLine.reduce((a, b) => a + b, 0) !== totalMinor) mismatches.push(`run ${run}: parts do not sum to ${totalMinor}`);
      lines.forEach(({ netMinor, rateBps }, i) => {
        const expected = roundHalfUpDiv(netMinor * rateBps, 10_000);
        if (perLine[i] !== expected) mismatches.push(`run ${run} line ${i}: ${perLine[i]} != ${expected}`);
      });
    }
    expect(mismatches).toEqual([]);
  });

  it.each([
    ['a negative net', -1, 100],
    ['a fractional net', 1.5, 100],
    ['a rate over 100 %', 100, 10_001],
    ['a negative rate', 100, -1],
  ])('asserts on %s', (_name, netMinor, rateBps) => {
    expect(() => lineTaxesMinor([{ netMinor, rateBps }])).toThrow();
  });
});
