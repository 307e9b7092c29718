import { describe, expect, it } from 'vitest';
import { runCheckoutSaga } from '../../../src/actors/checkout-saga.js';
import { OrderRejectedError } from '../../../src/persistence/order-writer.js';
import { harness, plan, counts } from './saga-harness.js';

describe('the checkout saga compensating after its authorize step', () => {
  it('voids a 3-D Secure authorization when the database refuses its pending order (docs: voided before the 500)', async () => {
    // The card asks for 3-D Secure: the authorization exists (requires_action, authId known) and the saga writes a
    // pending order. The database refuses that order for good: the checkout answers 500 "nothing was charged", but
    // the PaymentIntent is left open (authMaybe is false, the authorize step is not among the undone steps).
    const h = harness({ A: 5 });
    h.deps = { ...h.deps, orders: { write: async (o) => Promise.reject(new OrderRejectedError(o.orderId, '23514', new Error('check constraint'))) } };
    const out = await runCheckoutSaga(plan([{ sku: 'A', qty: 2 }], 'pm_card_authenticationRequired'), h.deps);
    expect(out).toMatchObject({ t: 'rejected', code: 'INTERNAL', retention: 'durable' });
    expect(counts(h, 'A')).toEqual({ onHand: 5, available: 5, held: 0, sold: 0 });
    expect(h.provider.voids()).toBe(1);
    expect(h.provider.stateOf('pi_sim_1')?.status).toBe('voided');
  });
});
