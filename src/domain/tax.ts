import assert from 'node:assert/strict';
import { applyBps, bpsPerWhole, sumMinor } from './money.js';

/**
 * One row of a tax table. A row with region null is the country-wide rate; a row with a region overrides it for
 * that region. Rates are in basis points of the net (tax-exclusive) amount.
 */
export interface TaxRate {
  country: string;
  region: string | null;
  taxCategory: string;
  rateBps: number;
}

/**
 * A small, realistic default table (rates as of 2024). US sales tax has no federal rate, so US rows are per state
 * and a state not listed pays 0; the US state rates are state-level only (no county or city add-ons).
 * EU and UK rows are national VAT: standard, reduced (food, books) and zero.
 */
export const defaultTaxRates: TaxRate[] = [
  { country: 'US', region: 'CA', taxCategory: 'standard', rateBps: 725 },
  { country: 'US', region: 'NY', taxCategory: 'standard', rateBps: 400 },
  { country: 'US', region: 'TX', taxCategory: 'standard', rateBps: 625 },
  { country: 'US', region: 'WA', taxCategory: 'standard', rateBps: 650 },
  { country: 'US', region: 'OR', taxCategory: 'standard', rateBps: 0 },
  { country: 'DE', region: null, taxCategory: 'standard', rateBps: 1900 },
  { country: 'DE', region: null, taxCategory: 'reduced', rateBps: 700 },
  { country: 'DE', region: null, taxCategory: 'zero', rateBps: 0 },
  { country: 'FR', region: null, taxCategory: 'standard', rateBps: 2000 },
  { country: 'FR', region: null, taxCategory: 'reduced', rateBps: 550 },
  { country: 'FR', region: null, taxCategory: 'zero', rateBps: 0 },
  { country: 'GB', region: null, taxCategory: 'standard', rateBps: 2000 },
  { country: 'GB', region: null, taxCategory: 'reduced', rateBps: 500 },
  { country: 'GB', region: null, taxCategory: 'zero', rateBps: 0 },
];

/**
 * The rate for a destination and category: the region's own row first, then the country-wide row, else 0.
 * 0 for an unknown destination is deliberate: whether we ship there at all is the shipping table's decision.
 */
export function taxRateBps(table: TaxRate[], country: string, region: string | null, taxCategory: string): number {
  const matches = (row: TaxRate, wantRegion: string | null): boolean =>
    row.country === country && row.region === wantRegion && row.taxCategory === taxCategory;
  const regional = region === null ? undefined : table.find((row) => matches(row, region));
  const row = regional ?? table.find((r) => matches(r, null));
  return row?.rateBps ?? 0;
}

/**
 * Tax per line and in total. Each line is rounded once, to roundHalfUpDiv(netMinor × rateBps, 10000) (computed by
 * applyBps, which gives the same value without overflowing), and the total is the sum of the lines, so the lines
 * always add up to the total shown. Prices are exclusive of tax. Shipping is not taxed: it is not passed in here,
 * and pricing adds it after tax.
 */
export function lineTaxesMinor(
  lines: { netMinor: number; rateBps: number }[],
): { perLine: number[]; totalMinor: number } {
  const perLine = lines.map(({ netMinor, rateBps }) => {
    assert(Number.isSafeInteger(netMinor) && netMinor >= 0, `netMinor must be a non-negative integer, got ${netMinor}`);
    assert(Number.isSafeInteger(rateBps) && rateBps >= 0 && rateBps <= bpsPerWhole, `bad rateBps ${rateBps}`);
    return applyBps(netMinor, rateBps);
  });
  return { perLine, totalMinor: sumMinor(perLine) };
}
