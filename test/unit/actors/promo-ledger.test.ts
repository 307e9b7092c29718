import { describe, expect, it } from 'vitest';
import { PromoLedger } from '../../../src/actors/promo-ledger.js';
import type { Promotion } from '../../../src/domain/promotions.js';

const promo: Promotion = { code: 'SALE', kind: 'percentage', percentBps: 1_000, amountMinor: null, currency: null, minSubtotalMinor: 0, startsAtMs: null, endsAtMs: null, usageLimitTotal: 100, usageLimitPerCustomer: 1 };

describe('the promotion ledger', () => {
  it('forgets the counts of idle customers and reloads them from the store when needed, limits still exact', async () => {
    let now = 0;
    // The store: uses of confirmed orders (what a reload sees).
    const stored = new Map<string, number>();
    const loads: string[] = [];
    const ledger = new PromoLedger(async (code, customer) => {
      loads.push(customer);
      let total = 0;
      for (const [k, n] of stored) if (k.startsWith(`${code}/`)) total += n;
      return { total, byCustomer: stored.get(`${code}/${customer}`) ?? 0 };
    }, () => now);
    for (let i = 0; i < 50; i++) {
      expect(await ledger.reserve(promo, `cus:${i}`)).toBe(true);
      stored.set(`SALE/cus:${i}`, 1); // the order was written
    }
    expect(ledger.size()).toBe(51);
    now = 60_000;
    expect(await ledger.reserve(promo, 'cus:active')).toBe(true);
    stored.set('SALE/cus:active', 1);
    // Everyone but the active customer went idle: their counts go, the code's total stays (a customer is live).
    expect(ledger.evictIdle(30_000)).toBe(50);
    expect(ledger.size()).toBe(2);
    // A forgotten customer comes back: the count is reloaded, and the per-customer limit still holds.
    expect(await ledger.reserve(promo, 'cus:7')).toBe(false);
    expect(loads.filter((c) => c === 'cus:7')).toHaveLength(2);
    // Once nobody is live, the code's total goes too, and comes back exact from the store.
    now = 200_000;
    expect(ledger.evictIdle(150_000)).toBe(3);
    expect(ledger.size()).toBe(0);
    await ledger.prepare('SALE', 'cus:new');
    expect(ledger.usage('SALE', 'cus:new')).toEqual({ total: 51, byCustomer: 0 });
  });
});
