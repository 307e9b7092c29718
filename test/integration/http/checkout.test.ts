import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimulatedClock } from '../../../src/clock.js';
import { limits } from '../../../src/config/limits.js';
import { startTestNode, stock, testAddress, type TestNode } from '../../support/node-harness.js';
import { scriptedPayments, timeoutCard } from '../../support/scripted-payments.js';

/**
 * POST /api/checkout over a real socket: outcomes, idempotency and promotions. The payment provider is scripted
 * (test/support/scripted-payments.ts) and the node runs on a simulated clock, so "still running" and "the hold
 * expired" are reached by holding a promise and moving the clock, never by waiting.
 */
describe('POST /api/checkout', () => {
  let t: TestNode;
  const clock = new SimulatedClock();
  const payments = scriptedPayments();
  beforeAll(async () => {
    t = await startTestNode({ node: { clock, payments: payments.provider } });
    await Promise.all([
      t.admin('POST', '/api/promotions', { code: 'TENOFF', kind: 'percentage', percentBps: 1_000 }),
      t.admin('POST', '/api/promotions', { code: 'ONEEACH', kind: 'percentage', percentBps: 2_000, usageLimitPerCustomer: 1 }),
      t.admin('POST', '/api/promotions', { code: 'ONLYONE', kind: 'fixed', amountMinor: 100, currency: 'USD', usageLimitTotal: 1 }),
      t.admin('POST', '/api/promotions', { code: 'FUTURE', kind: 'percentage', percentBps: 1_000, startsAt: '2099-01-01T00:00:00Z' }),
      t.admin('POST', '/api/promotions', { code: 'BIGSPEND', kind: 'percentage', percentBps: 1_000, minSubtotalMinor: 10_000 }),
      t.admin('POST', '/api/promotions', { code: 'EUROS', kind: 'fixed', amountMinor: 500, currency: 'EUR' }),
    ]);
  });
  afterAll(async () => {
    await t.stop();
  });

  const buyNow = (sku: string, qty: number, extra: Record<string, unknown> = {}) => ({
    items: [{ sku, qty }], paymentMethod: 'pm_card_visa', address: testAddress, ...extra,
  });
  const checkout = (key: string, body: unknown) => t.call('POST', '/api/checkout', body, { 'idempotency-key': key });
  const inventory = async (sku: string) => (await t.call('GET', `/api/inventory/${sku}`)).body;

  describe('outcomes', () => {
    it('confirms an order with 201, its totals and the sale', async () => {
      await stock(t, 'CO-A', 10);
      const r = await checkout('co-a-1', buyNow('CO-A', 1));
      expect(r.status).toBe(201);
      // 2500 + standard US shipping for 300 g (499) + NY tax 4 % of 2500 (100).
      expect(r.body).toEqual({
        orderId: expect.stringMatching(/^ord_[A-Za-z0-9_-]{20,}$/),
        status: 'confirmed',
        totals: { currency: 'USD', subtotalMinor: 2_500, discountMinor: 0, shippingMinor: 499, taxMinor: 100, totalMinor: 3_099 },
      });
      expect(r.headers.get('idempotent-replayed')).toBeNull();
      expect(await inventory('CO-A')).toEqual({ sku: 'CO-A', onHand: 10, available: 9, held: 0, sold: 1 });
      const order = await t.call('GET', `/api/orders/${r.body.orderId}`);
      expect(order.body).toMatchObject({ status: 'confirmed', payment: { status: 'authorized' }, totals: r.body.totals });
    });

    it('refuses with 409 OUT_OF_STOCK naming each short SKU and what is available, holding nothing', async () => {
      await stock(t, 'CO-SHORT', 2);
      await stock(t, 'CO-PLENTY', 5);
      const body = { items: [{ sku: 'CO-SHORT', qty: 3 }, { sku: 'CO-PLENTY', qty: 1 }], paymentMethod: 'pm_card_visa', address: testAddress };
      const r = await checkout('co-short-1', body);
      expect(r.status).toBe(409);
      expect(r.body.error).toMatchObject({ code: 'OUT_OF_STOCK', skus: [{ sku: 'CO-SHORT', requested: 3, available: 2 }] });
      expect(await inventory('CO-SHORT')).toEqual({ sku: 'CO-SHORT', onHand: 2, available: 2, held: 0, sold: 0 });
      expect(await inventory('CO-PLENTY')).toEqual({ sku: 'CO-PLENTY', onHand: 5, available: 5, held: 0, sold: 0 });
    });

    it('sells the last unit once when two checkouts race for it', async () => {
      await stock(t, 'CO-LAST', 1);
      const [a, b] = await Promise.all([checkout('co-last-a', buyNow('CO-LAST', 1)), checkout('co-last-b', buyNow('CO-LAST', 1))]);
      expect([a.status, b.status].sort()).toEqual([201, 409]);
      const loser = a.status === 409 ? a : b;
      expect(loser.body.error).toMatchObject({ code: 'OUT_OF_STOCK', skus: [{ sku: 'CO-LAST', requested: 1, available: 0 }] });
      expect(await inventory('CO-LAST')).toEqual({ sku: 'CO-LAST', onHand: 1, available: 0, held: 0, sold: 1 });
    });

    it.each([
      ['pm_card_chargeDeclined', 'generic_decline'],
      ['pm_card_chargeDeclinedInsufficientFunds', 'insufficient_funds'],
    ])('answers 402 PAYMENT_DECLINED for %s and releases the hold', async (paymentMethod, declineCode) => {
      const sku = `CO-DECL-${declineCode}`;
      await stock(t, sku, 3);
      const r = await checkout(`decl-${declineCode}`, buyNow(sku, 2, { paymentMethod }));
      expect(r.status).toBe(402);
      expect(r.body.error).toMatchObject({ code: 'PAYMENT_DECLINED', declineCode });
      expect(await inventory(sku)).toEqual({ sku, onHand: 3, available: 3, held: 0, sold: 0 });
    });

    it('answers 502 PAYMENT_PROVIDER_ERROR when the provider refuses the request, releases the hold and lets the key run again', async () => {
      await stock(t, 'CO-PERR', 3);
      const body = buyNow('CO-PERR', 1, { paymentMethod: 'pm_card_unknownToTheProvider' });
      const r = await checkout('co-perr-1', body);
      expect(r.status).toBe(502);
      expect(r.body.error).toMatchObject({ code: 'PAYMENT_PROVIDER_ERROR', retryable: false });
      expect(await inventory('CO-PERR')).toEqual({ sku: 'CO-PERR', onHand: 3, available: 3, held: 0, sold: 0 });
      // Nothing was charged, so nothing is stored for the key: a retry runs again rather than replaying.
      const again = await checkout('co-perr-1', body);
      expect(again.status).toBe(502);
      expect(again.headers.get('idempotent-replayed')).toBeNull();
    });

    it('answers 202 pending when the payment outcome stays unknown, keeping the hold', async () => {
      await stock(t, 'CO-PEND', 4);
      const authorizationsBefore = payments.provider.authorizations();
      const r = await checkout('co-pend-1', buyNow('CO-PEND', 2, { paymentMethod: timeoutCard }));
      expect(r.status).toBe(202);
      expect(r.body).toEqual({ orderId: expect.stringMatching(/^ord_/), status: 'pending' });
      // Every retry carried the same key: the provider authorized once.
      expect(payments.provider.authorizations()).toBe(authorizationsBefore + 1);
      expect(await inventory('CO-PEND')).toEqual({ sku: 'CO-PEND', onHand: 4, available: 2, held: 2, sold: 0 });
      const order = await t.call('GET', `/api/orders/${r.body.orderId}`);
      expect(order.body).toMatchObject({ orderId: r.body.orderId, status: 'pending', payment: { status: 'pending' } });
      const replay = await checkout('co-pend-1', buyNow('CO-PEND', 2, { paymentMethod: timeoutCard }));
      expect(replay.status).toBe(202);
      expect(replay.body).toEqual(r.body);
      expect(replay.headers.get('idempotent-replayed')).toBe('true');
    });

    it('refuses buy-now lines in two currencies with 422 CURRENCY_MISMATCH, holding nothing', async () => {
      await stock(t, 'CO-USD', 5);
      await stock(t, 'CO-EUR', 5, 1_000, 'EUR');
      const body = { items: [{ sku: 'CO-USD', qty: 1 }, { sku: 'CO-EUR', qty: 1 }], paymentMethod: 'pm_card_visa', address: testAddress };
      const r = await checkout('co-mixed-1', body);
      expect(r.status).toBe(422);
      expect(r.body.error).toMatchObject({ code: 'CURRENCY_MISMATCH', cartCurrency: 'USD', productCurrency: 'EUR' });
      expect(await inventory('CO-USD')).toMatchObject({ available: 5, held: 0 });
      expect(await inventory('CO-EUR')).toMatchObject({ available: 5, held: 0 });
    });

    it('answers 404 PRODUCT_NOT_FOUND for an unknown SKU', async () => {
      const r = await checkout('co-nosku-1', buyNow('CO-NO-SUCH', 1));
      expect(r.status).toBe(404);
      expect(r.body.error).toMatchObject({ code: 'PRODUCT_NOT_FOUND', sku: 'CO-NO-SUCH' });
    });

    it('answers 422 SHIPPING_DESTINATION_UNSUPPORTED for a parcel no band takes, holding nothing', async () => {
      await t.admin('PUT', '/api/products/CO-PIANO', { name: 'Piano', priceMinor: 90_000, currency: 'USD', weightGrams: 31_000 });
      await t.admin('PUT', '/api/inventory/CO-PIANO', { onHand: 1 });
      const r = await checkout('co-piano-1', buyNow('CO-PIANO', 1));
      expect(r.status).toBe(422);
      expect(r.body.error).toMatchObject({ code: 'SHIPPING_DESTINATION_UNSUPPORTED', country: 'US', reason: 'weight' });
      expect(await inventory('CO-PIANO')).toMatchObject({ available: 1, held: 0 });
    });
  });

  describe('idempotency', () => {
    it('replays a finished checkout with Idempotent-Replayed: true and the identical body, charging once', async () => {
      await stock(t, 'CO-REPLAY', 5);
      const first = await checkout('co-replay-1', buyNow('CO-REPLAY', 1));
      expect(first.status).toBe(201);
      const authorizations = payments.provider.authorizations();
      const replay = await checkout('co-replay-1', buyNow('CO-REPLAY', 1));
      expect(replay.status).toBe(201);
      expect(replay.headers.get('idempotent-replayed')).toBe('true');
      expect(replay.body).toEqual(first.body);
      expect(payments.provider.authorizations()).toBe(authorizations);
      expect(await inventory('CO-REPLAY')).toMatchObject({ available: 4, sold: 1 });
    });

    it('treats the same request with its keys in another order, or a default spelled out, as a replay', async () => {
      await stock(t, 'CO-REORDER', 5);
      const first = await checkout('co-reorder-1', { items: [{ sku: 'CO-REORDER', qty: 1 }], paymentMethod: 'pm_card_visa', address: testAddress });
      expect(first.status).toBe(201);
      const reordered = {
        shippingMethod: 'standard',
        address: Object.fromEntries(Object.entries(testAddress).reverse()),
        paymentMethod: 'pm_card_visa',
        items: [{ qty: 1, sku: 'CO-REORDER' }],
      };
      const replay = await checkout('co-reorder-1', reordered);
      expect(replay.status).toBe(201);
      expect(replay.headers.get('idempotent-replayed')).toBe('true');
      expect(replay.body).toEqual(first.body);
      const other = await checkout('co-reorder-1', { ...reordered, shippingMethod: 'express' });
      expect(other.status).toBe(422);
      expect(other.body.error.code).toBe('IDEMPOTENCY_KEY_REUSED');
    });

    it('replays a declined checkout too', async () => {
      await stock(t, 'CO-REPLAY-DECL', 5);
      const body = buyNow('CO-REPLAY-DECL', 1, { paymentMethod: 'pm_card_chargeDeclined' });
      const first = await checkout('co-replay-decl', body);
      const replay = await checkout('co-replay-decl', body);
      expect(replay.status).toBe(402);
      expect(replay.headers.get('idempotent-replayed')).toBe('true');
      expect(replay.body).toEqual(first.body);
    });

    it('refuses the same key with another body with 422 IDEMPOTENCY_KEY_REUSED and changes nothing', async () => {
      await stock(t, 'CO-REUSE', 5);
      expect((await checkout('co-reuse-1', buyNow('CO-REUSE', 1))).status).toBe(201);
      const r = await checkout('co-reuse-1', buyNow('CO-REUSE', 2));
      expect(r.status).toBe(422);
      expect(r.body.error.code).toBe('IDEMPOTENCY_KEY_REUSED');
      expect(await inventory('CO-REUSE')).toMatchObject({ available: 4, held: 0, sold: 1 });
    });

    it('refuses the same key while the first request runs with 409 IDEMPOTENCY_KEY_IN_USE', async () => {
      await stock(t, 'CO-INUSE', 5);
      const held = payments.holdNextAuthorize('co-inuse-1');
      const first = checkout('co-inuse-1', buyNow('CO-INUSE', 1));
      await held.reached;
      const [same, other] = await Promise.all([checkout('co-inuse-1', buyNow('CO-INUSE', 1)), checkout('co-inuse-1', buyNow('CO-INUSE', 3))]);
      expect(same.status).toBe(409);
      expect(same.body.error.code).toBe('IDEMPOTENCY_KEY_IN_USE');
      expect(other.status).toBe(422);
      expect(other.body.error.code).toBe('IDEMPOTENCY_KEY_REUSED');
      expect(await inventory('CO-INUSE')).toMatchObject({ available: 4, held: 1, sold: 0 });
      held.release();
      const done = await first;
      expect(done.status).toBe(201);
      expect(await inventory('CO-INUSE')).toMatchObject({ available: 4, held: 0, sold: 1 });
      const replay = await checkout('co-inuse-1', buyNow('CO-INUSE', 1));
      expect(replay.headers.get('idempotent-replayed')).toBe('true');
      expect(replay.body).toEqual(done.body);
    });

    it.each([
      ['a missing key', undefined, 'IDEMPOTENCY_KEY_MISSING'],
      ['an empty key', '', 'IDEMPOTENCY_KEY_MISSING'],
      ['a key one character over the limit', 'k'.repeat(limits.idempotencyKeyLengthMax + 1), 'IDEMPOTENCY_KEY_INVALID'],
      ['a key with a control character', 'key\twith-tab', 'IDEMPOTENCY_KEY_INVALID'],
    ])('refuses %s with 400 and sells nothing', async (_label, key, code) => {
      await stock(t, 'CO-KEY', 5);
      const headers: Record<string, string> = key === undefined ? {} : { 'idempotency-key': key };
      const r = await t.call('POST', '/api/checkout', buyNow('CO-KEY', 1), headers);
      expect(r.status).toBe(400);
      expect(r.body.error.code).toBe(code);
      expect(await inventory('CO-KEY')).toEqual({ sku: 'CO-KEY', onHand: 5, available: 5, held: 0, sold: 0 });
    });

    it('accepts a key of exactly the maximum length', async () => {
      await stock(t, 'CO-LONGKEY', 1);
      const r = await checkout('k'.repeat(limits.idempotencyKeyLengthMax), buyNow('CO-LONGKEY', 1));
      expect(r.status).toBe(201);
      expect(r.headers.get('idempotency-key')).toBe('k'.repeat(limits.idempotencyKeyLengthMax));
    });
  });

  describe('promotions at checkout', () => {
    it('applies a promo code and charges the discounted total', async () => {
      await stock(t, 'CO-PROMO', 10);
      const r = await checkout('co-promo-1', buyNow('CO-PROMO', 2, { promoCode: 'TENOFF' }));
      expect(r.status).toBe(201);
      // 5000 − 500 = 4500; shipping 799 (600 g, below the free threshold after the discount); NY tax 4 % of 4500.
      expect(r.body.totals).toEqual({ currency: 'USD', subtotalMinor: 5_000, discountMinor: 500, shippingMinor: 799, taxMinor: 180, totalMinor: 5_479 });
    });

    it.each([
      ['a code that has not started', 'FUTURE', 'PROMO_NOT_ACTIVE'],
      ['a code whose minimum the order misses', 'BIGSPEND', 'PROMO_MIN_SUBTOTAL_NOT_MET'],
      ['a code in another currency', 'EUROS', 'PROMO_CURRENCY_MISMATCH'],
    ])('refuses %s with 422 and sells nothing', async (_label, promoCode, code) => {
      const sku = `CO-PROMO-${promoCode}`;
      await stock(t, sku, 10);
      const r = await checkout(`co-promo-${promoCode}`, buyNow(sku, 1, { promoCode }));
      expect(r.status).toBe(422);
      expect(r.body.error.code).toBe(code);
      expect(await inventory(sku)).toEqual({ sku, onHand: 10, available: 10, held: 0, sold: 0 });
    });

    it('answers 404 PROMO_NOT_FOUND for an unknown code and sells nothing', async () => {
      await stock(t, 'CO-PROMO-404', 10);
      const r = await checkout('co-promo-404', buyNow('CO-PROMO-404', 1, { promoCode: 'NOSUCH' }));
      expect(r.status).toBe(404);
      expect(r.body.error).toMatchObject({ code: 'PROMO_NOT_FOUND', promoCode: 'NOSUCH' });
      expect(await inventory('CO-PROMO-404')).toMatchObject({ available: 10, held: 0, sold: 0 });
    });

    it('counts a per-customer limit of one: the second checkout of the same customer gets 422 PROMO_USAGE_LIMIT_REACHED', async () => {
      await stock(t, 'CO-ONEEACH', 10);
      const alice = (key: string) => checkout(key, buyNow('CO-ONEEACH', 1, { promoCode: 'ONEEACH', customerId: 'alice' }));
      expect((await alice('co-oneeach-1')).status).toBe(201);
      const second = await alice('co-oneeach-2');
      expect(second.status).toBe(422);
      expect(second.body.error).toMatchObject({ code: 'PROMO_USAGE_LIMIT_REACHED', limit: 'per_customer' });
      expect(await inventory('CO-ONEEACH')).toMatchObject({ available: 9, held: 0, sold: 1 });
      const bob = await checkout('co-oneeach-3', buyNow('CO-ONEEACH', 1, { promoCode: 'ONEEACH', customerId: 'bob' }));
      expect(bob.status).toBe(201);
    });

    it('counts a total limit across customers', async () => {
      await stock(t, 'CO-ONLYONE', 10);
      expect((await checkout('co-onlyone-1', buyNow('CO-ONLYONE', 1, { promoCode: 'ONLYONE', customerId: 'carol' }))).status).toBe(201);
      const r = await checkout('co-onlyone-2', buyNow('CO-ONLYONE', 1, { promoCode: 'ONLYONE', customerId: 'dave' }));
      expect(r.status).toBe(422);
      expect(r.body.error).toMatchObject({ code: 'PROMO_USAGE_LIMIT_REACHED', limit: 'total' });
    });

    it('gives the use back when the payment is declined', async () => {
      await stock(t, 'CO-GIVEBACK', 10);
      const declined = await checkout('co-giveback-1', buyNow('CO-GIVEBACK', 1, { promoCode: 'ONEEACH', customerId: 'erin', paymentMethod: 'pm_card_chargeDeclined' }));
      expect(declined.status).toBe(402);
      const paid = await checkout('co-giveback-2', buyNow('CO-GIVEBACK', 1, { promoCode: 'ONEEACH', customerId: 'erin' }));
      expect(paid.status).toBe(201);
      expect(paid.body.totals.discountMinor).toBe(500);
    });
  });

  // Last: moving the clock past the hold TTL expires every active hold on this node.
  describe('hold expiry', () => {
    it('answers 409 HOLD_EXPIRED and voids the payment when the hold expired while the payment ran', async () => {
      await stock(t, 'CO-SLOW', 3);
      const voids = payments.provider.voids();
      const held = payments.holdNextAuthorize('co-slow-1');
      const pending = checkout('co-slow-1', buyNow('CO-SLOW', 2));
      await held.reached;
      expect(await inventory('CO-SLOW')).toMatchObject({ available: 1, held: 2 });
      clock.advance(t.config.holdTtlMs);
      held.release();
      const r = await pending;
      expect(r.status).toBe(409);
      expect(r.body.error).toMatchObject({ code: 'HOLD_EXPIRED', skus: ['CO-SLOW'] });
      expect(payments.provider.voids()).toBe(voids + 1);
      expect(await inventory('CO-SLOW')).toEqual({ sku: 'CO-SLOW', onHand: 3, available: 3, held: 0, sold: 0 });
    });
  });
});
