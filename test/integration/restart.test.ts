import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgTestDatabase } from '../support/databases.js';
import { startTestNode, stock, testAddress } from '../support/node-harness.js';

/** A clean restart (close, start again on the same database) keeps carts, products, promotions, stock and orders. */
describe('a node restarted on the same database', () => {
  let db: { url: string; drop(): Promise<void> };
  beforeAll(async () => {
    db = await createPgTestDatabase();
  });
  afterAll(async () => {
    await db.drop();
  });

  it('keeps carts, promotions, stock, orders and idempotent replays', async () => {
    const first = await startTestNode({ env: { DATABASE_URL: db.url } });
    await stock(first, 'KEEP-1', 10);
    const promo = await first.admin('POST', '/api/promotions', { code: 'KEEP10', kind: 'percentage', percentBps: 1000 });
    expect(promo.status).toBe(201);
    const cart = await first.call('POST', '/api/cart/items', { sku: 'KEEP-1', qty: 3 });
    expect(cart.status).toBe(201);
    expect((await first.call('POST', `/api/carts/${cart.body.cartId}/promo`, { code: 'KEEP10' })).status).toBe(200);
    const bought = await first.call('POST', '/api/checkout', { items: [{ sku: 'KEEP-1', qty: 2 }], paymentMethod: 'pm_card_visa', address: testAddress }, { 'idempotency-key': 'keep-1' });
    expect(bought.status).toBe(201);
    await first.stop();

    const second = await startTestNode({ env: { DATABASE_URL: db.url } });
    try {
      const again = await second.call('GET', `/api/carts/${cart.body.cartId}`);
      expect(again.status).toBe(200);
      expect(again.body).toMatchObject({ promoCode: 'KEEP10', lines: [{ sku: 'KEEP-1', qty: 3 }], totals: { subtotalMinor: 7_500, discountMinor: 750 } });
      expect((await second.call('GET', '/api/inventory/KEEP-1')).body).toEqual({ sku: 'KEEP-1', onHand: 10, available: 8, held: 0, sold: 2 });
      const replay = await second.call('POST', '/api/checkout', { items: [{ sku: 'KEEP-1', qty: 2 }], paymentMethod: 'pm_card_visa', address: testAddress }, { 'idempotency-key': 'keep-1' });
      expect(replay.status).toBe(201);
      expect(replay.headers.get('idempotent-replayed')).toBe('true');
      expect(replay.body.orderId).toBe(bought.body.orderId);
      const checkout = await second.call('POST', '/api/checkout', { cartId: cart.body.cartId, paymentMethod: 'pm_card_visa', address: testAddress }, { 'idempotency-key': 'keep-2' });
      expect(checkout.status).toBe(201);
      expect(checkout.body.totals.discountMinor).toBe(750);
    } finally {
      await second.stop();
    }
  });

  it('finishes the checkouts it acknowledged before it stops, so replays after a clean restart are answered at once', async () => {
    const first = await startTestNode({ env: { DATABASE_URL: db.url } });
    await stock(first, 'KEEP-2', 1_000);
    const buy = (t: typeof first, key: string) => t.call('POST', '/api/checkout', { items: [{ sku: 'KEEP-2', qty: 1 }], paymentMethod: 'pm_card_visa', address: testAddress }, { 'idempotency-key': key });
    const keys = Array.from({ length: 200 }, (_, i) => `drain-${i}`);
    const bought = await Promise.all(keys.map((k) => buy(first, k)));
    expect(bought.map((r) => r.status)).toEqual(keys.map(() => 201));
    // Stopped the moment the last answer arrived: the sagas' steps after the acknowledgement are still running.
    await first.stop();

    const second = await startTestNode({ env: { DATABASE_URL: db.url } });
    try {
      const replays = await Promise.all(keys.map((k) => buy(second, k)));
      expect(replays.map((r) => r.status)).toEqual(keys.map(() => 201));
      expect(replays.map((r) => r.body.orderId)).toEqual(bought.map((r) => r.body.orderId));
      expect((await second.call('GET', '/api/inventory/KEEP-2')).body).toEqual({ sku: 'KEEP-2', onHand: 1_000, available: 800, held: 0, sold: 200 });
    } finally {
      await second.stop();
    }
  });
});
