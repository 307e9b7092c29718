import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OrderRejectedError, OrderWriter } from '../../../src/persistence/order-writer.js';
import { OrderStore } from '../../../src/persistence/order-store.js';
import { claimPartitions } from '../../../src/persistence/partitions.js';
import { makeOrder } from '../../support/orders.js';
import { drivers, createTestDatabase, type TestDatabase } from '../../support/sql-drivers.js';
import { spyOnSql } from '../../support/sql-spy.js';

describe.each(drivers)('the order writer on %s', (driver) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(driver);
  });
  afterAll(() => db.dispose());

  it('writes the order, its items, payment, committed holds, outbox events and idempotency record', async () => {
    const writer = new OrderWriter(db.sql, { batchMax: 100, batchDelayMs: 0, partitions: 8 });
    const order = makeOrder({ promoCode: 'SPRING10' });
    await writer.write(order);

    const stored = await new OrderStore(db.sql, 8).get(order.orderId);
    expect(stored).toMatchObject({
      orderId: order.orderId,
      checkoutId: order.checkoutId,
      status: 'confirmed',
      currency: 'EUR',
      subtotal: 3_000,
      discount: 300,
      shipping: 500,
      tax: 540,
      total: 3_740,
      promoCode: 'SPRING10',
      customerKey: order.customerKey,
      createdAt: order.createdAt,
      address: order.address,
      items: order.items,
      payment: { paymentId: order.payment.paymentId, status: 'authorized', authId: order.payment.authId, amount: 3_740, provider: 'simulated' },
    });
    const holds = await db.sql.query('SELECT reservation_id, status, order_id FROM inventory_reservations WHERE order_id = $1 ORDER BY sku', [order.orderId]);
    expect(holds).toEqual([
      { reservation_id: `${order.checkoutId}/CAP`, status: 'committed', order_id: order.orderId },
      { reservation_id: `${order.checkoutId}/TSHIRT-M`, status: 'committed', order_id: order.orderId },
    ]);
    const events = await db.sql.query('SELECT aggregatetype, type, sequence FROM outbox WHERE aggregateid = $1 ORDER BY position', [order.orderId]);
    expect(events).toEqual([
      { aggregatetype: 'order', type: 'order.pending', sequence: 1 },
      { aggregatetype: 'order', type: 'order.confirmed', sequence: 2 },
    ]);
    const [usage] = await db.sql.query('SELECT code, customer_id FROM promotion_usages WHERE order_id = $1', [order.orderId]);
    expect(usage).toEqual({ code: 'SPRING10', customer_id: order.customerKey });
    const [idem] = await db.sql.query('SELECT fingerprint, checkout_id, status_code, response, completed_at FROM idempotency_keys WHERE key = $1', [
      order.idempotencyKey,
    ]);
    expect(idem).toMatchObject({ fingerprint: order.fingerprint, checkout_id: order.checkoutId, status_code: 201, response: order.response.body });
    expect((idem as { completed_at: unknown }).completed_at).toBeInstanceOf(Date);
    await writer.close();
  });

  it('writes the orders of one tick in one statement', async () => {
    const spy = spyOnSql(db.sql);
    const writer = new OrderWriter(spy.sql, { batchMax: 1_000, batchDelayMs: 1, partitions: 8 });
    const orders = Array.from({ length: 200 }, () => makeOrder());
    await Promise.all(orders.map((o) => writer.write(o)));
    // One round trip for the whole batch: no BEGIN/COMMIT, no statement per table.
    expect(spy.statements).toHaveLength(1);
    expect(spy.statements[0]).toContain('INSERT INTO orders');
    const [row] = await db.sql.query<{ n: number }>('SELECT count(*) AS n FROM orders WHERE order_id = ANY($1::text[])', [orders.map((o) => o.orderId)]);
    expect(row!.n).toBe(200);
    await writer.close();
  });

  it('treats writing the same order again as a no-op that succeeds', async () => {
    const writer = new OrderWriter(db.sql, { batchMax: 100, batchDelayMs: 0, partitions: 8 });
    const order = makeOrder({ promoCode: 'AGAIN' });
    await writer.write(order);
    await writer.write(order);
    // Twice in one batch too.
    await Promise.all([writer.write(order), writer.write(order)]);
    const [counts] = await db.sql.query<{ orders: number; outbox: number; usages: number; items: number }>(
      `SELECT (SELECT count(*) FROM orders WHERE order_id = $1) AS orders,
              (SELECT count(*) FROM outbox WHERE aggregateid = $1) AS outbox,
              (SELECT count(*) FROM promotion_usages WHERE order_id = $1) AS usages,
              (SELECT count(*) FROM order_items WHERE order_id = $1) AS items`,
      [order.orderId],
    );
    expect(counts).toEqual({ orders: 1, outbox: 2, usages: 1, items: 2 });
    await writer.close();
  });

  it('isolates a bad order of a batch: it rejects alone and the others commit', async () => {
    const writer = new OrderWriter(db.sql, { batchMax: 100, batchDelayMs: 5, partitions: 8 });
    const taken = makeOrder();
    await writer.write(taken);
    const good1 = makeOrder();
    // Another order id for a checkout that already has an order violates orders.checkout_id UNIQUE.
    const bad = makeOrder({ checkoutId: taken.checkoutId });
    const good2 = makeOrder();
    const outcomes = await Promise.allSettled([writer.write(good1), writer.write(bad), writer.write(good2)]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((outcomes[1] as PromiseRejectedResult).reason).toMatchObject({ code: '23505' });
    const store = new OrderStore(db.sql, 8);
    expect(await store.get(good1.orderId)).not.toBeNull();
    expect(await store.get(good2.orderId)).not.toBeNull();
    expect(await store.get(bad.orderId)).toBeNull();
    await writer.close();
  });

  it('names an order the database refuses for its data (U+0000 in jsonb) as rejected for good, and writes the others', async () => {
    const writer = new OrderWriter(db.sql, { batchMax: 100, batchDelayMs: 5, partitions: 8 });
    const good = makeOrder();
    const bad = makeOrder({ address: { name: 'Ada\u0000', line1: '1 Main St', city: 'Paris', postalCode: '75001', country: 'FR' } });
    const outcomes = await Promise.allSettled([writer.write(good), writer.write(bad)]);
    expect(outcomes[0]!.status).toBe('fulfilled');
    const reason = (outcomes[1] as PromiseRejectedResult).reason as OrderRejectedError;
    expect(reason).toBeInstanceOf(OrderRejectedError);
    expect(reason.code.slice(0, 2)).toBe('22');
    expect(await new OrderStore(db.sql, 8).get(bad.orderId)).toBeNull();
    await writer.close();
  });

  it('rolls back every table of an order that fails a check', async () => {
    const writer = new OrderWriter(db.sql, { batchMax: 100, batchDelayMs: 0, partitions: 8 });
    const bad = makeOrder({ total: -1 });
    await expect(writer.write(bad)).rejects.toMatchObject({ code: '23514' });
    const [counts] = await db.sql.query<{ n: number }>(
      `SELECT (SELECT count(*) FROM payments WHERE order_id = $1) + (SELECT count(*) FROM outbox WHERE aggregateid = $1)
              + (SELECT count(*) FROM idempotency_keys WHERE key = $2) AS n`,
      [bad.orderId, bad.idempotencyKey],
    );
    expect(Number(counts!.n)).toBe(0);
    await writer.close();
  });

  it('writes an order only while its fence epoch owns the partition, and tells inserted, existed and fenced apart', async () => {
    const writer = new OrderWriter(db.sql, { batchMax: 100, batchDelayMs: 0, partitions: 8 });
    const partition = 61;
    const [first] = await claimPartitions(db.sql, 'node-a', [partition]);
    const current = { partition, epoch: first!.epoch };
    const kept = makeOrder({ status: 'pending' });
    expect(await writer.write(kept, current)).toBe('inserted');
    // The same order again, now confirmed: the stored one stays as it is, and the writer says so.
    expect(await writer.write({ ...kept, status: 'confirmed' }, current)).toBe('existed');
    // Another node claims the partition: an order written at the old epoch is not written.
    await claimPartitions(db.sql, 'node-b', [partition]);
    const late = makeOrder();
    const [lateWrite, batchMate] = await Promise.all([writer.write(late, current), writer.write(makeOrder())]);
    expect(lateWrite).toBe('fenced');
    expect(batchMate).toBe('inserted');
    const store = new OrderStore(db.sql, 8);
    expect(await store.get(late.orderId)).toBeNull();
    expect((await store.get(kept.orderId))?.status).toBe('pending');
    // A fenced order wrote nothing else either: no answer for its key, no outbox event.
    expect(await db.sql.query('SELECT key FROM idempotency_keys WHERE key = $1', [late.idempotencyKey])).toEqual([]);
    expect(await db.sql.query('SELECT id FROM outbox WHERE aggregateid = $1', [late.orderId])).toEqual([]);
    await writer.close();
  });

  it('shares a batch outcome only between identical writes of an order: another status or fence is written after it', async () => {
    const writer = new OrderWriter(db.sql, { batchMax: 100, batchDelayMs: 5, partitions: 8 });
    const partition = 62;
    const [old] = await claimPartitions(db.sql, 'node-a', [partition]);
    const [now] = await claimPartitions(db.sql, 'node-a', [partition]);
    const stale = { partition, epoch: old!.epoch };
    const current = { partition, epoch: now!.epoch };
    // Two runs of one checkout in one batch: the pending write lands first, so the confirmed one must not be told it
    // inserted (its saga would answer 201 for an order stored pending).
    const order = makeOrder({ status: 'pending' });
    const [pendingWrite, confirmedWrite] = await Promise.all([writer.write(order, current), writer.write({ ...order, status: 'confirmed' }, current)]);
    expect(pendingWrite).toBe('inserted');
    expect(confirmedWrite).toBe('existed');
    // A stale run's write first, the owner's next: the owner's is not fenced (that would drop its partition).
    const next = makeOrder();
    const [staleWrite, ownerWrite] = await Promise.all([writer.write(next, stale), writer.write(next, current)]);
    expect(staleWrite).toBe('fenced');
    expect(ownerWrite).toBe('inserted');
    await writer.close();
  });

  it('refuses writes after close, having written the earlier ones', async () => {
    const writer = new OrderWriter(db.sql, { batchMax: 100, batchDelayMs: 1_000, partitions: 8 });
    const order = makeOrder();
    const written = writer.write(order);
    await writer.close();
    await expect(written).resolves.toBe('inserted');
    await expect(writer.write(makeOrder())).rejects.toThrow(/closed/);
  });
});
