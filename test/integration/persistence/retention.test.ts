import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OrderWriter } from '../../../src/persistence/order-writer.js';
import { Retention } from '../../../src/persistence/retention.js';
import { makeOrder } from '../../support/orders.js';
import { drivers, createTestDatabase, type TestDatabase } from '../../support/sql-drivers.js';

describe.each(drivers)('retention on %s', (driver) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(driver);
  });
  afterAll(() => db.dispose());

  const day = 24 * 60 * 60 * 1000;

  it('deletes answered keys past the retention, oldest first, a bounded batch at a time; keeps unanswered and recent ones', async () => {
    const insert = (key: string, ageHours: number, answered: boolean) =>
      db.sql.query(
        `INSERT INTO idempotency_keys (key, fingerprint, checkout_id, status_code, response, created_at) VALUES ($1, 'fp', $2, $3, $4, now() - make_interval(hours => $5))`,
        [key, `co_${key}`, answered ? 201 : null, answered ? JSON.stringify({ ok: true }) : null, ageHours],
      );
    for (let i = 0; i < 5; i++) await insert(`old-${i}`, 72 + i, true);
    await insert('old-running', 80, false);
    await insert('recent', 1, true);
    const retention = new Retention(db.sql);
    expect(await retention.deleteKeys(2 * day, 3)).toBe(3);
    expect(await retention.deleteKeys(2 * day, 3)).toBe(2);
    expect(await retention.deleteKeys(2 * day, 3)).toBe(0);
    const left = (await db.sql.query<{ key: string }>(`SELECT key FROM idempotency_keys ORDER BY key`)).map((r) => r.key);
    expect(left).toEqual(['old-running', 'recent']);
  });

  it('keeps a key past the retention while its order is still pending, so a retry of it cannot start a second checkout', async () => {
    const writer = new OrderWriter(db.sql, { batchMax: 10, batchDelayMs: 0, partitions: 8 });
    await writer.write(makeOrder({ orderId: 'ord_pending', checkoutId: 'co_pending-key', status: 'pending' }));
    await writer.write(makeOrder({ orderId: 'ord_settled', checkoutId: 'co_settled-key', status: 'confirmed' }));
    await writer.close();
    for (const key of ['pending-key', 'settled-key']) {
      await db.sql.query(
        `INSERT INTO idempotency_keys (key, fingerprint, checkout_id, status_code, response, created_at) VALUES ($1, 'fp', $2, 202, '{}', now() - make_interval(hours => 100))`,
        [key, `co_${key}`],
      );
    }
    const retention = new Retention(db.sql);
    expect(await retention.deleteKeys(2 * day, 100)).toBe(1);
    const left = (await db.sql.query<{ key: string }>(`SELECT key FROM idempotency_keys WHERE key IN ('pending-key', 'settled-key') ORDER BY key`)).map((r) => r.key);
    expect(left).toEqual(['pending-key']);
  });

  it('deletes published outbox rows past their keep time, never unpublished ones', async () => {
    let sequence = 0;
    const insert = (ageDays: number, published: boolean) =>
      db.sql.query(
        `INSERT INTO outbox (aggregatetype, aggregateid, type, sequence, payload, created_at, published_at) VALUES ('order', 'o', 'order.confirmed', $3, '{}', now() - make_interval(days => $1), $2)`,
        [ageDays, published ? new Date(Date.now() - ageDays * day) : null, ++sequence],
      );
    await insert(10, true);
    await insert(9, true);
    await insert(10, false);
    await insert(1, true);
    const retention = new Retention(db.sql);
    expect(await retention.deletePublishedOutbox(7 * day, 100)).toBe(2);
    const left = await db.sql.query<{ published: boolean; age: number }>(`SELECT published_at IS NOT NULL AS published, extract(day from now() - created_at)::int AS age FROM outbox WHERE aggregateid = 'o' ORDER BY position`);
    expect(left.map((r) => [r.published, r.age])).toEqual([[false, 10], [true, 1]]);
  });
});
