import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OrderWriter } from '../../../src/persistence/order-writer.js';
import { CartStore, IdempotencyStore, OrderStore, ProductStore, PromotionStore, type Promotion } from '../../../src/persistence/stores.js';
import { makeOrder } from '../../support/orders.js';
import { drivers, createTestDatabase, type TestDatabase } from '../../support/sql-drivers.js';
import { spyOnSql } from '../../support/sql-spy.js';

describe.each(drivers)('the stores on %s', (driver) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(driver);
  });
  afterAll(() => db.dispose());

  describe('the idempotency store', () => {
    it('reads every key asked for in one tick with one query', async () => {
      const spy = spyOnSql(db.sql);
      const store = new IdempotencyStore(spy.sql);
      await Promise.all(['k1', 'k2', 'k3'].map((key) => store.saveResponse({ key, fingerprint: `fp-${key}`, checkoutId: `c-${key}`, statusCode: 201, body: { key } })));
      expect(spy.statements.filter((s) => s.startsWith('INSERT INTO idempotency_keys'))).toHaveLength(1);

      const records = await Promise.all(['k1', 'missing', 'k3', 'k1'].map((k) => store.get(k)));
      expect(spy.statements.filter((s) => s.startsWith('SELECT key'))).toHaveLength(1);
      expect(records[0]).toMatchObject({ key: 'k1', fingerprint: 'fp-k1', checkoutId: 'c-k1', statusCode: 201, body: { key: 'k1' } });
      expect(records[0]!.createdAt).toBeInstanceOf(Date);
      expect(records[1]).toBeNull();
      expect(records[2]).toMatchObject({ key: 'k3' });
      expect(records[3]).toEqual(records[0]);
      await store.close();
    });

    it('keeps a record without a response, then completes it', async () => {
      const store = new IdempotencyStore(db.sql);
      await store.saveResponse({ key: 'started', fingerprint: 'fp', checkoutId: 'c', statusCode: null, body: null });
      expect(await store.get('started')).toMatchObject({ statusCode: null, body: null });
      await store.saveResponse({ key: 'started', fingerprint: 'fp', checkoutId: 'c', statusCode: 402, body: { error: { code: 'PAYMENT_DECLINED' } } });
      expect(await store.get('started')).toMatchObject({ statusCode: 402, body: { error: { code: 'PAYMENT_DECLINED' } } });
    });

    it('keeps the last of several saves of one key in a batch', async () => {
      const store = new IdempotencyStore(db.sql);
      await Promise.all([1, 2, 3].map((n) => store.saveResponse({ key: 'dup', fingerprint: `fp${n}`, checkoutId: 'c', statusCode: 200, body: { n } })));
      expect(await store.get('dup')).toMatchObject({ fingerprint: 'fp3', body: { n: 3 } });
    });
  });

  describe('the product store', () => {
    it('upserts products and reads them one, several or all at a time', async () => {
      const store = new ProductStore(db.sql);
      const shirt = { sku: 'SHIRT', name: 'Shirt', priceMinor: 2_500, currency: 'EUR', weightGrams: 200, taxCategory: 'standard' };
      await store.upsert(shirt);
      await store.upsert({ ...shirt, sku: 'BOOK', name: 'Book', taxCategory: 'reduced' });
      await store.upsert({ ...shirt, priceMinor: 1_999 });
      expect(await store.get('SHIRT')).toEqual({ ...shirt, priceMinor: 1_999 });
      expect(await store.get('NOPE')).toBeNull();
      expect((await store.getMany(['SHIRT', 'NOPE', 'BOOK'])).map((p) => p.sku)).toEqual(['BOOK', 'SHIRT']);
      expect(await store.loadAll()).toHaveLength(2);
    });
  });

  describe('the promotion store', () => {
    const promo: Promotion = {
      code: 'FLASH20',
      kind: 'percentage',
      percentBps: 2_000,
      amountMinor: null,
      currency: null,
      minSubtotalMinor: 1_000,
      startsAtMs: Date.UTC(2030, 0, 1),
      endsAtMs: Date.UTC(2030, 0, 2, 12, 30, 0, 123),
      usageLimitTotal: 100,
      usageLimitPerCustomer: 1,
    };

    it('creates a promotion once and reports the code as existing after that', async () => {
      const store = new PromotionStore(db.sql);
      expect(await store.create(promo)).toBe('created');
      expect(await store.create({ ...promo, percentBps: 9_000 })).toBe('exists');
      expect(await store.get('FLASH20')).toEqual(promo);
      expect(await store.get('NOPE')).toBeNull();
    });

    it('stores open-ended promotions with null times and limits', async () => {
      const store = new PromotionStore(db.sql);
      const free: Promotion = { ...promo, code: 'FREESHIP', kind: 'free_shipping', percentBps: null, startsAtMs: null, endsAtMs: null, usageLimitTotal: null, usageLimitPerCustomer: null };
      await store.create(free);
      expect(await store.get('FREESHIP')).toEqual(free);
    });

    it('counts usages in all and by customer', async () => {
      const store = new PromotionStore(db.sql);
      const writer = new OrderWriter(db.sql, { batchMax: 100, batchDelayMs: 0, partitions: 8 });
      await Promise.all([
        writer.write(makeOrder({ promoCode: 'COUNTED', customerKey: 'alice' })),
        writer.write(makeOrder({ promoCode: 'COUNTED', customerKey: 'alice' })),
        writer.write(makeOrder({ promoCode: 'COUNTED', customerKey: 'bob' })),
        writer.write(makeOrder({ promoCode: 'OTHER', customerKey: 'alice' })),
      ]);
      expect(await store.usage('COUNTED', 'alice')).toEqual({ total: 3, byCustomer: 2 });
      expect(await store.usage('COUNTED', 'carol')).toEqual({ total: 3, byCustomer: 0 });
      expect(await store.usage('UNUSED', 'alice')).toEqual({ total: 0, byCustomer: 0 });
      await writer.close();
    });
  });

  describe('the cart store', () => {
    it('saves the carts of one tick in one statement and returns each as saved', async () => {
      const spy = spyOnSql(db.sql);
      const store = new CartStore(spy.sql);
      const carts = Array.from({ length: 50 }, (_, i) => ({ cartId: `cart-${i}`, updatedAtMs: 1_000, expiresAtMs: 10_000, lines: [{ sku: 'A', qty: i + 1 }] }));
      await Promise.all(carts.map((c) => store.save(c)));
      expect(spy.statements.filter((s) => s.startsWith('INSERT INTO carts'))).toHaveLength(1);
      expect(await store.get('cart-7')).toEqual(carts[7]);
      expect(await store.get('no-such-cart')).toBeNull();
      await store.close();
    });

    it('keeps the last save of a cart within a batch and never goes back to an older one', async () => {
      const store = new CartStore(db.sql);
      await Promise.all([
        store.save({ cartId: 'c-last', updatedAtMs: 2_000, expiresAtMs: 10_000, v: 1 }),
        store.save({ cartId: 'c-last', updatedAtMs: 3_000, expiresAtMs: 10_000, v: 2 }),
      ]);
      expect(await store.get('c-last')).toMatchObject({ v: 2 });
      await store.save({ cartId: 'c-last', updatedAtMs: 2_500, expiresAtMs: 10_000, v: 0 });
      expect(await store.get('c-last')).toMatchObject({ v: 2 });
    });

    it('deletes the carts that expired and counts them', async () => {
      const store = new CartStore(db.sql);
      await Promise.all([
        store.save({ cartId: 'exp-1', updatedAtMs: 1, expiresAtMs: 5_000_000 }),
        store.save({ cartId: 'exp-2', updatedAtMs: 1, expiresAtMs: 5_000_001 }),
        store.save({ cartId: 'live', updatedAtMs: 1, expiresAtMs: 9_000_000_000_000 }),
      ]);
      expect(await store.deleteExpired(8_000_000_000_000)).toBeGreaterThanOrEqual(2);
      expect(await store.get('exp-1')).toBeNull();
      expect(await store.get('live')).not.toBeNull();
      expect(await store.deleteExpired(8_000_000_000_000)).toBe(0);
    });
  });

  describe('the order store', () => {
    it('finds orders by checkout id and lists them by status, oldest first', async () => {
      const writer = new OrderWriter(db.sql, { batchMax: 100, batchDelayMs: 0, partitions: 8 });
      const older = makeOrder({ status: 'pending', createdAt: new Date('2030-02-01T00:00:00Z') });
      const newer = makeOrder({ status: 'pending', createdAt: new Date('2030-02-02T00:00:00Z') });
      await Promise.all([writer.write(newer), writer.write(older)]);
      const store = new OrderStore(db.sql, 8);
      const found = await store.getByCheckoutIds([older.checkoutId, 'chk_missing', newer.checkoutId]);
      expect(found.map((o) => o.orderId).sort()).toEqual([older.orderId, newer.orderId].sort());
      expect(found.every((o) => o.items.length === 2)).toBe(true);
      expect(await store.getByCheckoutIds([])).toEqual([]);
      const pending = await store.listByStatus('pending', 10);
      expect(pending.map((o) => o.orderId)).toEqual([older.orderId, newer.orderId]);
      expect(await store.listByStatus('pending', 1)).toHaveLength(1);
      expect(await store.get('ord_missing')).toBeNull();
      await writer.close();
    });

    it('moves an order between states with its payment, an outbox event and the promo usage given back', async () => {
      const writer = new OrderWriter(db.sql, { batchMax: 100, batchDelayMs: 0, partitions: 8 });
      const order = makeOrder({ promoCode: 'GIVEBACK', customerKey: 'dana' });
      await writer.write(order);
      const store = new OrderStore(db.sql, 8);
      const promos = new PromotionStore(db.sql);
      expect(await promos.usage('GIVEBACK', 'dana')).toEqual({ total: 1, byCustomer: 1 });

      const result = await store.transition(order.orderId, ['confirmed'], 'cancelled', 'voided', { eventType: 'order.cancelled', payload: { reason: 'customer' } }, {
        releasePromoUsage: true,
      });
      expect(result).toBe('ok');
      const stored = await store.get(order.orderId);
      expect(stored).toMatchObject({ status: 'cancelled', payment: { status: 'voided' } });
      expect(await promos.usage('GIVEBACK', 'dana')).toEqual({ total: 0, byCustomer: 0 });
      const events = await db.sql.query<{ type: string; payload: { data: unknown } }>('SELECT type, payload FROM outbox WHERE aggregateid = $1 ORDER BY position', [order.orderId]);
      expect(events.at(-1)).toMatchObject({ type: 'order.cancelled', payload: { data: { reason: 'customer' } } });
      await writer.close();
    });

    it('answers conflict and changes nothing when the order is not in an allowed state', async () => {
      const writer = new OrderWriter(db.sql, { batchMax: 100, batchDelayMs: 0, partitions: 8 });
      const order = makeOrder({ promoCode: 'KEEP' });
      await writer.write(order);
      const store = new OrderStore(db.sql, 8);
      const outboxBefore = await db.sql.query('SELECT id FROM outbox WHERE aggregateid = $1', [order.orderId]);
      expect(await store.transition(order.orderId, ['pending'], 'cancelled', 'voided', { eventType: 'order.cancelled', payload: {} }, { releasePromoUsage: true })).toBe(
        'conflict',
      );
      expect(await store.transition('ord_missing', ['confirmed'], 'cancelled', 'voided', { eventType: 'order.cancelled', payload: {} })).toBe('conflict');
      expect(await store.get(order.orderId)).toMatchObject({ status: 'confirmed', payment: { status: 'authorized' } });
      expect(await db.sql.query('SELECT id FROM outbox WHERE aggregateid = $1', [order.orderId])).toEqual(outboxBefore);
      expect(await new PromotionStore(db.sql).usage('KEEP', order.customerKey)).toEqual({ total: 1, byCustomer: 1 });
      await writer.close();
    });

    it('records a capture, then refunds that add up to it and never past it, and what a cancel owes the stock', async () => {
      const writer = new OrderWriter(db.sql, { batchMax: 100, batchDelayMs: 0, partitions: 8 });
      const order = makeOrder();
      await writer.write(order);
      const store = new OrderStore(db.sql, 8);
      expect(await store.transition(order.orderId, ['confirmed'], 'shipped', 'captured', { eventType: 'order.shipped', payload: {} }, { capturedMinor: 3_740 })).toBe('ok');
      expect(await store.beginRefund(order.orderId, 1, 1_000)).toBe(1_000);
      expect(await store.beginRefund(order.orderId, 1, 1_000)).toBe(1_000); // a retry records nothing new
      expect(await store.beginRefund(order.orderId, 1, 900)).toBe(1_000); // another amount under n: the recorded one wins
      expect(await store.refunds(order.orderId)).toEqual([{ n: 1, amountMinor: 1_000, status: 'pending' }]);
      await store.finishRefund(order.orderId, 1, true);
      await store.finishRefund(order.orderId, 1, true); // settled once
      expect((await store.get(order.orderId))!.payment).toMatchObject({ status: 'captured', capturedMinor: 3_740, refundedMinor: 1_000 });
      await store.beginRefund(order.orderId, 2, 3_000);
      await store.finishRefund(order.orderId, 2, false);
      expect((await store.get(order.orderId))!.payment).toMatchObject({ refundedMinor: 1_000 });
      await store.beginRefund(order.orderId, 3, 2_741);
      // More than was captured is refused by the database itself, whatever a caller believes.
      await expect(store.finishRefund(order.orderId, 3, true)).rejects.toMatchObject({ code: '23514' });
      await store.beginRefund(order.orderId, 4, 2_740);
      await store.finishRefund(order.orderId, 4, true);
      expect((await store.get(order.orderId))!.payment).toMatchObject({ status: 'refunded', refundedMinor: 3_740 });
      expect(await store.transition(order.orderId, ['shipped'], 'cancelled', 'refunded', { eventType: 'order.cancelled', payload: {} }, { refundedAll: true, restock: true })).toBe('ok');
      expect((await store.listRestockPending(10)).map((o) => o.orderId)).toContain(order.orderId);
      await store.markRestocked(order.orderId);
      expect((await store.get(order.orderId))!.restockState).toBe('done');
      expect((await store.listRestockPending(10)).map((o) => o.orderId)).not.toContain(order.orderId);
      await writer.close();
    });

    it('lets only one of two concurrent transitions of an order win', async () => {
      const writer = new OrderWriter(db.sql, { batchMax: 100, batchDelayMs: 0, partitions: 8 });
      const order = makeOrder();
      await writer.write(order);
      const store = new OrderStore(db.sql, 8);
      const results = await Promise.all([
        store.transition(order.orderId, ['confirmed'], 'cancelled', 'voided', { eventType: 'order.cancelled', payload: {} }),
        store.transition(order.orderId, ['confirmed'], 'cancelled', 'voided', { eventType: 'order.cancelled', payload: {} }),
      ]);
      expect(results.sort()).toEqual(['conflict', 'ok']);
      await writer.close();
    });
  });
});
