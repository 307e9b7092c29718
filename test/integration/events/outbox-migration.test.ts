import { afterEach, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { migrate, migrations } from '../../../src/persistence/migrations.js';
import { OrderStore } from '../../../src/persistence/order-store.js';
import { outboxPartition } from '../../../src/persistence/outbox.js';
import { createEventMetrics } from '../../../src/events/event-metrics.js';
import { createTestDatabase, type TestDatabase } from '../../support/sql-drivers.js';
import { claimAll, drain, MemorySink, relayFor } from './events-support.js';

/** Migration 6 on a database that already has outbox rows in the old columns (written before issue 12). */
describe('the outbox migration to the Debezium columns', () => {
  let db: TestDatabase;

  afterEach(async () => {
    await db.dispose();
  });

  it('keeps every earlier row: a uuid, its sequence per order, the event as payload; the relay places and delivers them', async () => {
    db = await createTestDatabase('pg', { migrate: false });
    await migrate(db.sql, migrations.filter((m) => m.version <= 5));
    for (const id of ['ord_old_1', 'ord_old_2']) {
      await db.sql.query(
        `INSERT INTO orders (order_id, customer_key, status, total, currency, created_at, checkout_id, idempotency_key, subtotal, discount, shipping, tax, snapshot_hash)
         VALUES ($1, 'c', 'shipped', 100, 'EUR', now(), $1 || '_co', $1 || '_key', 100, 0, 0, 0, 'h')`,
        [id],
      );
      await db.sql.query(`INSERT INTO payments (payment_id, order_id, provider, status, amount, currency, idempotency_key) VALUES ($1 || '_pay', $1, 'simulated', 'captured', 100, 'EUR', $1 || ':authorize')`, [id]);
    }
    const old = [['ord_old_1', 'order.confirmed'], ['ord_old_2', 'order.confirmed'], ['ord_old_1', 'order.shipped']] as const;
    for (const [id, type] of old) {
      await db.sql.query(`INSERT INTO outbox (aggregate_type, aggregate_id, event_type, payload) VALUES ('order', $1, $2, $3::jsonb)`, [id, type, JSON.stringify({ orderId: id })]);
    }
    await migrate(db.sql);
    const rows = await db.sql.query<{ id: string; aggregateid: string; type: string; sequence: number; partition: number | null; payload: Record<string, unknown> }>(
      'SELECT id, aggregateid, type, sequence, partition, payload FROM outbox ORDER BY position',
    );
    expect(rows.map((r) => [r.aggregateid, r.type, r.sequence, r.partition])).toEqual([
      ['ord_old_1', 'order.confirmed', 1, null],
      ['ord_old_2', 'order.confirmed', 1, null],
      ['ord_old_1', 'order.shipped', 2, null],
    ]);
    for (const r of rows) expect(r.payload).toEqual({ id: r.id, type: r.type, orderId: r.aggregateid, sequence: r.sequence, occurredAt: expect.any(String), data: { orderId: r.aggregateid } });
    // The next event of an old order continues its sequence.
    const store = new OrderStore(db.sql, 8);
    expect(await store.transition('ord_old_1', ['shipped'], 'cancelled', 'refunded', { eventType: 'order.cancelled', payload: {} })).toBe('ok');
    const [next] = await db.sql.query<{ sequence: number }>(`SELECT sequence FROM outbox WHERE aggregateid = 'ord_old_1' AND type = 'order.cancelled'`);
    expect(next!.sequence).toBe(3);
    // The relay gives the old rows their order's partition and delivers everything in order.
    const sink = new MemorySink();
    const fences = await claimAll(db.sql, 'node-a', 8);
    // A batch of 1: the old rows are placed one pass at a time, and nothing is relayed before they all are.
    const { relay } = relayFor({ sql: db.sql, node: 'node-a', fences: () => fences, partitions: 8, sink, metrics: createEventMetrics(new Registry()), batchMax: 1 });
    await drain(relay, db.sql);
    expect(sink.got.filter((e) => e.orderId === 'ord_old_1').map((e) => e.sequence)).toEqual([1, 2, 3]);
    const placed = await db.sql.query<{ aggregateid: string; partition: number }>('SELECT aggregateid, partition FROM outbox');
    for (const p of placed) expect(p.partition).toBe(outboxPartition(p.aggregateid, 8));
  });
});
