import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startActorSystem, type ActorSystem } from '../../../src/actors/actor-system.js';
import { InventoryActor, type EventJournal } from '../../../src/actors/inventory-actor.js';
import { PaymentReconciler, type ReconcileKind } from '../../../src/actors/payment-reconciler.js';
import { PinnedHoldResolver } from '../../../src/actors/pinned-hold-resolver.js';
import { SimulatedClock } from '../../../src/clock.js';
import { asCheckoutId, asSku, holdIdFor } from '../../../src/domain/ids.js';
import { emptyInventory } from '../../../src/domain/inventory.js';
import { SimulatedPaymentProvider } from '../../../src/payments/simulated-provider.js';
import type { StoredOrder } from '../../../src/persistence/order-store.js';

/**
 * A checkout can hold two authorizations (its create re-sent after the provider forgot the key). A provider binds a
 * key to its first request (Stripe: 400 idempotency_error on another PaymentIntent; the simulator alike), so voids
 * that are not of the order's own authorization are keyed by the authorization (`<authId>:void`): one shared key
 * would leave the second open until it lapses (7 days), and the resolver would leave the checkout's pinned hold for
 * ever.
 */
const maxAgeMs = 120_000;

describe('voids of a checkout with two authorizations', () => {
  it('the reconciler voids an orphan authorization whose checkout\'s saga already voided another with <orderId>:void', async () => {
    const clock = new SimulatedClock();
    const provider = new SimulatedPaymentProvider({ now: () => clock.now() });
    const found: ReconcileKind[] = [];
    const reconciler = new PaymentReconciler({
      payments: provider,
      lease: { take: async () => true, release: async () => undefined },
      ordersOf: async () => [], // the checkout gave up (HOLD_EXPIRED, say): no order
      sagaFinished: async () => true,
      sweepPending: async () => undefined,
      orphanMaxAgeMs: maxAgeMs,
      count: (kind) => found.push(kind),
      clock,
      log: pino({ level: 'silent' }),
    });
    const metadata = { checkoutId: 'co_1', orderId: 'ord_1', checkoutKey: 'key-1' };
    const first = await provider.authorize({ idempotencyKey: 'co_1:authorize', amountMinor: 1_000, currency: 'USD', paymentMethod: 'pm_card_visa', metadata });
    // The same create, after the provider forgot its key: a second PaymentIntent of the same checkout.
    const second = await provider.authorize({ idempotencyKey: 'co_1:authorize:after-key-expiry', amountMinor: 1_000, currency: 'USD', paymentMethod: 'pm_card_visa', metadata });
    if (first.kind !== 'authorized' || second.kind !== 'authorized') throw new Error('expected two authorizations');
    // The saga's compensation voided the one it knew, with its key `<orderId>:void` (checkout-saga.ts voidPayment).
    expect(await provider.void({ idempotencyKey: 'ord_1:void', authId: first.authId })).toEqual({ ok: true });
    clock.advance(maxAgeMs + 1);
    for (let round = 0; round < 3; round++) await reconciler.reconcile();
    expect(found).not.toContain('void_failed');
    expect(provider.stateOf(second.authId)?.status).toBe('voided');
  });

  it('the reconciler voids both orphan authorizations of one checkout', async () => {
    const clock = new SimulatedClock();
    const provider = new SimulatedPaymentProvider({ now: () => clock.now() });
    const found: ReconcileKind[] = [];
    const reconciler = new PaymentReconciler({
      payments: provider,
      lease: { take: async () => true, release: async () => undefined },
      ordersOf: async () => [],
      sagaFinished: async () => true,
      sweepPending: async () => undefined,
      orphanMaxAgeMs: maxAgeMs,
      count: (kind) => found.push(kind),
      clock,
      log: pino({ level: 'silent' }),
    });
    const metadata = { checkoutId: 'co_1', orderId: 'ord_1', checkoutKey: 'key-1' };
    const a = await provider.authorize({ idempotencyKey: 'co_1:authorize', amountMinor: 1_000, currency: 'USD', paymentMethod: 'pm_card_visa', metadata });
    const b = await provider.authorize({ idempotencyKey: 'co_1:authorize:after-key-expiry', amountMinor: 1_000, currency: 'USD', paymentMethod: 'pm_card_visa', metadata });
    if (a.kind !== 'authorized' || b.kind !== 'authorized') throw new Error('expected two authorizations');
    clock.advance(maxAgeMs + 1);
    for (let round = 0; round < 3; round++) await reconciler.reconcile();
    expect([provider.stateOf(a.authId)?.status, provider.stateOf(b.authId)?.status]).toEqual(['voided', 'voided']);
    expect(found).not.toContain('void_failed');
  });
});

class MemoryJournal implements EventJournal {
  seq = 0;
  async append(): Promise<number> {
    return ++this.seq;
  }
}

let system: ActorSystem;
let systems = 0;
beforeEach(() => {
  system = startActorSystem(`void-keys-${++systems}`);
});
afterEach(() => system.stop());

describe('the pinned-hold resolver and a checkout with two authorizations', () => {
  it('voids both and releases the hold, instead of leaving it pinned for ever', async () => {
    const ttlMs = 60_000;
    const clock = new SimulatedClock();
    const state = emptyInventory(asSku('A'));
    state.onHand = 10;
    const bug = (err: unknown) => {
      throw err;
    };
    const sku = new InventoryActor({ system, journal: new MemoryJournal(), clock, partition: 0, entity: 'sku:A', snapshotEveryEvents: 1e9, onSnapshot: () => {}, onJournalFailure: bug, onBug: bug }, state);
    const provider = new SimulatedPaymentProvider();
    const resolver = new PinnedHoldResolver({
      pinnedBefore: (ms) => sku.pinnedBefore(ms).map((h) => ({ ...h, sku: 'A' })),
      inventory: () => sku,
      checkoutRunning: async () => false,
      sagaFinished: async () => true,
      ordersOf: async () => [] as StoredOrder[],
      payments: provider,
      clock,
      log: pino({ level: 'silent' }),
    });
    const holdId = holdIdFor(asCheckoutId('co_1'), asSku('A'));
    await sku.ask({ t: 'reserve', holdId, qty: 1, ttlMs, checkoutId: 'co_1', checkoutKey: 'key-1' });
    await sku.ask({ t: 'pin', holdId });
    const metadata = { checkoutId: 'co_1', orderId: 'ord_1', checkoutKey: 'key-1' };
    const a = await provider.authorize({ idempotencyKey: 'co_1:authorize', amountMinor: 100, currency: 'USD', paymentMethod: 'pm_card_visa', metadata });
    const b = await provider.authorize({ idempotencyKey: 'co_1:authorize:after-key-expiry', amountMinor: 100, currency: 'USD', paymentMethod: 'pm_card_visa', metadata });
    if (a.kind !== 'authorized' || b.kind !== 'authorized') throw new Error('expected two authorizations');
    clock.advance(ttlMs + 1);
    for (let round = 0; round < 3; round++) await resolver.resolve();
    expect([provider.stateOf(a.authId)?.status, provider.stateOf(b.authId)?.status]).toEqual(['voided', 'voided']);
    expect(sku.view).toMatchObject({ held: 0, available: 10 });
  });
});
