import { describe, expect, it } from 'vitest';
import { limits } from '../../../src/config/limits.js';
import { asSku } from '../../../src/domain/ids.js';
import { priceCart, pricedCartHash, type Address, type PriceCartInput, type PricedCart } from '../../../src/domain/pricing.js';
import type { Product } from '../../../src/domain/product.js';
import type { Promotion } from '../../../src/domain/promotions.js';
import { defaultShippingTable, type ShippingTable } from '../../../src/domain/shipping.js';
import { defaultTaxRates } from '../../../src/domain/tax.js';
import { intBelow, seededRng } from '../../support/seeded-random.js';

const pick = <T>(rng: () => number, items: readonly T[]): T => items[intBelow(rng, items.length)] as T;

const nowMs = 1_700_000_000_000;

function product(sku: string, priceMinor: number, overrides: Partial<Product> = {}): Product {
  return { sku: asSku(sku), name: `Product ${sku}`, priceMinor, currency: 'EUR', weightGrams: 300, taxCategory: 'standard', ...overrides };
}

function promo(overrides: Partial<Promotion> = {}): Promotion {
  return {
    code: 'TENOFF', kind: 'percentage', percentBps: 1_000, amountMinor: null, currency: null, minSubtotalMinor: 0,
    startsAtMs: null, endsAtMs: null, usageLimitTotal: null, usageLimitPerCustomer: null, ...overrides,
  };
}

const berlin: Address = { name: 'A. Kunde', line1: 'Unter den Linden 1', city: 'Berlin', postalCode: '10117', country: 'DE' };

function input(overrides: Partial<PriceCartInput> = {}): PriceCartInput {
  return {
    lines: [
      { product: product('A', 1_999), qty: 2 },
      { product: product('B', 500, { weightGrams: 200, taxCategory: 'reduced' }), qty: 3 },
    ],
    promo: promo(),
    promoUsage: { total: 0, byCustomer: 0 },
    address: berlin,
    shippingMethod: 'standard',
    taxRates: defaultTaxRates,
    shippingTable: defaultShippingTable,
    nowMs,
    ...overrides,
  };
}

function mustPrice(i: PriceCartInput): PricedCart {
  const result = priceCart(i);
  if (!result.ok) throw new Error(`expected ok, got ${result.code} ${JSON.stringify(result.details)}`);
  return result.priced;
}

/** Independent oracle for one line's tax: floor(net × rate / 10000 + 1/2) in BigInt. */
const taxOracle = (netMinor: number, rateBps: number): number =>
  Number((2n * BigInt(netMinor) * BigInt(rateBps) + 10_000n) / 20_000n);

/** Every broken invariant of a priced cart, as a sentence; collected rather than asserted one by one for speed. */
function invariantViolations(p: PricedCart): string[] {
  const out: string[] = [];
  const check = (holds: boolean, what: string): void => void (holds || out.push(what));
  const sum = (part: (l: PricedCart['lines'][number]) => number): number => p.lines.reduce((a, l) => a + part(l), 0);
  check(p.totalMinor === p.subtotalMinor - p.discountMinor + p.shippingMinor + p.taxMinor, 'total = subtotal - discount + shipping + tax');
  check(sum((l) => l.subtotalMinor) === p.subtotalMinor, 'line subtotals sum to the subtotal');
  check(sum((l) => l.discountMinor) === p.discountMinor, 'line discounts sum to the discount');
  check(sum((l) => l.taxMinor) === p.taxMinor, 'line taxes sum to the tax');
  check(sum((l) => l.totalMinor) === p.totalMinor - p.shippingMinor, 'line totals sum to the total less shipping');
  check(p.discountMinor <= p.subtotalMinor, 'discount <= subtotal');
  p.lines.forEach((l, i) => {
    check(l.subtotalMinor === l.unitPriceMinor * l.qty, `line ${i}: subtotal = unit price × qty`);
    check(l.discountMinor >= 0 && l.discountMinor <= l.subtotalMinor, `line ${i}: 0 <= discount <= subtotal`);
    check(l.taxMinor === taxOracle(l.subtotalMinor - l.discountMinor, l.taxRateBps), `line ${i}: tax is the rounding of its net`);
    check(l.totalMinor === l.subtotalMinor - l.discountMinor + l.taxMinor, `line ${i}: total = subtotal - discount + tax`);
  });
  check(/^[0-9a-f]{64}$/.test(p.hash) && pricedCartHash(p) === p.hash, 'hash is the sha256 of the rest');
  return out;
}

function expectInvariants(p: PricedCart): void {
  expect(invariantViolations(p)).toEqual([]);
}

describe('priceCart', () => {
  it('prices a German cart with a 10 % promotion, worked by hand', () => {
    const p = mustPrice(input());
    // Subtotal 3998 + 1500 = 5498; 10 % is 549.8 → 550, split 400/150 by largest remainder.
    // Tax: 3598 × 19 % = 683.62 → 684; 1350 × 7 % = 94.5 → 95. 1.2 kg to the EU in EUR, below the 50 EUR threshold: 699.
    expect(p.lines.map((l) => [l.subtotalMinor, l.discountMinor, l.taxRateBps, l.taxMinor, l.totalMinor, l.weightGrams]))
      .toEqual([[3_998, 400, 1_900, 684, 4_282, 600], [1_500, 150, 700, 95, 1_445, 600]]);
    expect(p).toMatchObject({
      currency: 'EUR', subtotalMinor: 5_498, discountMinor: 550, shippingMethod: 'standard', shippingMinor: 699,
      taxMinor: 779, totalMinor: 6_426, promoCode: 'TENOFF',
    });
    expectInvariants(p);
  });

  it('prices a cart view without an address with no tax and no shipping', () => {
    const p = mustPrice(input({ address: null }));
    expect(p).toMatchObject({ subtotalMinor: 5_498, discountMinor: 550, shippingMinor: 0, taxMinor: 0, totalMinor: 4_948 });
    expect(p.lines.every((l) => l.taxRateBps === 0 && l.taxMinor === 0)).toBe(true);
  });

  it('uses the region row for a US state and does not tax shipping', () => {
    const lines = [{ product: product('A', 1_000, { currency: 'USD' }), qty: 1 }];
    const address = { ...berlin, country: 'US', region: 'CA' };
    const p = mustPrice(input({ lines, promo: null, address, shippingMethod: 'express' }));
    expect(p).toMatchObject({ subtotalMinor: 1_000, taxMinor: 73, shippingMinor: 1_499, totalMinor: 2_572 });
  });

  it('zeroes shipping for a free-shipping promotion and discounts no merchandise', () => {
    const p = mustPrice(input({ promo: promo({ kind: 'free_shipping', percentBps: null }) }));
    expect(p).toMatchObject({ discountMinor: 0, shippingMinor: 0, subtotalMinor: 5_498 });
    expectInvariants(p);
  });

  it('ships standard free once the discounted subtotal reaches the threshold', () => {
    const lines = [{ product: product('A', 5_556), qty: 1 }];
    // 10 % off 5556 is 556, leaving 5000: exactly the EUR threshold.
    expect(mustPrice(input({ lines })).shippingMinor).toBe(0);
    expect(mustPrice(input({ lines: [{ product: product('A', 5_555), qty: 1 }] })).shippingMinor).toBe(449);
  });

  it('caps a fixed discount at the subtotal, leaving lines with zero net and zero tax', () => {
    const fixed = promo({ kind: 'fixed', percentBps: null, amountMinor: 1_000_000, currency: 'EUR' });
    const p = mustPrice(input({ promo: fixed }));
    expect(p).toMatchObject({ discountMinor: 5_498, taxMinor: 0, totalMinor: p.shippingMinor });
    expectInvariants(p);
  });

  const tooManyLines = Array.from({ length: limits.cartLinesMax + 1 }, (_, i) => ({ product: product(`S${i}`, 100), qty: 1 }));
  it.each<[string, Partial<PriceCartInput>, string]>([
    ['no lines', { lines: [] }, 'CART_EMPTY'],
    ['lines in two currencies', { lines: [{ product: product('A', 1), qty: 1 }, { product: product('B', 1, { currency: 'USD' }), qty: 1 }] }, 'CURRENCY_MISMATCH'],
    ['more lines than cartLinesMax', { lines: tooManyLines }, 'CART_LINES_LIMIT_EXCEEDED'],
    ['a quantity over lineQtyMax', { lines: [{ product: product('A', 1), qty: limits.lineQtyMax + 1 }] }, 'QUANTITY_LIMIT_EXCEEDED'],
    ['an expired promotion', { promo: promo({ endsAtMs: nowMs }) }, 'PROMO_NOT_ACTIVE'],
    ['a promotion in another currency', { promo: promo({ currency: 'USD' }) }, 'PROMO_CURRENCY_MISMATCH'],
    ['a promotion above the subtotal minimum', { promo: promo({ minSubtotalMinor: 5_499 }) }, 'PROMO_MIN_SUBTOTAL_NOT_MET'],
    ['a used-up promotion', { promo: promo({ usageLimitPerCustomer: 1 }), promoUsage: { total: 1, byCustomer: 1 } }, 'PROMO_USAGE_LIMIT_REACHED'],
    ['a currency with no shipping prices', { lines: [{ product: product('A', 100, { currency: 'JPY' }), qty: 1 }], promo: null }, 'SHIPPING_DESTINATION_UNSUPPORTED'],
    ['a parcel over the heaviest band', { lines: [{ product: product('A', 100, { weightGrams: 30_001 }), qty: 1 }] }, 'SHIPPING_DESTINATION_UNSUPPORTED'],
    ['free shipping to where we cannot ship',
      { promo: promo({ kind: 'free_shipping', percentBps: null }), shippingTable: { ...defaultShippingTable, zoneByCountry: {}, defaultZone: null } },
      'SHIPPING_DESTINATION_UNSUPPORTED'],
  ])('rejects %s', (_name, overrides, code) => {
    const result = priceCart(input(overrides));
    expect(!result.ok && result.code).toBe(code);
  });

  it('names both currencies when lines are mixed', () => {
    const lines = [{ product: product('A', 1), qty: 1 }, { product: product('B', 1, { currency: 'USD' }), qty: 1 }];
    expect(priceCart(input({ lines }))).toEqual({
      ok: false, code: 'CURRENCY_MISMATCH', details: { cartCurrency: 'EUR', productCurrency: 'USD' },
    });
  });

  const seed = 0xc0ffee;
  it(`keeps every total equal to the sum of its parts for random carts (seed 0x${seed.toString(16)}, 300 carts)`, () => {
    const rng = seededRng(seed);
    // One unbounded band everywhere, so random weights never make a cart unshippable.
    const flat = [{ maxWeightGrams: Number.MAX_SAFE_INTEGER, priceMinor: 995 }];
    const anyZone = { world: { standard: flat, express: flat } };
    const table: ShippingTable = {
      zoneByCountry: {}, defaultZone: 'world', bands: { USD: anyZone, EUR: anyZone, GBP: anyZone }, freeStandardFromMinor: { USD: 100_000 },
    };
    const addresses: (Address | null)[] = [null, berlin, { ...berlin, country: 'US', region: 'NY' }, { ...berlin, country: 'GB' }, { ...berlin, country: 'FR' }];
    const big = (n: number): number => (intBelow(rng, 4) === 0 ? intBelow(rng, n) : intBelow(rng, 5_000));
    for (let run = 0; run < 300; run++) {
      const currency = pick(rng, ['USD', 'EUR', 'GBP']);
      const lines = Array.from({ length: 1 + intBelow(rng, limits.cartLinesMax) }, (_, i) => ({
        product: product(`SKU-${i}`, big(limits.priceMinorMax + 1), {
          currency, weightGrams: intBelow(rng, 2_000), taxCategory: pick(rng, ['standard', 'reduced', 'zero', 'other']),
        }),
        qty: 1 + (intBelow(rng, 4) === 0 ? intBelow(rng, limits.lineQtyMax) : intBelow(rng, 5)),
      }));
      const promos = [
        null,
        promo({ percentBps: 1 + intBelow(rng, 10_000) }),
        promo({ kind: 'fixed', percentBps: null, amountMinor: 1 + big(1e12), currency }),
        promo({ kind: 'free_shipping', percentBps: null }),
      ];
      const p = mustPrice(input({
        lines, promo: pick(rng, promos), address: pick(rng, addresses), shippingMethod: pick(rng, ['standard', 'express'] as const), shippingTable: table,
      }));
      expectInvariants(p);
    }
  });
});

describe('pricedCartHash', () => {
  it('gives the same hash for the same input', () => {
    expect(mustPrice(input()).hash).toBe(mustPrice(input()).hash);
  });

  it('pins the hash of the worked example, so a change to the serialisation is noticed', () => {
    expect(mustPrice(input()).hash).toMatchInlineSnapshot(`"93f76b0be2d277b1fa20ec5a0761fe58f9fbe54f115ba90394bee26035b802b2"`);
  });

  it('does not depend on the order of keys in the input or the priced cart', () => {
    const reversed = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).reverse()) as T;
    const shuffled = input({ lines: input().lines.map(({ product: pr, qty }) => reversed({ product: reversed(pr), qty })) });
    const p = mustPrice(input());
    expect(mustPrice(shuffled).hash).toBe(p.hash);
    const { hash: _h, ...rest } = p;
    expect(pricedCartHash(reversed({ ...rest, lines: rest.lines.map(reversed) }))).toBe(p.hash);
  });

  it('ignores a hash field already present on what it hashes', () => {
    const p = mustPrice(input());
    expect(pricedCartHash({ ...p, hash: 'stale' } as PricedCart)).toBe(p.hash);
  });

  it.each<[string, Partial<PriceCartInput>]>([
    ['the shipping method', { shippingMethod: 'express' }],
    ['the address', { address: null }],
    ['the promotion', { promo: null }],
    ['a quantity', { lines: [{ product: product('A', 1_999), qty: 3 }] }],
    ['a product name', { lines: input().lines.map((l, i) => (i === 0 ? { ...l, product: { ...l.product, name: 'Renamed' } } : l)) }],
  ])('changes when %s changes', (_name, overrides) => {
    expect(mustPrice(input(overrides)).hash).not.toBe(mustPrice(input()).hash);
  });
});
