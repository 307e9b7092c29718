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

  it('gives a socket that subscribes after the admission its ticket as a poll would, token included; a wrong ticket nothing', async () => {
    await stock(t, 'WS-LATE', 2);
    const startsAt = new Date(Date.now() - 1_000).toISOString();
    expect((await t.admin('PUT', '/api/drops/WS-LATE', { startsAt, perCustomerLimit: 1, admissionTtlMs: 30_000 })).status).toBe(200);
    const ticket = (await t.call('POST', '/api/drops/WS-LATE/queue', { customerId: 'late-buyer' })).body.ticket as string;
    // Admitted before any socket listens (bounded poll of the HTTP route, as a storefront would).
    let polled: any;
    for (const until = Date.now() + 15_000; (polled = (await t.call('GET', `/api/drops/WS-LATE/queue/${ticket}`)).body).state !== 'admitted'; ) {
      if (Date.now() > until) throw new Error(`never admitted: ${JSON.stringify(polled)}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const late = await WsClient.connect(`ws://127.0.0.1:${t.node.port}/ws`);
    const stranger = await WsClient.connect(`ws://127.0.0.1:${t.node.port}/ws`);
    open.push(late, stranger);
    await stranger.request({ id: 's', op: 'subscribe', topic: 'drop:WS-LATE', ticket: 'tk_not_a_ticket' });
    await late.request({ id: 'l', op: 'subscribe', topic: 'drop:WS-LATE', ticket });
    const current = await late.next((f) => f.topic === 'drop:WS-LATE', 10_000);
    expect(current.data).toEqual(polled);
    // The stranger's read answered 404: nothing was sent (a later frame on its socket proves it, frames keep order).
    await stranger.request({ id: 's2', op: 'subscribe', topic: 'stock:WS-LATE' });
    await stranger.next((f) => f.topic === 'stock:WS-LATE', 10_000);
    expect(stranger.take((f) => f.topic === 'drop:WS-LATE')).toEqual([]);
  }, 40_000);
});
