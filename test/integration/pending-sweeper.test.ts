import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimulatedClock } from '../../src/clock.js';
import { SimulatedPaymentProvider } from '../../src/payments/simulated-provider.js';
import { startTestNode, stock, testAddress, type TestNode } from '../support/node-harness.js';

/**
 * Orders whose payment outcome was unknown at checkout (202 pending) are resolved by the sweeper: it re-sends the
 * authorization with the same key and confirms, fails, or voids. The provider here is "down" (requests never
 * processed) until a test brings it back; the clock is simulated so hold expiry happens exactly when a test says.
 */
describe('the pending-order sweeper', () => {
  let t: TestNode;
  let providerDown = true;
  const clock = new SimulatedClock(Date.now());
  const provider = new SimulatedPaymentProvider({ beforeAuthorize: () => (providerDown ? 'timeout-unprocessed' : undefined) });

  beforeAll(async () => {
    t = await startTestNode({ env: { SWEEP_INTERVAL_MS: '100', HOLD_TTL_MS: '60000' }, node: { payments: provider, clock } });
  });
  afterAll(async () => {
    await t.stop();
  });

  const checkout = (key: string, sku: string, paymentMethod: string) =>
    t.call('POST', '/api/checkout', { items: [{ sku, qty: 2 }], paymentMethod, address: testAddress }, { 'idempotency-key': key });

  /** Polls the order until its status leaves `pending`, with a deadline. */
  async function settled(orderId: string): Promise<any> {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const o = await t.call('GET', `/api/orders/${orderId}`);
      if (o.body.status !== 'pending') return o.body;
      if (Date.now() > deadline) throw new Error(`order ${orderId} still pending`);
      await new Promise((r) => setImmediate(r));
    }
  }

  it('answers 202 pending and keeps the holds while the payment outcome is unknown', async () => {
    await stock(t, 'PEND-A', 5);
    providerDown = true;
    const r = await checkout('pend-a', 'PEND-A', 'pm_card_visa');
    expect(r.status).toBe(202);
    expect(r.body).toMatchObject({ status: 'pending' });
    expect((await t.call('GET', '/api/inventory/PEND-A')).body).toMatchObject({ available: 3, held: 2, sold: 0 });
    providerDown = false;
    const order = await settled(r.body.orderId);
    expect(order.status).toBe('confirmed');
    expect(order.payment.status).toBe('authorized');
    expect((await t.call('GET', '/api/inventory/PEND-A')).body).toEqual({ sku: 'PEND-A', onHand: 5, available: 3, held: 0, sold: 2 });
    // The confirmed order can be shipped: its authorization id was recorded when it was resolved.
    expect((await t.admin('POST', `/api/orders/${r.body.orderId}/ship`)).body.status).toBe('shipped');
  });

  it('fails the order and releases the holds when the card turns out declined', async () => {
    await stock(t, 'PEND-B', 5);
    providerDown = true;
    const r = await checkout('pend-b', 'PEND-B', 'pm_card_chargeDeclined');
    expect(r.status).toBe(202);
    providerDown = false;
    expect((await settled(r.body.orderId)).status).toBe('failed');
    expect((await t.call('GET', '/api/inventory/PEND-B')).body).toEqual({ sku: 'PEND-B', onHand: 5, available: 5, held: 0, sold: 0 });
  });

  it('voids the authorization and fails the order when its holds expired before the provider answered', async () => {
    await stock(t, 'PEND-C', 5);
    providerDown = true;
    const voidsBefore = provider.voids();
    const r = await checkout('pend-c', 'PEND-C', 'pm_card_visa');
    expect(r.status).toBe(202);
    clock.advance(60_001);
    // The expiry is a message to the SKU actor; wait until it was handled.
    const deadline = Date.now() + 5_000;
    while ((await t.call('GET', '/api/inventory/PEND-C')).body.held !== 0) {
      if (Date.now() > deadline) throw new Error('hold did not expire');
    }
    providerDown = false;
    expect((await settled(r.body.orderId)).status).toBe('failed');
    expect(provider.voids()).toBe(voidsBefore + 1);
    expect((await t.call('GET', '/api/inventory/PEND-C')).body).toEqual({ sku: 'PEND-C', onHand: 5, available: 5, held: 0, sold: 0 });
  });
});
