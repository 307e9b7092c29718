import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { createEventMetrics } from '../../../src/events/event-metrics.js';
import { RedisStreamSink } from '../../../src/events/event-sinks.js';
import { OrderStore } from '../../../src/persistence/order-store.js';
import { OrderWriter } from '../../../src/persistence/order-writer.js';
import { outboxPartition } from '../../../src/persistence/outbox.js';
import { createTestDatabase, drivers, type TestDatabase } from '../../support/sql-drivers.js';
import { makeOrder } from '../../support/orders.js';
import { seededRng, seedToRun } from '../../support/seeded-random.js';
import { deleteKeysUnder, openTestRedis, testKeyPrefix } from '../cluster/redis-support.js';
import { claimAll, drain, MemorySink, perOrderSequences, relayFor } from './events-support.js';

const partitions = 8;

describe.each(drivers)('the outbox relay on %s', (driver) => {
  let db: TestDatabase;
  let writer: OrderWriter;
  let store: OrderStore;

  beforeEach(async () => {
    db = await createTestDatabase(driver);
    writer = new OrderWriter(db.sql, { batchMax: 100, batchDelayMs: 0, partitions });
    store = new OrderStore(db.sql, partitions);
  });

  afterEach(async () => {
    await writer.close();
    await db.dispose();
  });

  /** Writes `n` confirmed orders and ships every other one: 1 or 3 events per order. */
  async function writeOrders(n: number): Promise<string[]> {
    const orders = Array.from({ length: n }, () => makeOrder({ outbox: [{ eventType: 'order.confirmed', payload: { status: 'confirmed' } }] }));
    await Promise.all(orders.map((o) => writer.write(o)));
    for (const o of orders.filter((_, i) => i % 2 === 0)) {
      expect(await store.transition(o.orderId, ['confirmed'], 'shipped', 'captured', [
        { eventType: 'payment.captured', payload: { amountMinor: 1 } },
        { eventType: 'order.shipped', payload: { status: 'shipped' } },
      ])).toBe('ok');
    }
    return orders.map((o) => o.orderId);
  }

  it('writes each event with its id, type, order, sequence, occurredAt and data, in the order partition', async () => {
    const [orderId] = await writeOrders(1);
    const rows = await db.sql.query<{ id: string; aggregatetype: string; aggregateid: string; type: string; sequence: number; partition: number; payload: Record<string, unknown> }>(
      'SELECT id, aggregatetype, aggregateid, type, sequence, partition, payload FROM outbox ORDER BY position',
    );
    expect(rows.map((r) => [r.type, r.sequence])).toEqual([['order.confirmed', 1], ['payment.captured', 2], ['order.shipped', 3]]);
    for (const r of rows) {
      expect(r.aggregatetype).toBe('order');
      expect(r.aggregateid).toBe(orderId);
      expect(r.partition).toBe(outboxPartition(orderId!, partitions));
      expect(r.payload).toEqual({ id: r.id, type: r.type, orderId, sequence: r.sequence, occurredAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/), data: expect.anything() });
    }
    expect(new Set(rows.map((r) => r.id)).size).toBe(3);
  });

  it('leaves neither the change nor its event when the transaction fails', async () => {
    const [orderId] = await writeOrders(1);
    await db.sql.query('DELETE FROM outbox WHERE aggregateid = $1 AND sequence > 1', [orderId]);
    await db.sql.query(`UPDATE orders SET status = 'confirmed', event_seq = 1 WHERE order_id = $1`, [orderId]);
    // A stray row holds the sequence the next event takes: its insert fails, and the status change rolls back with it.
    await db.sql.query(`INSERT INTO outbox (aggregatetype, aggregateid, type, sequence, payload) VALUES ('order', $1, 'order.cancelled', 2, '{}')`, [orderId]);
    await expect(store.transition(orderId!, ['confirmed'], 'cancelled', 'voided', { eventType: 'order.cancelled', payload: {} })).rejects.toThrow();
    expect((await store.get(orderId!))!.status).toBe('confirmed');
    const [{ n }] = (await db.sql.query<{ n: number }>('SELECT count(*)::int AS n FROM outbox WHERE aggregateid = $1', [orderId])) as [{ n: number }];
    expect(n).toBe(2);
  });

  it('delivers every event once, in order per order, marks it delivered and lets the feed hear it', async () => {
    const ids = await writeOrders(12);
    const sink = new MemorySink();
    const fences = await claimAll(db.sql, 'node-a', partitions);
    const { relay, heard } = relayFor({ sql: db.sql, node: 'node-a', fences: () => fences, partitions, sink, batchMax: 7 });
    await drain(relay, db.sql);
    expect(sink.got).toHaveLength(24);
    expect(heard.map((e) => e.id)).toEqual(sink.got.map((e) => e.id));
    const seqs = perOrderSequences(sink.got);
    for (const id of ids) expect(seqs.get(id)).toEqual(ids.indexOf(id) % 2 === 0 ? [1, 2, 3] : [1]);
    expect(relay.lagSeconds()).toBe(0);
  });

  it('goes on after a restart where the last one stopped: again at least once, still in order per order', async () => {
    const seed = seedToRun(1_212);
    const rng = seededRng(seed);
    const ids = await writeOrders(10);
    const fences = await claimAll(db.sql, 'node-a', partitions);
    const sink = new MemorySink();
    for (let run = 0; run < 4; run++) {
      // Each "process" fails part way (its sink goes down after a few events), then a new relay takes over.
      sink.failAfter = 1 + Math.floor(rng() * 5);
      const { relay } = relayFor({ sql: db.sql, node: 'node-a', fences: () => fences, partitions, sink, batchMax: 4 });
      await relay.pass().catch(() => undefined);
      await relay.stop();
    }
    sink.failAfter = Infinity;
    const { relay } = relayFor({ sql: db.sql, node: 'node-a', fences: () => fences, partitions, sink });
    await drain(relay, db.sql);
    const seqs = perOrderSequences(sink.got);
    for (const id of ids) expect(seqs.get(id), `seed ${seed}, order ${id}`).toEqual(ids.indexOf(id) % 2 === 0 ? [1, 2, 3] : [1]);
  });

  it('marks nothing for a relay whose partitions moved (fenced): the new owner delivers them', async () => {
    const ids = await writeOrders(6);
    const old = await claimAll(db.sql, 'node-a', partitions);
    const oldSink = new MemorySink();
    const a = relayFor({ sql: db.sql, node: 'node-a', fences: () => old, partitions, sink: oldSink });
    const moved = await claimAll(db.sql, 'node-b', partitions);
    await a.relay.pass();
    expect(oldSink.got.length, 'the paused old owner still sent (at least once)').toBe(12);
    expect(a.heard, 'but marked nothing, so its feed heard nothing').toEqual([]);
    const newSink = new MemorySink();
    const b = relayFor({ sql: db.sql, node: 'node-b', fences: () => moved, partitions, sink: newSink });
    await drain(b.relay, db.sql);
    expect(newSink.got.map((e) => e.id).sort()).toEqual(oldSink.got.map((e) => e.id).sort());
    const seqs = perOrderSequences([...oldSink.got, ...newSink.got]);
    for (const id of ids) expect(seqs.get(id)).toEqual(ids.indexOf(id) % 2 === 0 ? [1, 2, 3] : [1]);
  });

  it('relays only the partitions it serves and reports the lag of what it has not delivered', async () => {
    const ids = await writeOrders(8);
    const fences = (await claimAll(db.sql, 'node-a', partitions)).filter((f) => f.partition % 2 === 0);
    const sink = new MemorySink();
    sink.failAfter = 0;
    const metrics = createEventMetrics(new Registry());
    const { relay } = relayFor({ sql: db.sql, node: 'node-a', fences: () => fences, partitions, sink, metrics });
    await expect(relay.pass()).rejects.toThrow(/sink/);
    expect(relay.lagSeconds()).toBeGreaterThanOrEqual(0);
    const [oldest] = await db.sql.query<{ at: Date }>('SELECT min(created_at) AS at FROM outbox WHERE partition = ANY($1::int[])', [fences.map((f) => f.partition)]);
    if (oldest!.at !== null) expect(relay.lagSeconds()).toBeGreaterThan(0);
    sink.failAfter = Infinity;
    await relay.pass();
    expect(sink.got.every((e) => outboxPartition(e.orderId, partitions) % 2 === 0)).toBe(true);
    expect(sink.got.length).toBe(ids.filter((id) => outboxPartition(id, partitions) % 2 === 0).reduce((n, id) => n + (ids.indexOf(id) % 2 === 0 ? 3 : 1), 0));
    expect(relay.lagSeconds()).toBe(0);
    expect((await metrics.lag.get()).values[0]!.value).toBe(0);
  });
});

describe('the Redis stream sink', () => {
  it('appends one entry per event to <CLUSTER_NAME>:events, field `event` holding its JSON, bounded by MAXLEN ~', async () => {
    const db = await createTestDatabase('pg');
    const redis = openTestRedis();
    const prefix = testKeyPrefix('events');
    const writer = new OrderWriter(db.sql, { batchMax: 100, batchDelayMs: 0, partitions });
    try {
      const orders = Array.from({ length: 3 }, () => makeOrder({ outbox: [{ eventType: 'order.confirmed', payload: { n: 1 } }] }));
      await Promise.all(orders.map((o) => writer.write(o)));
      const store = new OrderStore(db.sql, partitions);
      await store.transition(orders[0]!.orderId, ['confirmed'], 'cancelled', 'voided', { eventType: 'order.cancelled', payload: {} });
      const sink = new RedisStreamSink(redis, `${prefix}events`, 1_000);
      const fences = await claimAll(db.sql, 'node-a', partitions);
      const { relay } = relayFor({ sql: db.sql, node: 'node-a', fences: () => fences, partitions, sink });
      await drain(relay, db.sql);
      const entries = await redis.xrange(`${prefix}events`, '-', '+');
      expect(entries).toHaveLength(4);
      const events = entries.map(([, fields]) => {
        expect(fields[0]).toBe('event');
        expect(fields).toHaveLength(2);
        return JSON.parse(fields[1]!) as { id: string; type: string; orderId: string; sequence: number };
      });
      const stored = await db.sql.query<{ payload: unknown }>('SELECT payload FROM outbox ORDER BY position');
      expect(events).toEqual(stored.map((r) => r.payload));
      expect(events.filter((e) => e.orderId === orders[0]!.orderId).map((e) => [e.type, e.sequence])).toEqual([['order.confirmed', 1], ['order.cancelled', 2]]);
    } finally {
      await writer.close();
      await deleteKeysUnder(redis, prefix);
      redis.disconnect();
      await db.dispose();
    }
  });
});
