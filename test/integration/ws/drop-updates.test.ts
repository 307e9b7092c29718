import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestNode, stock, testAddress, type TestNode } from '../../support/node-harness.js';
import { WsClient } from '../../support/ws-client.js';

/**
 * A node's drops publish to WebSocket subscribers of `drop:<sku>` by default (src/node/drops.ts dropsToSockets): a
 * ticket's state, admission token included, goes only to the sockets that subscribed with that ticket; the sell-out
 * goes to every subscriber of the drop.
 */
describe('drop updates over /ws', () => {
  let t: TestNode;
  const open: WsClient[] = [];
  beforeAll(async () => {
    t = await startTestNode({ driver: 'pg' });
    await t.node.recovered;
    await stock(t, 'WS-DROP', 1);
  });
  afterAll(async () => {
    for (const c of open) c.close();
    await t?.stop();
  });

  it('tells the ticket holder it is admitted, with its token, and only it; then everyone that it sold out', async () => {
    const startsAt = new Date(Date.now() + 1_500).toISOString();
    expect((await t.admin('PUT', '/api/drops/WS-DROP', { startsAt, perCustomerLimit: 1, admissionTtlMs: 30_000 })).status).toBe(200);
    const ticket = (await t.call('POST', '/api/drops/WS-DROP/queue', { customerId: 'ws-buyer' })).body.ticket as string;
    const holder = await WsClient.connect(`ws://127.0.0.1:${t.node.port}/ws`);
    const other = await WsClient.connect(`ws://127.0.0.1:${t.node.port}/ws`);
    open.push(holder, other);
    expect(await holder.request({ id: 'h', op: 'subscribe', topic: 'drop:WS-DROP', ticket })).toEqual({ id: 'h', ok: true });
    expect(await other.request({ id: 'o', op: 'subscribe', topic: 'drop:WS-DROP', ticket: 'tk_someone_else' })).toEqual({ id: 'o', ok: true });

    const admitted = await holder.next((f) => f.topic === 'drop:WS-DROP' && f.data?.state === 'admitted', 15_000);
    expect(admitted.data).toMatchObject({ ticket, state: 'admitted' });
    expect(typeof admitted.data.admissionToken).toBe('string');

    const bought = await t.call('POST', '/api/checkout', { items: [{ sku: 'WS-DROP', qty: 1 }], customerId: 'ws-buyer', paymentMethod: 'pm_card_visa', address: testAddress }, { 'idempotency-key': 'ws-drop-1', 'admission-token': admitted.data.admissionToken });
    expect(bought.status).toBe(201);
    const soldOut = await other.next((f) => f.topic === 'drop:WS-DROP' && f.data?.state === 'sold_out', 15_000);
    expect(soldOut.data).toMatchObject({ state: 'sold_out' });
    // The other socket heard the sell-out, and never the holder's admission (frames keep their order).
    expect(other.take((f) => f.data?.admissionToken !== undefined)).toEqual([]);
  }, 40_000);
});
