import assert from 'node:assert/strict';
import { fail, type Failure } from '../errors.js';

export type ShippingMethod = 'standard' | 'express';

export const shippingMethods: readonly ShippingMethod[] = ['standard', 'express'];

/** A weight band: parcels up to and including maxWeightGrams cost priceMinor. */
export interface WeightBand {
  maxWeightGrams: number;
  priceMinor: number;
}

/**
 * Shipping prices as data. A country maps to a zone; prices are per currency, then per zone and method, as weight
 * bands in ascending order. A parcel heavier than the last band is unsupported rather than surcharged: a heavy
 * freight parcel needs a carrier quote, not an extrapolated price.
 */
export interface ShippingTable {
  /** ISO 3166-1 alpha-2 country → zone name. */
  zoneByCountry: Record<string, string>;
  /** The zone of a country not in zoneByCountry; null means we do not ship to unlisted countries. */
  defaultZone: string | null;
  /** currency → zone → method → bands, ascending by maxWeightGrams. A missing entry means unsupported. */
  bands: Record<string, Record<string, Partial<Record<ShippingMethod, WeightBand[]>>>>;
  /** currency → subtotal (after discount) from which standard shipping is free. Express is never free. */
  freeStandardFromMinor: Record<string, number>;
}

export interface ShippingQuery {
  country: string;
  weightGrams: number;
  /** The merchandise subtotal after discount, so a discount can take a cart below the free-shipping threshold. */
  subtotalMinor: number;
  currency: string;
  method: ShippingMethod;
}

export type ShippingQuoteResult = { ok: true; amountMinor: number } | Failure;

export interface ShippingOption {
  method: ShippingMethod;
  amountMinor: number;
}

/** The price of shipping one parcel. SHIPPING_DESTINATION_UNSUPPORTED when no zone, currency or band fits. */
export function shippingQuote(table: ShippingTable, q: ShippingQuery): ShippingQuoteResult {
  assert(Number.isSafeInteger(q.weightGrams) && q.weightGrams >= 0, `weightGrams must be >= 0, got ${q.weightGrams}`);
  assert(Number.isSafeInteger(q.subtotalMinor) && q.subtotalMinor >= 0, `bad subtotalMinor ${q.subtotalMinor}`);
  const unsupported = (reason: 'zone' | 'currency' | 'method' | 'weight'): Failure =>
    fail('SHIPPING_DESTINATION_UNSUPPORTED', { country: q.country, currency: q.currency, reason });
  const zone = own(table.zoneByCountry, q.country) ?? table.defaultZone;
  if (zone === null) return unsupported('zone');
  const zones = own(table.bands, q.currency);
  if (zones === undefined) return unsupported('currency');
  const methodBands = own(zones, zone)?.[q.method];
  if (methodBands === undefined) return unsupported('method');
  const band = methodBands.find((b) => q.weightGrams <= b.maxWeightGrams);
  if (band === undefined) return unsupported('weight');
  const freeFromMinor = own(table.freeStandardFromMinor, q.currency);
  const free = q.method === 'standard' && freeFromMinor !== undefined && q.subtotalMinor >= freeFromMinor;
  return { ok: true, amountMinor: free ? 0 : band.priceMinor };
}

/** Every method that can ship this parcel, in shippingMethods order; the first method's failure when none can. */
export function shippingQuotes(
  table: ShippingTable,
  q: Omit<ShippingQuery, 'method'>,
): { ok: true; quotes: ShippingOption[] } | Failure {
  const quotes: ShippingOption[] = [];
  let firstFailure: Failure | null = null;
  for (const method of shippingMethods) {
    const quote = shippingQuote(table, { ...q, method });
    if (quote.ok) quotes.push({ method, amountMinor: quote.amountMinor });
    else firstFailure ??= quote;
  }
  if (quotes.length === 0 && firstFailure !== null) return firstFailure;
  return { ok: true, quotes };
}

// Own properties only: the keys come from user input, and 'constructor' must not find Object.prototype's.
function own<T>(record: Record<string, T>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

const euCountries = [
  'AT', 'BE', 'BG', 'HR', 'CY', 'CZ', 'DK', 'EE', 'FI', 'FR', 'DE', 'GR', 'HU', 'IE',
  'IT', 'LV', 'LT', 'LU', 'MT', 'NL', 'PL', 'PT', 'RO', 'SK', 'SI', 'ES', 'SE',
];

/** Builds one currency's prices from per-zone prices for bands of 0.5, 2, 5, 10 and 30 kg. */
function zonePrices(
  byZone: Record<string, { standard: number[]; express: number[] }>,
): Record<string, Partial<Record<ShippingMethod, WeightBand[]>>> {
  const maxWeightsGrams = [500, 2_000, 5_000, 10_000, 30_000];
  const toBands = (prices: number[]): WeightBand[] =>
    maxWeightsGrams.map((maxWeightGrams, i) => ({ maxWeightGrams, priceMinor: prices[i] ?? 0 }));
  const result: Record<string, Partial<Record<ShippingMethod, WeightBand[]>>> = {};
  for (const [zone, prices] of Object.entries(byZone)) {
    assert(prices.standard.length === maxWeightsGrams.length && prices.express.length === maxWeightsGrams.length);
    result[zone] = { standard: toBands(prices.standard), express: toBands(prices.express) };
  }
  return result;
}

/**
 * The default table: zones domestic-us, eu, uk and rest-of-world (every unlisted country); prices in USD, EUR and
 * GBP for every zone; parcels up to 30 kg; standard shipping free from 50 USD, 50 EUR or 40 GBP.
 */
export const defaultShippingTable: ShippingTable = {
  zoneByCountry: {
    US: 'domestic-us',
    GB: 'uk',
    ...Object.fromEntries(euCountries.map((c) => [c, 'eu'])),
  },
  defaultZone: 'rest-of-world',
  bands: {
    USD: zonePrices({
      'domestic-us': { standard: [499, 799, 1_199, 1_899, 3_499], express: [1_499, 1_999, 2_999, 4_499, 7_999] },
      eu: { standard: [1_499, 2_499, 3_999, 5_999, 9_999], express: [2_999, 4_499, 6_999, 9_999, 15_999] },
      uk: { standard: [1_499, 2_499, 3_999, 5_999, 9_999], express: [2_999, 4_499, 6_999, 9_999, 15_999] },
      'rest-of-world': {
        standard: [1_999, 2_999, 4_999, 7_999, 12_999],
        express: [3_999, 5_999, 8_999, 12_999, 19_999],
      },
    }),
    EUR: zonePrices({
      'domestic-us': { standard: [1_399, 2_299, 3_699, 5_499, 8_999], express: [2_799, 4_199, 6_499, 8_999, 14_999] },
      eu: { standard: [449, 699, 999, 1_599, 2_999], express: [1_299, 1_799, 2_699, 3_999, 6_999] },
      uk: { standard: [999, 1_499, 2_499, 3_999, 6_999], express: [1_999, 2_999, 4_499, 6_499, 10_999] },
      'rest-of-world': {
        standard: [1_799, 2_699, 4_499, 6_999, 11_999],
        express: [3_599, 5_499, 7_999, 11_999, 17_999],
      },
    }),
    GBP: zonePrices({
      'domestic-us': { standard: [1_199, 1_999, 3_199, 4_799, 7_999], express: [2_399, 3_599, 5_599, 7_999, 12_999] },
      eu: { standard: [899, 1_299, 2_199, 3_499, 5_999], express: [1_799, 2_599, 3_999, 5_799, 9_999] },
      uk: { standard: [399, 599, 899, 1_399, 2_499], express: [999, 1_499, 2_199, 3_299, 5_999] },
      'rest-of-world': { standard: [1_599, 2_399, 3_999, 5_999, 9_999], express: [3_199, 4_799, 6_999, 9_999, 14_999] },
    }),
  },
  freeStandardFromMinor: { USD: 5_000, EUR: 5_000, GBP: 4_000 },
};
