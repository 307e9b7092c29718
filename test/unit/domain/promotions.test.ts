import { describe, expect, it } from 'vitest';
import {
  checkPromotion,
  promotionDiscountMinor,
  promotionProblems,
  type Promotion,
  type PromotionContext,
} from '../../../src/domain/promotions.js';

const startsAtMs = 1_000_000;
const endsAtMs = 2_000_000;

function promo(overrides: Partial<Promotion> = {}): Promotion {
  return {
    code: 'SPRING10', kind: 'percentage', percentBps: 1_000, amountMinor: null, currency: null,
    minSubtotalMinor: 0, startsAtMs, endsAtMs, usageLimitTotal: null, usageLimitPerCustomer: null,
    ...overrides,
  };
}

function ctx(overrides: Partial<PromotionContext> = {}): PromotionContext {
  return { subtotalMinor: 10_000, currency: 'USD', nowMs: 1_500_000, usage: { total: 0, byCustomer: 0 }, ...overrides };
}

const fixedEur = { kind: 'fixed', percentBps: null, amountMinor: 500, currency: 'EUR' } as const;

describe('checkPromotion', () => {
  it.each([
    ['the first instant of the window', promo(), ctx({ nowMs: startsAtMs })],
    ['the last instant of the window', promo(), ctx({ nowMs: endsAtMs - 1 })],
    ['an open-ended window, long after', promo({ startsAtMs: null, endsAtMs: null }), ctx({ nowMs: 9e12 })],
    ['a subtotal exactly at the minimum', promo({ minSubtotalMinor: 10_000 }), ctx()],
    ['a promotion with no currency, in any currency', promo(), ctx({ currency: 'JPY' })],
    ['a fixed promotion in the cart currency', promo(fixedEur), ctx({ currency: 'EUR' })],
    ['one use below the total limit', promo({ usageLimitTotal: 5 }), ctx({ usage: { total: 4, byCustomer: 0 } })],
    ['one use below the per-customer limit', promo({ usageLimitPerCustomer: 2 }), ctx({ usage: { total: 99, byCustomer: 1 } })],
  ])('accepts %s', (_name, p, c) => {
    expect(checkPromotion(p, c)).toEqual({ ok: true });
  });

  it.each([
    ['before the window opens', promo(), ctx({ nowMs: startsAtMs - 1 }),
      { code: 'PROMO_NOT_ACTIVE', details: { startsAtMs, endsAtMs } }],
    ['at the instant the window closes', promo(), ctx({ nowMs: endsAtMs }),
      { code: 'PROMO_NOT_ACTIVE', details: { startsAtMs, endsAtMs } }],
    ['after an end with no start', promo({ startsAtMs: null }), ctx({ nowMs: endsAtMs + 1 }),
      { code: 'PROMO_NOT_ACTIVE', details: { startsAtMs: null, endsAtMs } }],
    ['a cart in another currency', promo(fixedEur), ctx({ currency: 'USD' }),
      { code: 'PROMO_CURRENCY_MISMATCH', details: { promoCurrency: 'EUR', cartCurrency: 'USD' } }],
    ['a subtotal one unit below the minimum', promo({ minSubtotalMinor: 10_001 }), ctx(),
      { code: 'PROMO_MIN_SUBTOTAL_NOT_MET', details: { minSubtotalMinor: 10_001 } }],
    ['a total usage at its limit', promo({ usageLimitTotal: 5 }), ctx({ usage: { total: 5, byCustomer: 0 } }),
      { code: 'PROMO_USAGE_LIMIT_REACHED', details: { limit: 'total' } }],
    ['a total limit of zero', promo({ usageLimitTotal: 0 }), ctx(),
      { code: 'PROMO_USAGE_LIMIT_REACHED', details: { limit: 'total' } }],
    ['a customer usage at its limit', promo({ usageLimitPerCustomer: 1 }), ctx({ usage: { total: 1, byCustomer: 1 } }),
      { code: 'PROMO_USAGE_LIMIT_REACHED', details: { limit: 'per_customer' } }],
    ['both limits reached, naming the total limit first',
      promo({ usageLimitTotal: 1, usageLimitPerCustomer: 1 }), ctx({ usage: { total: 1, byCustomer: 1 } }),
      { code: 'PROMO_USAGE_LIMIT_REACHED', details: { limit: 'total' } }],
    ['an inactive promotion before checking anything else',
      promo({ ...fixedEur, minSubtotalMinor: 1e9, usageLimitTotal: 0 }), ctx({ nowMs: 0 }),
      { code: 'PROMO_NOT_ACTIVE', details: { startsAtMs, endsAtMs } }],
  ])('rejects %s', (_name, p, c, expected) => {
    expect(checkPromotion(p, c)).toEqual({ ok: false, ...expected });
  });

  it('asserts on a malformed promotion', () => {
    expect(() => checkPromotion(promo({ percentBps: null }), ctx())).toThrow(/malformed promotion SPRING10/);
  });
});

describe('promotionDiscountMinor', () => {
  it.each([
    ['10 % of 10000', promo(), 10_000, 1_000],
    ['15.5 % of 999, rounding 154.845 up', promo({ percentBps: 1_550 }), 999, 155],
    ['12.5 % of 4, rounding the half 0.5 up', promo({ percentBps: 1_250 }), 4, 1],
    ['0.01 % of 4999, rounding 0.4999 down', promo({ percentBps: 1 }), 4_999, 0],
    ['100 % of the subtotal', promo({ percentBps: 10_000 }), 12_345, 12_345],
    ['a percentage of a subtotal whose product passes 2^53', promo({ percentBps: 9_999 }), 5_000_000_000_000, 4_999_500_000_000],
    ['a fixed amount below the subtotal', promo(fixedEur), 10_000, 500],
    ['a fixed amount capped at the subtotal', promo(fixedEur), 300, 300],
    ['a fixed amount on a zero subtotal', promo(fixedEur), 0, 0],
    ['free shipping, which discounts no merchandise', promo({ kind: 'free_shipping', percentBps: null }), 10_000, 0],
  ])('gives %s as %d → %d', (_name, p, subtotal, expected) => {
    expect(promotionDiscountMinor(p, subtotal)).toBe(expected);
  });
});

describe('promotionProblems', () => {
  it('finds nothing wrong with a well-formed promotion of each kind', () => {
    expect(promotionProblems(promo())).toEqual([]);
    expect(promotionProblems(promo(fixedEur))).toEqual([]);
    expect(promotionProblems(promo({ kind: 'free_shipping', percentBps: null, currency: 'GBP' }))).toEqual([]);
  });

  it.each([
    ['a percentage of 0 bps', { percentBps: 0 }, /percentBps must be/],
    ['a percentage over 100 %', { percentBps: 10_001 }, /percentBps must be/],
    ['a fractional percentage', { percentBps: 12.5 }, /percentBps must be/],
    ['percentBps on a fixed promotion', { ...fixedEur, percentBps: 100 }, /only for percentage/],
    ['a fixed promotion without currency', { ...fixedEur, currency: null }, /currency is required/],
    ['a fixed promotion without amount', { ...fixedEur, amountMinor: null }, /amountMinor must be/],
    ['amountMinor on a percentage promotion', { amountMinor: 5 }, /only for fixed/],
    ['a negative minimum subtotal', { minSubtotalMinor: -1 }, /minSubtotalMinor/],
    ['a window that ends before it starts', { startsAtMs: 5, endsAtMs: 5 }, /endsAtMs must be after/],
    ['a negative usage limit', { usageLimitPerCustomer: -1 }, /usage limits/],
  ] as const)('reports %s', (_name, overrides, pattern) => {
    const problems = promotionProblems(promo(overrides as Partial<Promotion>));
    expect(problems.join(' ')).toMatch(pattern);
  });
});
