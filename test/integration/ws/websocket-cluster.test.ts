import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type TestCluster } from '../../support/cluster-harness.js';
import { WsClient } from '../../support/ws-client.js';
import { owners, settled, skuPartition, stockSkus, testAddress } from '../cluster/cluster-support.js';

/**
 * /ws on a real cluster of two node processes (one PostgreSQL, one Redis): a socket on one node hears the stock
 * updates of a SKU owned by the other (published by the owner, fanned out through Redis), reads its current count
 * from the owner, and its commands about entities of the other node are forwarded and answered as HTTP answers.
 */
const partitions = 16;
let c: TestCluster;
const clients: WsClient[] = [];

beforeAll(async () => {
  c = await startCluster({ nodes: 2, partitions });
  await settled(c, 2);
}, 180_000);

afterAll(async () => {
  for (const w of clients) w.close();
  await c?.stop();
});

const wsUrl = (i: number) => `${c.url(i).replace('http://', 'ws://')}/ws`;
const connect = async (i: number) => {
  const w = await WsClient.connect(wsUrl(i));
  clients.push(w);
  return w;
};

/** A SKU name whose partition `nodeId` owns now. */
async function skuOwnedBy(nodeId: string, prefix: string): Promise<string> {
  const own = await owners(c);
  for (let i = 0; i < 1_000; i++) if (own.get(skuPartition(`${prefix}-${i}`, partitions))?.nodeId === nodeId) return `${prefix}-${i}`;
  throw new Error(`no SKU of ${nodeId} found`);
}

describe('WebSocket in a cluster', () => {
  it('lets a socket on node-1 hear the stock of a SKU node-2 owns, from its first count to every change', async () => {
    const sku = await skuOwnedBy('node-2', 'WSC');
    await stockSkus(c, [{ sku, onHand: 20 }]);
    const far = await connect(0);
    const near = await connect(1);
    for (const w of [far, near]) {
      expect(await w.request({ op: 'subscribe', topic: `stock:${sku}` })).toMatchObject({ ok: true });
      expect(await w.next((f) => f.topic === `stock:${sku}`)).toEqual({ topic: `stock:${sku}`, data: { sku, available: 20 } });
    }
    // A checkout sent to node-1's socket runs on the owners of its key and SKU, wherever they are.
    const buy = { items: [{ sku, qty: 3 }], paymentMethod: 'pm_card_visa', address: testAddress };
    const answer = await far.request({ op: 'checkout', idempotencyKey: `wsc-${sku}`, ...buy });
    expect(answer).toMatchObject({ status: 201, body: { status: 'confirmed' } });
    for (const w of [far, near]) expect(await w.next((f) => f.topic === `stock:${sku}` && f.data.available === 17)).toEqual({ topic: `stock:${sku}`, data: { sku, available: 17 } });
  }, 60_000);

  it('answers a forwarded command exactly as HTTP does through the same node', async () => {
    const sku = await skuOwnedBy('node-2', 'WSF');
    await stockSkus(c, [{ sku, onHand: 5 }]);
    const w = await connect(0);
    const strip = (body: any) => ({ ...body, cartId: '*', expiresAt: '*' });
    const viaWs = await w.request({ op: 'cart.add', sku, qty: 2 });
    const viaHttp = await fetch(`${c.url(0)}/api/cart/items`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sku, qty: 2 }) });
    expect(viaWs.status).toBe(viaHttp.status);
    expect(strip(viaWs.body)).toEqual(strip(await viaHttp.json()));
    const again = await w.request({ op: 'cart.add', cartId: viaWs.body.cartId, sku, qty: 1 });
    expect(again).toMatchObject({ status: 200, body: { cartId: viaWs.body.cartId, lines: [{ sku, qty: 3 }] } });
    const short = await w.request({ op: 'checkout', idempotencyKey: `wsf-${sku}`, items: [{ sku, qty: 99 }], paymentMethod: 'pm_card_visa', address: testAddress });
    const shortHttp = await fetch(`${c.url(0)}/api/checkout`, { method: 'POST', headers: { 'content-type': 'application/json', 'idempotency-key': `wsf-http-${sku}` }, body: JSON.stringify({ items: [{ sku, qty: 99 }], paymentMethod: 'pm_card_visa', address: testAddress }) });
    expect(short).toMatchObject({ status: shortHttp.status, body: await shortHttp.json() });
  }, 60_000);
});
