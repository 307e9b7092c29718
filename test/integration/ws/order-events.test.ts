import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestNode, stock, testAddress, type TestNode } from '../../support/node-harness.js';
import { WsClient } from '../../support/ws-client.js';

/**
 * Order events reach WebSocket subscribers of `order:<orderId>` (issue 12): the events relay hands each event it
 * delivers to the topic hub (src/node/events.ts), so a socket hears the order's status changes as they commit, as
 * `{ topic, data: event }`, in sequence order.
 */
describe('order events over /ws', () => {
  let t: TestNode;
  let c: WsClient;
  beforeAll(async () => {
    t = await startTestNode({ driver: 'pg' });
    c = await WsClient.connect(`ws://127.0.0.1:${t.node.port}/ws`);
    await t.node.recovered;
    await stock(t, 'WS-EVT', 5);
  });
  afterAll(async () => {
    c?.close();
    await t?.stop();
  });

  it('hears payment.captured then order.shipped when the order it follows ships', async () => {
    const made = await t.call('POST', '/api/checkout', { items: [{ sku: 'WS-EVT', qty: 1 }], paymentMethod: 'pm_card_visa', address: testAddress }, { 'idempotency-key': 'ws-evt-1' });
    expect(made.status).toBe(201);
    const orderId = made.body.orderId as string;
    expect(await c.request({ id: 's1', op: 'subscribe', topic: `order:${orderId}` })).toEqual({ id: 's1', ok: true });
    expect((await t.admin('POST', `/api/orders/${orderId}/ship`)).status).toBe(200);
    const captured = await c.next((f) => f.topic === `order:${orderId}` && f.data?.type === 'payment.captured');
    const shipped = await c.next((f) => f.topic === `order:${orderId}` && f.data?.type === 'order.shipped');
    expect(captured.data).toMatchObject({ orderId, type: 'payment.captured' });
    expect(shipped.data).toMatchObject({ orderId, type: 'order.shipped' });
    expect(shipped.data.sequence).toBeGreaterThan(captured.data.sequence);
    expect(typeof shipped.data.id).toBe('string');
  });
});
