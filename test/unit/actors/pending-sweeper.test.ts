import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startActorSystem, type ActorSystem } from '../../../src/actors/actor-system.js';
import { InventoryActor } from '../../../src/actors/inventory-actor.js';
import { OrderService } from '../../../src/actors/order-service.js';
import { PendingSweeper, type SweepLease } from '../../../src/actors/pending-sweeper.js';
import { PromoLedger } from '../../../src/actors/promo-ledger.js';
import { SimulatedClock } from '../../../src/clock.js';
import { asCheckoutId, asSku, holdIdFor } from '../../../src/domain/ids.js';
import { emptyInventory } from '../../../src/domain/inventory.js';
import { MemoryJournal, MemoryOrders } from './memory-doubles.js';
import { SimulatedPaymentProvider, type SimulatedFault } from '../../../src/payments/simulated-provider.js';

/**
 * The pending-order sweeper against real SKU actors and the simulated provider, with an in-memory order store whose
 * status changes are conditional like the real one's (src/persistence/order-store.ts). What is under test: sweeps
 * that overlap, copies of an order that went stale, and which provider answers settle an order.
 */

/** One lease for every sweeper of the "cluster": held by one holder at a time. */
class SharedLease {
  holder: string | null = null;
  for(name: string): SweepLease {
    return {
      take: async () => (this.holder === null || this.holder === name ? ((this.holder = name), true) : false),
      release: async () => void (this.holder === name && (this.holder = null)),
    };
  }
}

let system: ActorSystem;
let systems = 0;
beforeEach(() => {
  system = startActorSystem(`sweeper-test-${++systems}`);
});
afterEach(() => system.stop());

function world(fault?: () => SimulatedFault | void) {
  const clock = new SimulatedClock();
  const state = emptyInventory(asSku('A'));
  state.onHand = 10;
  const bug = (err: unknown) => {
    throw err;
  };
  const sku = new InventoryActor({ system, journal: new MemoryJournal(), clock, partition: 0, entity: 'sku:A', snapshotEveryEvents: 1e9, onSnapshot: () => {}, onJournalFailure: bug, onBug: bug }, state);
  const provider = new SimulatedPaymentProvider(fault ? { beforeAuthorize: fault } : {});
  const store = new MemoryOrders();
  const promos = new PromoLedger(async () => ({ total: 0, byCustomer: 0 }));
  const log = pino({ level: 'silent' });
  const sweeper = (lease: SweepLease | null) =>
    new PendingSweeper({ store, orders: new OrderService(store, provider, () => sku, promos, log), payments: provider, inventory: () => sku, promos, log, lease, holdTtlMs: 60_000, clock });
  return { clock, sku, provider, store, sweeper };
}

/** A pending order of 2 units whose hold is active (the state a 202 leaves). */
async function pendingOrder(w: ReturnType<typeof world>, n: number): Promise<string> {
  const checkoutId = `co_${n}`;
  const orderId = `ord_${n}`;
  await w.sku.ask({ t: 'reserve', holdId: holdIdFor(asCheckoutId(checkoutId), asSku('A')), qty: 2, ttlMs: 60_000, checkoutId });
  w.store.orders.set(orderId, {
    orderId, checkoutId, idempotencyKey: `k${n}`, userId: null, customerKey: 'cus:1', status: 'pending', currency: 'USD', subtotal: 2_000, discount: 0, shipping: 0, tax: 0, total: 2_000,
    promoCode: null, address: {}, priced: { paymentMethod: 'pm_card_visa' }, snapshotHash: 'h', createdAt: new Date(w.clock.now()), updatedAt: new Date(w.clock.now()), items: [{ sku: 'A', qty: 2, price: 1_000, discount: 0, tax: 0, lineTotal: 2_000 }],
    payment: { paymentId: `pay_${checkoutId}`, status: 'pending', authId: null, amount: 2_000, currency: 'USD', provider: 'simulated', capturedMinor: 0, refundedMinor: 0 },
    restockState: null,
    paymentMethod: 'pm_card_visa',
  });
  return orderId;
}

describe('the pending-order sweeper', () => {
  it('never voids a confirmed order when a later sweep works from a copy read before the confirmation', async () => {
    const w = world();
    const orderId = await pendingOrder(w, 1);
    const stale = await w.store.listPending();
    expect(await w.sweeper(null).sweep()).toBe(1);
    expect(w.store.orders.get(orderId)).toMatchObject({ status: 'confirmed', payment: { status: 'authorized', authId: 'pi_sim_1' } });
    // A second sweep (another node, or one that started before the first ended) still holds the pending copy.
    w.store.listed = stale;
    await w.sweeper(null).sweep();
    expect(w.provider.voids()).toBe(0);
    expect(w.store.orders.get(orderId)?.status).toBe('confirmed');
    expect(w.sku.view).toMatchObject({ held: 0, sold: 2 });
  });

  it('runs one sweep at a time: a sweep called while one runs joins it, and a second holder waits for the lease', async () => {
    const w = world();
    await pendingOrder(w, 1);
    await pendingOrder(w, 2);
    const lease = new SharedLease();
    const a = w.sweeper(lease.for('node-1'));
    const b = w.sweeper(lease.for('node-2'));
    const [first, joined, other] = await Promise.all([a.sweep(), a.sweep(), b.sweep()]);
    expect([first, joined, other]).toEqual([2, 2, 0]);
    expect(w.provider.authorizations()).toBe(2);
    expect(w.provider.voids()).toBe(0);
    expect(lease.holder).toBeNull();
  });

  it('keeps an order pending when the provider answers with an error that says nothing happened', async () => {
    const w = world(() => 'error');
    const orderId = await pendingOrder(w, 3);
    expect(await w.sweeper(null).sweep()).toBe(0);
    expect(w.store.orders.get(orderId)?.status).toBe('pending');
    expect(w.sku.view).toMatchObject({ held: 2 });
  });

  it('voids and fails the order when its hold expired, and only then', async () => {
    const w = world();
    const orderId = await pendingOrder(w, 4);
    w.clock.advance(60_001);
    await w.sku.ask({ t: 'expire', holdIds: [] });
    expect(await w.sweeper(null).sweep()).toBe(1);
    expect(w.provider.voids()).toBe(1);
    expect(w.store.orders.get(orderId)).toMatchObject({ status: 'failed', payment: { status: 'voided' } });
  });
});

describe('the pending-order sweeper and 3-D Secure', () => {
  /** A pending order whose authorization waits for the customer (the saga wrote its id). */
  async function waiting(w: ReturnType<typeof world>, n: number) {
    const orderId = await pendingOrder(w, n);
    const o = w.store.orders.get(orderId)!;
    const auth = await w.provider.authorize({ idempotencyKey: `${o.checkoutId}:authorize`, amountMinor: 2_000, currency: 'USD', paymentMethod: 'pm_card_authenticationRequired', metadata: { checkoutId: o.checkoutId } });
    if (auth.kind !== 'requires_action') throw new Error('expected requires_action');
    o.payment.authId = auth.authId;
    (o.priced as { paymentMethod: string }).paymentMethod = 'pm_card_authenticationRequired';
    return { orderId, authId: auth.authId };
  }

  it('leaves the order pending while the customer has not authenticated, and confirms it once they did', async () => {
    const w = world();
    const { orderId, authId } = await waiting(w, 5);
    expect(await w.sweeper(null).sweep()).toBe(0);
    expect(w.store.orders.get(orderId)?.status).toBe('pending');
    w.provider.authenticate(authId, 'succeed');
    expect(await w.sweeper(null).sweep()).toBe(1);
    expect(w.store.orders.get(orderId)).toMatchObject({ status: 'confirmed', payment: { status: 'authorized', authId } });
    expect(w.sku.view).toMatchObject({ held: 0, sold: 2 });
  });

  it('fails the order, releases its holds and cancels the authorization when authentication failed', async () => {
    const w = world();
    const { orderId, authId } = await waiting(w, 6);
    w.provider.authenticate(authId, 'fail');
    expect(await w.sweeper(null).sweep()).toBe(1);
    expect(w.store.orders.get(orderId)?.status).toBe('failed');
    expect(w.sku.view).toMatchObject({ held: 0, sold: 0, available: 10 });
    // Cancelled, so the customer cannot confirm it again (with another card) for an order that failed.
    expect(w.provider.stateOf(authId)?.status).toBe('voided');
  });

  it('cancels the authorization and fails the order once its holds expired unauthenticated', async () => {
    const w = world();
    const { orderId, authId } = await waiting(w, 7);
    w.clock.advance(60_001);
    expect(await w.sweeper(null).sweep()).toBe(1);
    expect(w.store.orders.get(orderId)).toMatchObject({ status: 'failed', payment: { status: 'voided' } });
    expect(w.provider.stateOf(authId)?.status).toBe('voided');
    // Authenticating now is too late: the authorization is gone.
    expect(w.provider.authenticate(authId, 'succeed')).toBe(false);
  });
});

describe('the pending-order sweeper and what it cannot know', () => {
  it('does not fail a pending order whose first authorization may exist when the re-send is refused for a reason that is not the card', async () => {
    // The checkout's authorization was made but its answer lost (202 pending, no authorization id). At the sweep the
    // re-send with the same key is refused for a reason that says nothing about that first request (Stripe 401 after
    // an API key rotation, 403 for a restricted key): the outcome is still unknown. Failing the order releases its
    // stock while the customer's card is held, contrary to "an outcome the provider did not tell us is unknown,
    // never failed".
    const w = world(() => 'timeout');
    const orderId = await pendingOrder(w, 1);
    await w.provider.authorize({ idempotencyKey: 'co_1:authorize', amountMinor: 2_000, currency: 'USD', paymentMethod: 'pm_card_visa', metadata: { checkoutId: 'co_1', orderId, checkoutKey: 'k1' } }).catch(() => undefined);
    expect(w.provider.authorizations()).toBe(1);
    const refusing = Object.assign(Object.create(w.provider) as SimulatedPaymentProvider, {
      authorize: async () => ({ kind: 'error' as const, retryable: false, message: 'authentication_error: Invalid API Key provided' }),
    });
    const log = pino({ level: 'silent' });
    const promos = new PromoLedger(async () => ({ total: 0, byCustomer: 0 }));
    const sweeper = new PendingSweeper({ store: w.store, orders: new OrderService(w.store, refusing, () => w.sku, promos, log), payments: refusing, inventory: () => w.sku, promos, log, lease: null, holdTtlMs: 60_000, clock: w.clock });
    await sweeper.sweep();
    expect(w.store.orders.get(orderId)?.status).toBe('pending');
    expect(w.sku.view).toMatchObject({ held: 2 });
    // Once its holds expired the order fails; an authorization it may have is reconciliation's (a failed order's).
    w.clock.advance(60_001);
    await sweeper.sweep();
    expect(w.store.orders.get(orderId)?.status).toBe('failed');
  });

  it('keeps the sweep lease while one of its webhook resolutions still runs, so another node cannot resolve the same order', async () => {
    // Node A resolves two orders for two webhooks at once. The first ends and releases the lease (running === null)
    // while the second is still asking the provider: node B then takes the lease and resolves that order too, two
    // nodes at once, which the lease exists to prevent.
    const w = world();
    const o1 = await pendingOrder(w, 1);
    const o2 = await pendingOrder(w, 2);
    let openGate!: () => void;
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    let o2Asked!: () => void;
    const o2AtProvider = new Promise<void>((resolve) => (o2Asked = resolve));
    const slow = Object.assign(Object.create(w.provider) as SimulatedPaymentProvider, {
      authorize: async (req: Parameters<SimulatedPaymentProvider['authorize']>[0]) => {
        if (req.idempotencyKey === 'co_2:authorize') {
          o2Asked();
          await gate;
        }
        return w.provider.authorize(req);
      },
    });
    const log = pino({ level: 'silent' });
    const promos = new PromoLedger(async () => ({ total: 0, byCustomer: 0 }));
    const lease = new SharedLease();
    const nodeA = new PendingSweeper({ store: w.store, orders: new OrderService(w.store, slow, () => w.sku, promos, log), payments: slow, inventory: () => w.sku, promos, log, lease: lease.for('A'), holdTtlMs: 60_000, clock: w.clock });
    const nodeB = w.sweeper(lease.for('B'));
    const second = nodeA.resolveOrder(o2);
    await o2AtProvider;
    expect(await nodeA.resolveOrder(o1)).toBe('confirmed');
    // A is still resolving o2: B must be told 'busy'.
    const fromB = await nodeB.resolveOrder(o2);
    openGate();
    await second;
    expect(fromB).toBe('busy');
  });
});
