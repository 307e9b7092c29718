import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrderEvent } from '../../../src/domain/order-events.js';
import { startTestNode, stock, testAddress, type TestNode } from '../../support/node-harness.js';
import { startReceiver, until } from './events-support.js';

/** One real node (PostgreSQL, no Redis): the relay, the webhooks and the feed as startNode wires them. */
let t: TestNode;

beforeAll(async () => {
  t = await startTestNode({ driver: 'pg', env: { EVENTS_SINK: 'none', WEBHOOK_RETRY_DELAY_MS_BASE: '10' } });
}, 60_000);

afterAll(async () => {
  await t?.stop();
});

describe('a node sends its order events out', () => {
  it('to a registered webhook and to the feed, in sequence order, for a checkout, a ship and a refund', async () => {
    const heard: OrderEvent[] = [];
    const unsubscribe = t.node.events.feed.subscribe((e) => heard.push(e));
    const receiver = await startReceiver((_r, n) => (n === 1 ? 500 : 200));
    try {
      const hook = await t.admin('POST', '/api/admin/webhooks', { url: receiver.url, events: ['order.confirmed', 'payment.captured', 'order.shipped', 'payment.refunded'] });
      expect(hook.status).toBe(201);
      await stock(t, 'EV-1', 5);
      const checkout = await t.call('POST', '/api/checkout', { items: [{ sku: 'EV-1', qty: 1 }], paymentMethod: 'pm_card_visa', address: testAddress }, { 'idempotency-key': 'events-node-1' });
      expect(checkout.status).toBe(201);
      const orderId = checkout.body.orderId as string;
      expect((await t.admin('POST', `/api/orders/${orderId}/ship`)).status).toBe(200);
      expect((await t.admin('POST', `/api/orders/${orderId}/refund`, { amountMinor: 100 })).status).toBe(200);
      const types = ['order.confirmed', 'payment.captured', 'order.shipped', 'payment.refunded'];
      await until(() => receiver.accepted.length === 4, 15_000, 'four webhook deliveries');
      expect(receiver.accepted.map((r) => [r.event.type, r.event.sequence])).toEqual(types.map((type, i) => [type, i + 1]));
      expect(receiver.received[0]!.event.sequence, 'the refused first attempt was retried before anything later').toBe(1);
      await until(() => heard.length === 4, 5_000, 'the feed');
      expect(heard.map((e) => e.type)).toEqual(types);
      expect(heard.every((e) => e.orderId === orderId)).toBe(true);
      expect(heard[3]!.data).toMatchObject({ refundNumber: 1, amountMinor: 100 });
      const metrics = async () => String((await t.call('GET', '/metrics')).body);
      // The receiver answers before the node records the 2xx: wait for the record.
      await until(async () => /boxoffice_webhook_deliveries_total\{outcome="delivered"\} 4/.test(await metrics()), 5_000, 'four delivered attempts counted');
      expect(await metrics()).toMatch(/boxoffice_events_lag_seconds \d/);
    } finally {
      unsubscribe();
      await receiver.close();
    }
  }, 60_000);
});
