import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { systemClock } from '../../../src/clock.js';
import { createEventMetrics, type EventMetrics } from '../../../src/events/event-metrics.js';
import { NoSink } from '../../../src/events/event-sinks.js';
import { WebhookDispatcher } from '../../../src/events/webhook-dispatcher.js';
import { webhookEndpoints, type WebhookEndpoints } from '../../../src/events/webhook-endpoints.js';
import { verifyWebhookSignature } from '../../../src/events/webhook-signature.js';
import type { OrderEventType } from '../../../src/domain/order-events.js';
import { OrderStore } from '../../../src/persistence/order-store.js';
import { OrderWriter } from '../../../src/persistence/order-writer.js';
import { WebhookDeliveryStore } from '../../../src/persistence/webhook-delivery-store.js';
import { WebhookEndpointStore } from '../../../src/persistence/webhook-endpoint-store.js';
import { createTestDatabase, type TestDatabase } from '../../support/sql-drivers.js';
import { makeOrder } from '../../support/orders.js';
import { claimAll, drain, quiet, relayFor, startReceiver, until } from './events-support.js';

const partitions = 4;

describe('outgoing webhooks', () => {
  let db: TestDatabase;
  let writer: OrderWriter;
  let endpoints: WebhookEndpoints;
  let metrics: EventMetrics;
  const cleanups: (() => Promise<void>)[] = [];

  beforeEach(async () => {
    db = await createTestDatabase('pg');
    writer = new OrderWriter(db.sql, { batchMax: 100, batchDelayMs: 0, partitions });
    endpoints = webhookEndpoints(new WebhookEndpointStore(db.sql));
    metrics = createEventMetrics(new Registry());
  });

  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
    await writer.close();
    await db.dispose();
  });

  /** Orders with 3 events each (confirmed, payment.captured, shipped), relayed: their deliveries are queued. */
  async function ordersRelayed(n: number): Promise<string[]> {
    const store = new OrderStore(db.sql, partitions);
    const orders = Array.from({ length: n }, () => makeOrder({ outbox: [{ eventType: 'order.confirmed', payload: {} }] }));
    await Promise.all(orders.map((o) => writer.write(o)));
    for (const o of orders) {
      await store.transition(o.orderId, ['confirmed'], 'shipped', 'captured', [
        { eventType: 'payment.captured', payload: {} },
        { eventType: 'order.shipped', payload: {} },
      ]);
    }
    const fences = await claimAll(db.sql, 'node-a', partitions);
    const { relay } = relayFor({ sql: db.sql, node: 'node-a', fences: () => fences, partitions, sink: new NoSink(), metrics });
    await drain(relay, db.sql);
    return orders.map((o) => o.orderId);
  }

  function dispatcher(o: { baseMs?: number; maxAgeMs?: number; timeoutMs?: number } = {}) {
    const d = new WebhookDispatcher({
      store: new WebhookDeliveryStore(db.sql),
      owned: () => Array.from({ length: partitions }, (_, p) => p),
      retryDelayMsBase: o.baseMs ?? 20,
      retryMaxAgeMs: o.maxAgeMs ?? 60_000,
      metrics, clock: systemClock, log: quiet,
      pollMs: 10,
      requestTimeoutMs: o.timeoutMs ?? 5_000,
      concurrencyMax: 8,
      perEndpointConcurrencyMax: 2,
    });
    d.start();
    cleanups.push(() => d.stop());
    return d;
  }

  async function receiver(answer?: Parameters<typeof startReceiver>[0]) {
    const r = await startReceiver(answer);
    cleanups.push(() => r.close());
    return r;
  }

  async function register(url: string, events: OrderEventType[] = ['order.confirmed', 'payment.captured', 'order.shipped']) {
    const made = await endpoints.create(url, events);
    if (made === 'limit') throw new Error('limit');
    return made;
  }

  const states = async () => db.sql.query<{ state: string; attempts: number; n: number }>('SELECT state, count(*)::int AS n FROM webhook_deliveries GROUP BY state ORDER BY state');

  it('posts one event per request, its JSON as the body, signed with the endpoint secret', async () => {
    const r = await receiver();
    const hook = await register(r.url, ['order.shipped', 'order.confirmed']);
    const ids = await ordersRelayed(3);
    dispatcher();
    await until(() => r.accepted.length === 6, 10_000, 'six deliveries');
    for (const got of r.received) {
      expect(verifyWebhookSignature(hook.secret, got.body, got.signature, Math.floor(Date.now() / 1000))).toBe(true);
      expect(verifyWebhookSignature(hook.secret, got.body + ' ', got.signature, Math.floor(Date.now() / 1000))).toBe(false);
      expect(verifyWebhookSignature('whsec_other', got.body, got.signature, Math.floor(Date.now() / 1000))).toBe(false);
      expect(got.signature).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    }
    expect(new Set(r.received.map((x) => x.event.type))).toEqual(new Set(['order.confirmed', 'order.shipped']));
    for (const id of ids) expect(r.accepted.filter((x) => x.event.orderId === id).map((x) => x.event.sequence)).toEqual([1, 3]);
    await until(async () => JSON.stringify(await states()) === JSON.stringify([{ state: 'delivered', n: 6 }]), 5_000, 'all delivered');
  });

  it('retries a failing endpoint with growing delays and keeps each order in sequence: a later event waits for the earlier 2xx', async () => {
    const attemptsAt = new Map<string, number[]>();
    const r = await receiver((got) => {
      const list = attemptsAt.get(got.event.id) ?? [];
      list.push(Date.now());
      attemptsAt.set(got.event.id, list);
      return list.length <= 2 ? 503 : 200;
    });
    await register(r.url);
    const ids = await ordersRelayed(3);
    dispatcher({ baseMs: 40 });
    await until(() => r.accepted.length === 9, 20_000, 'nine deliveries');
    for (const id of ids) {
      const received = r.received.filter((x) => x.event.orderId === id).map((x) => x.event.sequence);
      expect(received, `order ${id}: each event tried three times, never before the earlier one's 2xx`).toEqual([1, 1, 1, 2, 2, 2, 3, 3, 3]);
    }
    for (const times of attemptsAt.values()) {
      // Equal jitter: the first retry waits 20-40 ms, the second 40-80 ms.
      expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(15);
      expect(times[2]! - times[1]!).toBeGreaterThanOrEqual(35);
    }
    const [row] = await db.sql.query<{ attempts: number }>('SELECT max(attempts)::int AS attempts FROM webhook_deliveries');
    expect(row!.attempts).toBe(3);
    expect((await metrics.webhookAttempts.get()).values.find((v) => v.labels.outcome === 'failed')!.value).toBe(18);
  });

  it('parks a delivery that keeps failing past WEBHOOK_RETRY_MAX_AGE_MS, with the later events of its order, and counts them', async () => {
    const r = await receiver(() => 500);
    await register(r.url);
    await ordersRelayed(2);
    dispatcher({ baseMs: 10, maxAgeMs: 150 });
    await until(async () => JSON.stringify(await states()) === JSON.stringify([{ state: 'parked', n: 6 }]), 10_000, 'six parked');
    // Only each order's first event was ever sent: the later ones waited behind it and were parked with it.
    expect(new Set(r.received.map((x) => x.event.sequence))).toEqual(new Set([1]));
    // The count follows the database's update: wait for it.
    await until(async () => (await metrics.webhookParked.get()).values[0]?.value === 6, 5_000, 'six counted');
    const [last] = await db.sql.query<{ last_error: string }>(`SELECT last_error FROM webhook_deliveries WHERE sequence = 1 LIMIT 1`);
    expect(last!.last_error).toBe('HTTP 500');
  });

  it('parks an event that arrives after its order was parked for an endpoint, without sending it', async () => {
    const r = await receiver(() => 500);
    await register(r.url);
    const [orderId] = await ordersRelayed(1);
    dispatcher({ baseMs: 10, maxAgeMs: 100 });
    await until(async () => JSON.stringify(await states()) === JSON.stringify([{ state: 'parked', n: 3 }]), 10_000, 'three parked');
    // A later event of the same order (a cancel) is queued behind the parked ones: parked too, never sent.
    await db.sql.query(`UPDATE webhook_endpoints SET events = events || '{order.cancelled}'`);
    expect(await new OrderStore(db.sql, partitions).transition(orderId!, ['shipped'], 'cancelled', 'refunded', { eventType: 'order.cancelled', payload: {} })).toBe('ok');
    const fences = await claimAll(db.sql, 'node-a', partitions);
    const { relay } = relayFor({ sql: db.sql, node: 'node-a', fences: () => fences, partitions, sink: new NoSink(), metrics });
    await drain(relay, db.sql);
    await until(async () => JSON.stringify(await states()) === JSON.stringify([{ state: 'parked', n: 4 }]), 10_000, 'four parked');
    expect(r.received.every((x) => x.event.sequence === 1)).toBe(true);
    await until(async () => (await metrics.webhookParked.get()).values[0]?.value === 4, 5_000, 'four counted');
  });

  it('lets a dead endpoint delay only itself: a healthy one gets every event while the dead one hangs', async () => {
    const dead = await receiver(() => 'hang');
    const healthy = await receiver();
    await register(dead.url);
    await register(healthy.url);
    await ordersRelayed(4);
    const startedMs = Date.now();
    dispatcher({ timeoutMs: 4_000 });
    await until(() => healthy.accepted.length === 12, 3_900, 'the healthy endpoint to get all twelve');
    expect(Date.now() - startedMs, 'before the dead endpoint times out').toBeLessThan(4_000);
    expect(dead.accepted).toHaveLength(0);
    expect(dead.received.length, 'the dead endpoint holds at most its own slots').toBeLessThanOrEqual(2);
  });

  it('stops at once with a request hanging, recording nothing: the delivery stays pending for the next owner', async () => {
    const dead = await receiver(() => 'hang');
    await register(dead.url, ['order.confirmed']);
    await ordersRelayed(1);
    const d = dispatcher({ timeoutMs: 30_000 });
    await until(() => dead.received.length === 1, 5_000, 'the request to hang');
    const startedMs = Date.now();
    await d.stop();
    expect(Date.now() - startedMs).toBeLessThan(2_000);
    expect(await db.sql.query('SELECT state, attempts FROM webhook_deliveries')).toEqual([{ state: 'pending', attempts: 0 }]);
  });

  it('drops the deliveries of a deleted endpoint and never posts them', async () => {
    const r = await receiver();
    const hook = await register(r.url);
    await ordersRelayed(1);
    expect(await endpoints.delete(hook.id)).toMatchObject({ id: hook.id });
    expect(await db.sql.query('SELECT 1 FROM webhook_deliveries')).toEqual([]);
    expect(await endpoints.get(hook.id)).toBeNull();
  });
});
