import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestNode, stock, testAddress, testAdminToken, type TestNode } from '../../support/node-harness.js';

/** Admin authentication, products, inventory, promotions and the operational routes, over a real socket. */
describe('catalog and admin routes', () => {
  let t: TestNode;
  beforeAll(async () => {
    t = await startTestNode();
  });
  afterAll(async () => {
    await t.stop();
  });

  const product = { name: 'Concert ticket', priceMinor: 4_200, currency: 'USD', weightGrams: 10 };
  const buyNow = (sku: string, qty: number) => ({ items: [{ sku, qty }], paymentMethod: 'pm_card_visa', address: testAddress });

  describe('admin authentication', () => {
    const adminRoutes: [string, string, unknown][] = [
      ['PUT', '/api/products/AUTH-1', product],
      ['PUT', '/api/inventory/AUTH-1', { onHand: 5 }],
      ['POST', '/api/promotions', { code: 'AUTH10', kind: 'percentage', percentBps: 1_000 }],
      ['POST', '/api/orders/ord_missing/ship', undefined],
      ['POST', '/api/orders/ord_missing/cancel', undefined],
    ];

    it.each(adminRoutes)('refuses %s %s without a token with 401 UNAUTHORIZED', async (method, path, body) => {
      const r = await t.call(method, path, body);
      expect(r.status).toBe(401);
      expect(r.body.error.code).toBe('UNAUTHORIZED');
      expect(r.headers.get('www-authenticate')).toBe('Bearer');
    });

    it.each(adminRoutes)('refuses %s %s with a wrong token with 403 FORBIDDEN', async (method, path, body) => {
      const r = await t.call(method, path, body, { authorization: `Bearer ${testAdminToken}x` });
      expect(r.status).toBe(403);
      expect(r.body.error.code).toBe('FORBIDDEN');
    });

    it.each([
      ['a Basic scheme', `Basic ${Buffer.from(`admin:${testAdminToken}`).toString('base64')}`],
      ['a bare token', testAdminToken],
      ['an empty bearer', 'Bearer '],
    ])('treats %s as no token (401)', async (_label, authorization) => {
      const r = await t.call('PUT', '/api/products/AUTH-1', product, { authorization });
      expect(r.status).toBe(401);
      expect(r.body.error.code).toBe('UNAUTHORIZED');
    });

    it('changes nothing when the token is missing or wrong', async () => {
      const r = await t.call('GET', '/api/products/AUTH-1');
      expect(r.status).toBe(404);
      const promo = await t.admin('POST', '/api/promotions', { code: 'AUTH10', kind: 'percentage', percentBps: 1_000 });
      expect(promo.status).toBe(201);
    });
  });

  describe('products', () => {
    it('creates a product with PUT and returns it with the default tax category', async () => {
      const r = await t.admin('PUT', '/api/products/PROD-1', product);
      expect(r.status).toBe(200);
      expect(r.body).toEqual({ sku: 'PROD-1', ...product, taxCategory: 'standard' });
      const g = await t.call('GET', '/api/products/PROD-1');
      expect(g.status).toBe(200);
      expect(g.body).toEqual(r.body);
    });

    it('replaces a product on a second PUT', async () => {
      await t.admin('PUT', '/api/products/PROD-2', product);
      const r = await t.admin('PUT', '/api/products/PROD-2', { ...product, priceMinor: 5_000, taxCategory: 'reduced' });
      expect(r.status).toBe(200);
      expect((await t.call('GET', '/api/products/PROD-2')).body).toMatchObject({ priceMinor: 5_000, taxCategory: 'reduced' });
    });

    it('answers 404 PRODUCT_NOT_FOUND for an unknown SKU', async () => {
      const r = await t.call('GET', '/api/products/NOPE-1');
      expect(r.status).toBe(404);
      expect(r.body.error).toMatchObject({ code: 'PRODUCT_NOT_FOUND', sku: 'NOPE-1' });
    });

    it('refuses a SKU outside the pattern with 400 VALIDATION_FAILED', async () => {
      const r = await t.admin('PUT', `/api/products/${'S'.repeat(65)}`, product);
      expect(r.status).toBe(400);
      expect(r.body.error).toMatchObject({ code: 'VALIDATION_FAILED', field: 'sku' });
    });
  });

  describe('inventory', () => {
    it('reports zero stock for a product never stocked', async () => {
      await t.admin('PUT', '/api/products/INV-0', product);
      const r = await t.call('GET', '/api/inventory/INV-0');
      expect(r.status).toBe(200);
      expect(r.body).toEqual({ sku: 'INV-0', onHand: 0, available: 0, held: 0, sold: 0 });
    });

    it('sets on-hand stock with PUT and reads it back with GET', async () => {
      await t.admin('PUT', '/api/products/INV-1', product);
      const put = await t.admin('PUT', '/api/inventory/INV-1', { onHand: 7 });
      expect(put.status).toBe(200);
      expect(put.body).toEqual({ sku: 'INV-1', onHand: 7, available: 7, held: 0, sold: 0 });
      expect((await t.call('GET', '/api/inventory/INV-1')).body).toEqual(put.body);
    });

    it('answers 404 PRODUCT_NOT_FOUND for stock of an unknown product', async () => {
      const put = await t.admin('PUT', '/api/inventory/NOPE-2', { onHand: 1 });
      expect(put.status).toBe(404);
      expect(put.body.error.code).toBe('PRODUCT_NOT_FOUND');
      const get = await t.call('GET', '/api/inventory/NOPE-2');
      expect(get.status).toBe(404);
      expect(get.body.error.code).toBe('PRODUCT_NOT_FOUND');
    });

    it('refuses on-hand below what is held and sold with 409 ON_HAND_BELOW_COMMITTED and keeps the stock', async () => {
      await stock(t, 'INV-2', 5);
      const sale = await t.call('POST', '/api/checkout', buyNow('INV-2', 3), { 'idempotency-key': 'inv-2-sale' });
      expect(sale.status).toBe(201);
      const r = await t.admin('PUT', '/api/inventory/INV-2', { onHand: 2 });
      expect(r.status).toBe(409);
      expect(r.body.error).toMatchObject({ code: 'ON_HAND_BELOW_COMMITTED', held: 0, sold: 3, minimum: 3 });
      expect((await t.call('GET', '/api/inventory/INV-2')).body).toEqual({ sku: 'INV-2', onHand: 5, available: 2, held: 0, sold: 3 });
      const exact = await t.admin('PUT', '/api/inventory/INV-2', { onHand: 3 });
      expect(exact.body).toEqual({ sku: 'INV-2', onHand: 3, available: 0, held: 0, sold: 3 });
    });
  });

  describe('promotions', () => {
    it('creates a percentage promotion with 201 and echoes it', async () => {
      const r = await t.admin('POST', '/api/promotions', { code: 'SPRING15', kind: 'percentage', percentBps: 1_500, usageLimitTotal: 100 });
      expect(r.status).toBe(201);
      expect(r.body).toMatchObject({
        code: 'SPRING15', kind: 'percentage', percentBps: 1_500, amountMinor: null, currency: null, minSubtotalMinor: 0,
        startsAt: null, endsAt: null, usageLimitTotal: 100, usageLimitPerCustomer: null,
      });
    });

    it('creates a fixed promotion with a validity window and answers its instants in ISO form', async () => {
      const r = await t.admin('POST', '/api/promotions', {
        code: 'FIVE-OFF', kind: 'fixed', amountMinor: 500, currency: 'USD', minSubtotalMinor: 2_000,
        startsAt: '2020-01-01T00:00:00Z', endsAt: '2099-01-01T00:00:00+00:00',
      });
      expect(r.status).toBe(201);
      expect(r.body).toMatchObject({ startsAt: '2020-01-01T00:00:00.000Z', endsAt: '2099-01-01T00:00:00.000Z', startsAtMs: Date.UTC(2020, 0, 1) });
    });

    it('refuses a taken code with 409 PROMOTION_EXISTS', async () => {
      const first = await t.admin('POST', '/api/promotions', { code: 'ONCE', kind: 'free_shipping' });
      expect(first.status).toBe(201);
      const again = await t.admin('POST', '/api/promotions', { code: 'ONCE', kind: 'percentage', percentBps: 9_000 });
      expect(again.status).toBe(409);
      expect(again.body.error).toMatchObject({ code: 'PROMOTION_EXISTS', promoCode: 'ONCE' });
    });

    it.each([
      ['a percentage without percentBps', { code: 'BAD1', kind: 'percentage' }],
      ['percentBps above 100 %', { code: 'BAD2', kind: 'percentage', percentBps: 10_001 }],
      ['a fixed amount without a currency', { code: 'BAD3', kind: 'fixed', amountMinor: 100 }],
      ['an amount on a percentage', { code: 'BAD4', kind: 'percentage', percentBps: 100, amountMinor: 5 }],
      ['an end before the start', { code: 'BAD5', kind: 'free_shipping', startsAt: '2030-01-02T00:00:00Z', endsAt: '2030-01-01T00:00:00Z' }],
      ['a lower-case code', { code: 'bad6', kind: 'free_shipping' }],
      ['an unknown kind', { code: 'BAD7', kind: 'bogo' }],
      ['a date without an offset', { code: 'BAD8', kind: 'free_shipping', startsAt: '2030-01-01 00:00' }],
      ['a zero usage limit', { code: 'BAD9', kind: 'free_shipping', usageLimitTotal: 0 }],
      ['an unknown field', { code: 'BAD10', kind: 'free_shipping', stackable: true }],
    ])('refuses %s with 400 VALIDATION_FAILED and creates nothing', async (_label, body) => {
      const r = await t.admin('POST', '/api/promotions', body);
      expect(r.status).toBe(400);
      expect(r.body.error.code).toBe('VALIDATION_FAILED');
      const code = (body as { code: string }).code;
      if (/^[A-Z0-9][A-Z0-9_-]{0,31}$/.test(code)) {
        // The code is still free: the rejected request created nothing.
        expect((await t.admin('POST', '/api/promotions', { code, kind: 'free_shipping' })).status).toBe(201);
      }
    });
  });

  describe('health, readiness and metrics', () => {
    it('answers /healthz with 200', async () => {
      const r = await t.call('GET', '/healthz');
      expect(r.status).toBe(200);
      expect(r.body).toEqual({ status: 'ok' });
    });

    it('answers /readyz with 200 once recovery finished', async () => {
      const r = await t.call('GET', '/readyz');
      expect(r.status).toBe(200);
      expect(r.body).toEqual({ ready: true });
    });

    it('exposes Prometheus metrics including checkout responses', async () => {
      await stock(t, 'MET-1', 1);
      expect((await t.call('POST', '/api/checkout', buyNow('MET-1', 1), { 'idempotency-key': 'met-1' })).status).toBe(201);
      const r = await t.call('GET', '/metrics');
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(r.body).toMatch(/^boxoffice_checkout_responses_total\{status="201",replayed="false"\} \d+$/m);
      expect(r.body).toMatch(/^# TYPE boxoffice_checkout_seconds histogram$/m);
    });

    it('counts answers from memory (sold out, replays) by status and replay, each one once', async () => {
      const count = async (status: number, replayed: boolean): Promise<number> => {
        const body = (await t.call('GET', '/metrics')).body as string;
        const m = body.match(new RegExp(`^boxoffice_checkout_responses_total\\{status="${status}",replayed="${replayed}"\\} (\\d+)$`, 'm'));
        return m ? Number(m[1]) : 0;
      };
      await stock(t, 'MET-2', 1);
      expect((await t.call('POST', '/api/checkout', buyNow('MET-2', 1), { 'idempotency-key': 'met-2a' })).status).toBe(201);
      const [soldOut, replays201, replays409] = [await count(409, false), await count(201, true), await count(409, true)];
      for (const key of ['met-2b', 'met-2c', 'met-2d']) expect((await t.call('POST', '/api/checkout', buyNow('MET-2', 1), { 'idempotency-key': key })).status).toBe(409);
      expect((await t.call('POST', '/api/checkout', buyNow('MET-2', 1), { 'idempotency-key': 'met-2b' })).status).toBe(409);
      expect((await t.call('POST', '/api/checkout', buyNow('MET-2', 1), { 'idempotency-key': 'met-2a' })).status).toBe(201);
      expect(await count(409, false)).toBe(soldOut + 3);
      expect(await count(409, true)).toBe(replays409 + 1);
      expect(await count(201, true)).toBe(replays201 + 1);
    });
  });
});
