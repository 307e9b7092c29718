import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { PaymentReconciler, type ReconcileKind } from '../../../src/actors/payment-reconciler.js';
import { SimulatedClock } from '../../../src/clock.js';
import { SimulatedPaymentProvider } from '../../../src/payments/simulated-provider.js';
import type { StoredOrder } from '../../../src/persistence/order-store.js';

/**
 * The reconciler must never void the authorization of a confirmed order, and must void every
 * open authorization of a checkout that is not its order's own.
 */
const maxAgeMs = 120_000;

type OrderStub = Pick<StoredOrder, 'orderId' | 'checkoutId' | 'status'> & { payment: { authId: string | null } };

function world() {
  const clock = new SimulatedClock();
  const provider = new SimulatedPaymentProvider({ now: () => clock.now() });
  const orders = new Map<string, OrderStub>();
  const found: ReconcileKind[] = [];
  let sagaFinished: (key: string) => Promise<boolean> = async () => true;
  const reconciler = new PaymentReconciler({
    payments: provider,
    lease: { take: async () => true, release: async () => undefined },
    ordersOf: async (ids) => ids.flatMap((id) => (orders.has(id) ? [orders.get(id) as unknown as StoredOrder] : [])),
    sagaFinished: (key) => sagaFinished(key),
    sweepPending: async () => undefined,
    orphanMaxAgeMs: maxAgeMs,
    count: (kind) => found.push(kind),
    clock,
    log: pino({ level: 'silent' }),
  });
  const authorize = async (i: number, idempotencyKey = `co_${i}:authorize`) => {
    const out = await provider.authorize({
      idempotencyKey,
      amountMinor: 1_000,
      currency: 'USD',
      paymentMethod: 'pm_card_visa',
      metadata: { checkoutId: `co_${i}`, orderId: `ord_${i}`, checkoutKey: `key-${i}` },
    });
    if (out.kind !== 'authorized') throw new Error(`expected an authorization, got ${out.kind}`);
    return out.authId;
  };
  return {
    clock,
    provider,
    orders,
    found,
    reconciler,
    authorize,
    status: (authId: string) => provider.stateOf(authId)?.status,
    onSagaFinished: (fn: (key: string) => Promise<boolean>) => (sagaFinished = fn),
  };
}

describe('PaymentReconciler against sagas and orders that move while it runs', () => {
  it('does not void the authorization of an order its saga wrote while the round ran (order read before the tombstone)', async () => {
    // A slow saga (retried writes, a failover) authorized more than ORPHAN_AUTH_MAX_AGE_MS ago. The round lists the
    // authorization and reads the orders (none yet); the saga then writes its confirmed order and tombstones itself;
    // the round asks whether the saga is over (yes) and voids: a confirmed order without an authorization.
    const w = world();
    const authId = await w.authorize(1);
    w.clock.advance(maxAgeMs + 1);
    w.onSagaFinished(async (key) => {
      expect(key).toBe('key-1');
      // The saga finishes between the round's read of the orders and this question: order first, tombstone after.
      w.orders.set('co_1', { orderId: 'ord_1', checkoutId: 'co_1', status: 'confirmed', payment: { authId } });
      return true;
    });
    await w.reconciler.reconcile();
    expect(w.orders.get('co_1')?.status).toBe('confirmed');
    expect(w.status(authId)).toBe('authorized');
  });

  it('voids an open authorization of a checkout whose order holds another one', async () => {
    // A second PaymentIntent for one checkout (the create re-sent after Stripe forgot the key, 24 h on): its order is
    // confirmed on the first, so the second has no order of its own. Nothing voids it: it is only ever logged
    // `expiring`, and the customer's card stays held until the provider lets it lapse (7 days).
    const w = world();
    const own = await w.authorize(1);
    const stray = await w.authorize(1, 'co_1:authorize:after-key-expiry');
    w.orders.set('co_1', { orderId: 'ord_1', checkoutId: 'co_1', status: 'confirmed', payment: { authId: own } });
    w.clock.advance(maxAgeMs + 1);
    await w.reconciler.reconcile();
    expect(w.status(own)).toBe('authorized');
    expect(w.status(stray)).toBe('voided');
  });
});
