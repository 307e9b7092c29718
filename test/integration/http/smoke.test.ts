import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestNode, stock, testAddress, type TestNode } from '../../support/node-harness.js';

describe('a node on PGlite', () => {
  let t: TestNode;
  beforeAll(async () => {
    t = await startTestNode();
  });
  afterAll(async () => {
    await t.stop();
  });

  it('sells stock through a buy-now checkout and keeps available + held + sold == onHand', async () => {
    await stock(t, 'SMOKE-1', 2);
    const r = await t.call('POST', '/api/checkout', { items: [{ sku: 'SMOKE-1', qty: 2 }], paymentMethod: 'pm_card_visa', address: testAddress }, { 'idempotency-key': 'smoke-1' });
    expect(r.status).toBe(201);
    expect(r.body.status).toBe('confirmed');
    const inv = await t.call('GET', '/api/inventory/SMOKE-1');
    expect(inv.body).toEqual({ sku: 'SMOKE-1', onHand: 2, available: 0, held: 0, sold: 2 });
    const order = await t.call('GET', `/api/orders/${r.body.orderId}`);
    expect(order.status).toBe(200);
    expect(order.body.payment.status).toBe('authorized');
  });

  it('reports the latency breakdown of that checkout in /metrics', async () => {
    const m = await t.call('GET', '/metrics');
    for (const stage of ['checkout', 'actor_queue', 'journal_commit', 'payment_authorize', 'order_write']) {
      const count = new RegExp(`^boxoffice_${stage}_seconds_count (\\d+)$`, 'm').exec(m.body as string);
      expect(Number(count?.[1]), stage).toBeGreaterThan(0);
    }
  });
});
