import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { wsLimits } from '../../../src/config/limits.js';
import { runPool } from '../../support/checkout-client.js';
import { startTestNode, stock, type TestNode } from '../../support/node-harness.js';
import { intBetween, seededRng, seedToRun } from '../../support/seeded-random.js';
import { WsClient } from '../../support/ws-client.js';

/**
 * stock:<sku> on a real node under a burst of holds (real PostgreSQL): subscribers hear at most 10 updates a
 * second per SKU, each one a count the SKU really had, and the last one is the count the SKU ends with.
 */
describe('stock:<sku> updates under a burst', () => {
  let t: TestNode;
  beforeAll(async () => {
    t = await startTestNode({ driver: 'pg' });
  });
  afterAll(async () => {
    await t.stop();
  });

  it('sends at most 10 a second and ends on the final count', async () => {
    const seed = seedToRun(12);
    const rng = seededRng(seed);
    const onHand = 2_000;
    await stock(t, 'BURST', onHand);
    const c = await WsClient.connect(`ws://127.0.0.1:${t.node.port}/ws`);
    const arrivals: { atMs: number; available: number }[] = [];
    c.socket.on('message', (data: Buffer) => {
      const f = JSON.parse(data.toString());
      if (f.topic === 'stock:BURST') arrivals.push({ atMs: performance.now(), available: f.data.available });
    });
    await c.request({ op: 'subscribe', topic: 'stock:BURST' });
    await c.next((f) => f.topic === 'stock:BURST');
    const sizes = Array.from({ length: 600 }, () => intBetween(rng, 1, 3));
    const startedMs = performance.now();
    const { errors } = await runPool(sizes.map((qty) => async () => {
      const r = await t.admin('POST', '/api/inventory/BURST/holds', { qty });
      if (r.status !== 201) throw new Error(`hold: ${r.status}`);
    }), 16);
    const burstMs = performance.now() - startedMs;
    expect(errors, `seed ${seed}`).toEqual([]);
    const final = onHand - sizes.reduce((a, b) => a + b, 0);
    expect((await t.call('GET', '/api/inventory/BURST')).body.available).toBe(final);
    await c.next((f) => f.topic === 'stock:BURST' && f.data.available === final);
    const updates = arrivals.slice(1);
    // Each update is a count the SKU passed through on its way down, in order.
    for (let i = 1; i < updates.length; i++) expect(updates[i]!.available).toBeLessThan(updates[i - 1]!.available);
    // No second holds more than 10 updates (the network may bunch two arrivals: measured at the node they are 100 ms apart).
    const perSecondMax = 1_000 / wsLimits.stockUpdateIntervalMs;
    for (const u of updates) expect(updates.filter((v) => v.atMs >= u.atMs && v.atMs < u.atMs + 1_000).length, `seed ${seed}`).toBeLessThanOrEqual(perSecondMax + 1);
    expect(updates.length).toBeLessThanOrEqual(Math.ceil(burstMs / wsLimits.stockUpdateIntervalMs) + 2);
    expect(updates.length).toBeLessThan(sizes.length / 4);
    if (process.env["BO_WS_REPORT"]) console.log(`burst ${Math.round(burstMs)} ms, ${sizes.length} holds, ${updates.length} updates`);
    c.close();
  }, 60_000);
});
