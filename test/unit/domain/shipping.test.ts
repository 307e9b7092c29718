import { describe, expect, it } from 'vitest';
import {
  defaultShippingTable,
  shippingQuote,
  shippingQuotes,
  type ShippingMethod,
  type ShippingTable,
} from '../../../src/domain/shipping.js';

const below = 0; // A subtotal under every free-shipping threshold.

describe('shippingQuote with the default table', () => {
  it.each<[string, string, string, number, number, ShippingMethod, number]>([
    ['an empty parcel in the first band', 'US', 'USD', 0, below, 'standard', 499],
    ['the first band edge', 'US', 'USD', 500, below, 'standard', 499],
    ['one gram past the first band edge', 'US', 'USD', 501, below, 'standard', 799],
    ['the second band edge', 'US', 'USD', 2_000, below, 'standard', 799],
    ['the last band edge', 'US', 'USD', 30_000, below, 'standard', 3_499],
    ['express in the first band', 'US', 'USD', 1, below, 'express', 1_499],
    ['France, in the eu zone, in EUR', 'FR', 'EUR', 2_500, below, 'standard', 999],
    ['the US from a EUR store', 'US', 'EUR', 2_500, below, 'express', 6_499],
    ['a country not listed, as rest-of-world', 'JP', 'USD', 400, below, 'standard', 1_999],
    ['a key of Object.prototype, as rest-of-world', 'constructor', 'USD', 400, below, 'standard', 1_999],
    ['one unit below the USD free threshold', 'US', 'USD', 400, 4_999, 'standard', 499],
    ['the USD free threshold, free', 'US', 'USD', 400, 5_000, 'standard', 0],
    ['express at the free threshold, which is not free', 'US', 'USD', 400, 5_000, 'express', 1_499],
    ['abroad above the threshold, free too', 'JP', 'USD', 29_000, 100_000, 'standard', 0],
  ])('prices %s', (_name, country, currency, weightGrams, subtotalMinor, method, expected) => {
    expect(shippingQuote(defaultShippingTable, { country, weightGrams, subtotalMinor, currency, method }))
      .toEqual({ ok: true, amountMinor: expected });
  });

  it.each<[string, number, number, number, number]>([
    ['GBP to the UK, first band', 300, below, 399, 999],
    ['GBP to the UK at the 40 GBP threshold', 300, 4_000, 0, 999],
    ['GBP to the UK one penny below it', 300, 3_999, 399, 999],
  ])('prices %s', (_name, weightGrams, subtotalMinor, standard, express) => {
    const q = { country: 'GB', weightGrams, subtotalMinor, currency: 'GBP' };
    expect(shippingQuotes(defaultShippingTable, q)).toEqual({
      ok: true,
      quotes: [{ method: 'standard', amountMinor: standard }, { method: 'express', amountMinor: express }],
    });
  });

  it('prices every zone in every currency for every band', () => {
    for (const currency of ['USD', 'EUR', 'GBP']) {
      for (const country of ['US', 'DE', 'GB', 'BR']) {
        for (const weightGrams of [0, 500, 2_000, 5_000, 10_000, 30_000]) {
          const result = shippingQuotes(defaultShippingTable, { country, weightGrams, subtotalMinor: below, currency });
          expect(result.ok && result.quotes.every((q) => q.amountMinor > 0)).toBe(true);
        }
      }
    }
  });

  it.each([
    ['a parcel heavier than the last band', 'US', 30_001, 'USD', 'weight'],
    ['a currency without prices', 'US', 100, 'JPY', 'currency'],
  ])('rejects %s', (_name, country, weightGrams, currency, reason) => {
    expect(shippingQuote(defaultShippingTable, { country, weightGrams, subtotalMinor: 1e9, currency, method: 'standard' }))
      .toEqual({ ok: false, code: 'SHIPPING_DESTINATION_UNSUPPORTED', details: { country, currency, reason } });
  });
});

describe('shippingQuote with a custom table', () => {
  const table: ShippingTable = {
    zoneByCountry: { NL: 'home', BE: 'near' },
    defaultZone: null,
    bands: {
      EUR: {
        home: { standard: [{ maxWeightGrams: 1_000, priceMinor: 300 }], express: [{ maxWeightGrams: 1_000, priceMinor: 900 }] },
        near: { standard: [{ maxWeightGrams: 1_000, priceMinor: 600 }] },
      },
    },
    freeStandardFromMinor: {},
  };
  const q = { weightGrams: 100, subtotalMinor: 1e9, currency: 'EUR' };

  it('charges standard without a free threshold for the currency, however large the subtotal', () => {
    expect(shippingQuote(table, { ...q, country: 'NL', method: 'standard' })).toEqual({ ok: true, amountMinor: 300 });
  });

  it.each<[string, string, ShippingMethod, string]>([
    ['an unlisted country when there is no default zone', 'FR', 'standard', 'zone'],
    ['a method the zone does not offer', 'BE', 'express', 'method'],
  ])('rejects %s', (_name, country, method, reason) => {
    const result = shippingQuote(table, { ...q, country, method });
    expect(result).toEqual({ ok: false, code: 'SHIPPING_DESTINATION_UNSUPPORTED', details: { country, currency: 'EUR', reason } });
  });

  it('lists only the methods a zone offers', () => {
    expect(shippingQuotes(table, { ...q, country: 'BE' })).toEqual({ ok: true, quotes: [{ method: 'standard', amountMinor: 600 }] });
  });

  it('fails with the first method\'s failure when no method can ship', () => {
    const result = shippingQuotes(table, { ...q, country: 'FR' });
    expect(!result.ok && result.details).toEqual({ country: 'FR', currency: 'EUR', reason: 'zone' });
  });

  it('asserts on a negative weight', () => {
    expect(() => shippingQuote(table, { ...q, weightGrams: -1, country: 'NL', method: 'standard' })).toThrow();
  });
});
