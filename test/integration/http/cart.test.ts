import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimulatedClock } from '../../../src/clock.js';
import { limits } from '../../../src/config/limits.js';
import { startTestNode, stock, testAddress, type TestNode } from '../../support/node-harness.js';

/**
 * Cart routes over a real socket. The node runs on a simulated clock, so cart expiry is reached by moving the clock,
 * not by waiting; promotion windows are absolute instants far from the clock's 2023 start.
 */
describe('cart routes', () => {
  let t: TestNode;
  const clock = new SimulatedClock();
  beforeAll(async () => {
    t = await startTestNode({ node: { clock } });
    await stock(t, 'CART-A', 100);
    await stock(t, 'CART-B', 100, 1_000);
    await stock(t, 'CART-EUR', 100, 1_000, 'EUR');
    const promos = [
      { code: 'TENOFF', kind: 'percentage', percentBps: 1_000 },
      { code: 'FUTURE', kind: 'percentage', percentBps: 1_000, startsAt: '2099-01-01T00:00:00Z' },
      { code: 'EXPIRED', kind: 'percentage', percentBps: 1_000, endsAt: '2020-01-01T00:00:00Z' },
      { code: 'BIGSPEND', kind: 'percentage', percentBps: 1_000, minSubtotalMinor: 4_000 },
      { code: 'EUROS', kind: 'fixed', amountMinor: 500, currency: 'EUR' },
    ];
    for (const p of promos) expect((await t.admin('POST', '/api/promotions', p)).status).toBe(201);
  });
  afterAll(async () => {
    await t.stop();
  });

  async function newCart(sku = 'CART-A', qty = 1): Promise<string> {
    const r = await t.call('POST', '/api/cart/items', { sku, qty });
    expect(r.status).toBe(201);
    return r.body.cartId as string;
  }
  const getCart = async (cartId: string) => (await t.call('GET', `/api/carts/${cartId}`)).body;

  describe('adding, changing and reading', () => {
    it('creates a cart with 201 when the first item is added without a cartId', async () => {
      const r = await t.call('POST', '/api/cart/items', { sku: 'CART-A', qty: 2 });
      expect(r.status).toBe(201);
      expect(r.body).toMatchObject({
        cartId: expect.stringMatching(/^cart_[A-Za-z0-9_-]{20,}$/),
        status: 'open',
        currency: 'USD',
        promoCode: null,
        lines: [{ sku: 'CART-A', name: 'Product CART-A', qty: 2, unitPriceMinor: 2_500, subtotalMinor: 5_000, discountMinor: 0 }],
        totals: { currency: 'USD', subtotalMinor: 5_000, discountMinor: 0, totalMinor: 5_000 },
      });
      expect(Date.parse(r.body.expiresAt)).toBe(clock.now() + t.config.cartIdleTtlMs);
    });

    it('adds to an existing cart with 200 and sums the quantities of one SKU', async () => {
      const cartId = await newCart('CART-A', 1);
      expect((await t.call('POST', '/api/cart/items', { cartId, sku: 'CART-B', qty: 3 })).status).toBe(200);
      const r = await t.call('POST', '/api/cart/items', { cartId, sku: 'CART-A', qty: 2 });
      expect(r.status).toBe(200);
      expect(r.body.lines.map((l: { sku: string; qty: number }) => [l.sku, l.qty])).toEqual([['CART-A', 3], ['CART-B', 3]]);
      expect(r.body.totals.subtotalMinor).toBe(3 * 2_500 + 3 * 1_000);
    });

    it('sets a quantity outright with PATCH', async () => {
      const cartId = await newCart('CART-A', 5);
      const r = await t.call('PATCH', '/api/cart/items', { cartId, sku: 'CART-A', qty: 2 });
      expect(r.status).toBe(200);
      expect(r.body.lines).toMatchObject([{ sku: 'CART-A', qty: 2 }]);
    });

    it('removes a line with PATCH qty 0 and forgets the currency of an emptied cart', async () => {
      const cartId = await newCart('CART-A', 1);
      const r = await t.call('PATCH', '/api/cart/items', { cartId, sku: 'CART-A', qty: 0 });
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ lines: [], currency: null, totals: { subtotalMinor: 0, totalMinor: 0 } });
      // An empty cart takes any currency again.
      expect((await t.call('POST', '/api/cart/items', { cartId, sku: 'CART-EUR', qty: 1 })).body.currency).toBe('EUR');
    });

    it('reads a cart with GET', async () => {
      const cartId = await newCart('CART-B', 4);
      const r = await t.call('GET', `/api/carts/${cartId}`);
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ cartId, lines: [{ sku: 'CART-B', qty: 4 }], totals: { subtotalMinor: 4_000 } });
    });
  });

  describe('refusals that leave the cart as it was', () => {
    it.each([
      ['GET an unknown cart', 'GET', '/api/carts/cart_unknown', undefined],
      ['GET a cart id over the id limit', 'GET', `/api/carts/${'c'.repeat(limits.idLengthMax + 1)}`, undefined],
      ['add to an unknown cart', 'POST', '/api/cart/items', { cartId: 'cart_unknown', sku: 'CART-A', qty: 1 }],
      ['change an unknown cart', 'PATCH', '/api/cart/items', { cartId: 'cart_unknown', sku: 'CART-A', qty: 1 }],
      ['apply a promo to an unknown cart', 'POST', '/api/carts/cart_unknown/promo', { code: 'TENOFF' }],
    ])('answers 404 CART_NOT_FOUND to %s', async (_label, method, path, body) => {
      const r = await t.call(method, path, body);
      expect(r.status).toBe(404);
      expect(r.body.error.code).toBe('CART_NOT_FOUND');
    });

    it('answers 404 PRODUCT_NOT_FOUND for an unknown SKU and keeps the cart', async () => {
      const cartId = await newCart();
      const before = await getCart(cartId);
      const r = await t.call('POST', '/api/cart/items', { cartId, sku: 'NO-SUCH-SKU', qty: 1 });
      expect(r.status).toBe(404);
      expect(r.body.error).toMatchObject({ code: 'PRODUCT_NOT_FOUND', sku: 'NO-SUCH-SKU' });
      expect(await getCart(cartId)).toEqual(before);
    });

    it('refuses a second currency with 422 CURRENCY_MISMATCH', async () => {
      const cartId = await newCart('CART-A', 1);
      const before = await getCart(cartId);
      const r = await t.call('POST', '/api/cart/items', { cartId, sku: 'CART-EUR', qty: 1 });
      expect(r.status).toBe(422);
      expect(r.body.error).toMatchObject({ code: 'CURRENCY_MISMATCH', cartCurrency: 'USD', productCurrency: 'EUR' });
      expect(await getCart(cartId)).toEqual(before);
    });

    it('refuses a line past the lines limit with 422 CART_LINES_LIMIT_EXCEEDED', async () => {
      const skus = Array.from({ length: limits.cartLinesMax + 1 }, (_, i) => `LINE-${i}`);
      await Promise.all(skus.map((sku) => t.admin('PUT', `/api/products/${sku}`, { name: sku, priceMinor: 100, currency: 'USD', weightGrams: 1 })));
      const cartId = await newCart(skus[0]);
      for (const sku of skus.slice(1, limits.cartLinesMax)) expect((await t.call('POST', '/api/cart/items', { cartId, sku, qty: 1 })).status).toBe(200);
      const before = await getCart(cartId);
      expect(before.lines).toHaveLength(limits.cartLinesMax);
      const r = await t.call('POST', '/api/cart/items', { cartId, sku: skus[limits.cartLinesMax], qty: 1 });
      expect(r.status).toBe(422);
      expect(r.body.error).toMatchObject({ code: 'CART_LINES_LIMIT_EXCEEDED', max: limits.cartLinesMax });
      expect(await getCart(cartId)).toEqual(before);
      // More of a SKU already in the cart is not a new line.
      expect((await t.call('POST', '/api/cart/items', { cartId, sku: skus[0], qty: 1 })).status).toBe(200);
    });

    it.each([
      ['adding above the line limit', 'POST', limits.lineQtyMax + 1],
      ['adding that takes the line above the limit', 'POST', limits.lineQtyMax],
      ['setting above the line limit', 'PATCH', limits.lineQtyMax + 1],
    ])('refuses %s with 422 QUANTITY_LIMIT_EXCEEDED', async (_label, method, qty) => {
      const cartId = await newCart('CART-A', 1);
      const before = await getCart(cartId);
      const r = await t.call(method, '/api/cart/items', { cartId, sku: 'CART-A', qty });
      expect(r.status).toBe(422);
      expect(r.body.error).toMatchObject({ code: 'QUANTITY_LIMIT_EXCEEDED', sku: 'CART-A', max: limits.lineQtyMax });
      expect(await getCart(cartId)).toEqual(before);
    });
  });

  describe('promo codes', () => {
    it('applies a code and shows its discount on the lines and totals', async () => {
      const cartId = await newCart('CART-A', 2);
      const r = await t.call('POST', `/api/carts/${cartId}/promo`, { code: 'TENOFF' });
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({
        promoCode: 'TENOFF',
        lines: [{ sku: 'CART-A', subtotalMinor: 5_000, discountMinor: 500 }],
        totals: { subtotalMinor: 5_000, discountMinor: 500, totalMinor: 4_500 },
      });
    });

    it.each([
      ['an unknown code', 'NOSUCHCODE', 404, 'PROMO_NOT_FOUND', {}],
      ['a code that has not started', 'FUTURE', 422, 'PROMO_NOT_ACTIVE', { startsAtMs: Date.UTC(2099, 0, 1) }],
      ['a code that has ended', 'EXPIRED', 422, 'PROMO_NOT_ACTIVE', { endsAtMs: Date.UTC(2020, 0, 1) }],
      ['a code whose minimum the cart misses', 'BIGSPEND', 422, 'PROMO_MIN_SUBTOTAL_NOT_MET', { minSubtotalMinor: 4_000 }],
      ['a code in another currency', 'EUROS', 422, 'PROMO_CURRENCY_MISMATCH', { promoCurrency: 'EUR', cartCurrency: 'USD' }],
    ])('refuses %s and leaves the cart without it', async (_label, code, status, errorCode, details) => {
      const cartId = await newCart('CART-A', 1);
      const before = await getCart(cartId);
      const r = await t.call('POST', `/api/carts/${cartId}/promo`, { code });
      expect(r.status).toBe(status);
      expect(r.body.error).toMatchObject({ code: errorCode, promoCode: code, ...details });
      expect(await getCart(cartId)).toEqual(before);
    });

    it('shows the cart without a code that stopped applying, naming why', async () => {
      const cartId = await newCart('CART-A', 2);
      expect((await t.call('POST', `/api/carts/${cartId}/promo`, { code: 'BIGSPEND' })).status).toBe(200);
      const r = await t.call('PATCH', '/api/cart/items', { cartId, sku: 'CART-A', qty: 1 });
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ promoCode: 'BIGSPEND', promoError: 'PROMO_MIN_SUBTOTAL_NOT_MET', totals: { discountMinor: 0, totalMinor: 2_500 } });
    });
  });

  describe('checking a cart out', () => {
    it('charges the priced cart with its promo and then refuses every change with 409 CART_CHECKED_OUT', async () => {
      const cartId = await newCart('CART-A', 2);
      await t.call('POST', `/api/carts/${cartId}/promo`, { code: 'TENOFF' });
      const body = { cartId, paymentMethod: 'pm_card_visa', address: testAddress };
      const r = await t.call('POST', '/api/checkout', body, { 'idempotency-key': 'cart-checkout-1' });
      expect(r.status).toBe(201);
      // 5000 − 10 % = 4500; standard shipping to the US for 600 g is 799 (below the 5000 free threshold); NY tax 4 %.
      expect(r.body.totals).toEqual({ currency: 'USD', subtotalMinor: 5_000, discountMinor: 500, shippingMinor: 799, taxMinor: 180, totalMinor: 5_479 });
      expect((await getCart(cartId)).status).toBe('checked_out');
      const inventory = (await t.call('GET', '/api/inventory/CART-A')).body;

      const refusals = await Promise.all([
        t.call('POST', '/api/cart/items', { cartId, sku: 'CART-A', qty: 1 }),
        t.call('PATCH', '/api/cart/items', { cartId, sku: 'CART-A', qty: 0 }),
        t.call('POST', `/api/carts/${cartId}/promo`, { code: 'TENOFF' }),
        t.call('POST', '/api/checkout', body, { 'idempotency-key': 'cart-checkout-2' }),
      ]);
      for (const x of refusals) {
        expect(x.status).toBe(409);
        expect(x.body.error.code).toBe('CART_CHECKED_OUT');
      }
      expect((await t.call('GET', '/api/inventory/CART-A')).body).toEqual(inventory);
      expect((await getCart(cartId)).lines).toMatchObject([{ sku: 'CART-A', qty: 2 }]);
    });

    it('refuses to check out an emptied cart with 422 CART_EMPTY', async () => {
      const cartId = await newCart('CART-A', 1);
      await t.call('PATCH', '/api/cart/items', { cartId, sku: 'CART-A', qty: 0 });
      const r = await t.call('POST', '/api/checkout', { cartId, paymentMethod: 'pm_card_visa', address: testAddress }, { 'idempotency-key': 'cart-empty-1' });
      expect(r.status).toBe(422);
      expect(r.body.error).toMatchObject({ code: 'CART_EMPTY', cartId });
    });

    it('refuses to check out an unknown cart with 404 CART_NOT_FOUND', async () => {
      const r = await t.call('POST', '/api/checkout', { cartId: 'cart_unknown', paymentMethod: 'pm_card_visa', address: testAddress }, { 'idempotency-key': 'cart-unknown-1' });
      expect(r.status).toBe(404);
      expect(r.body.error.code).toBe('CART_NOT_FOUND');
    });
  });

  describe('expiry', () => {
    it('answers 410 CART_EXPIRED once a cart was idle for the idle TTL, and sells nothing from it', async () => {
      const cartId = await newCart('CART-B', 1);
      const inventory = (await t.call('GET', '/api/inventory/CART-B')).body;
      clock.advance(t.config.cartIdleTtlMs);
      const refusals = await Promise.all([
        t.call('GET', `/api/carts/${cartId}`),
        t.call('POST', '/api/cart/items', { cartId, sku: 'CART-B', qty: 1 }),
        t.call('PATCH', '/api/cart/items', { cartId, sku: 'CART-B', qty: 2 }),
        t.call('POST', `/api/carts/${cartId}/promo`, { code: 'TENOFF' }),
        t.call('POST', '/api/checkout', { cartId, paymentMethod: 'pm_card_visa', address: testAddress }, { 'idempotency-key': 'cart-expired-1' }),
      ]);
      for (const x of refusals) {
        expect(x.status).toBe(410);
        expect(x.body.error.code).toBe('CART_EXPIRED');
      }
      expect((await t.call('GET', '/api/inventory/CART-B')).body).toEqual(inventory);
    });
  });
});
