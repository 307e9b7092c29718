import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startActorSystem, type ActorSystem } from '../../../src/actors/actor-system.js';
import { InventoryActor, type EventJournal } from '../../../src/actors/inventory-actor.js';
import { OrderService, type OrderBook, type StoredOrder } from '../../../src/actors/order-service.js';
import { PendingSweeper, type PendingOrder, type PendingSource, type SweepLease } from '../../../src/actors/pending-sweeper.js';
import { PromoLedger } from '../../../src/actors/promo-ledger.js';
import { SimulatedClock } from '../../../src/clock.js';
import { asCheckoutId, asSku, holdIdFor } from '../../../src/domain/ids.js';
import { emptyInventory } from '../../../src/domain/inventory.js';
import { SimulatedPaymentProvider, type SimulatedFault } from '../../../src/payments/simulated-provider.js';

/**
 * The pending-order sweeper against real SKU actors and the simulated provider, with an in-memory order store whose
 * status changes are conditional like the real one's (src/persistence/order-store.ts). What is under test: sweeps
 * that overlap, copies of an order that went stale, and which provider answers settle an order.
 */
class MemoryJournal implements EventJournal {
  seq = 0;
  async append(): Promise<number> {
    return ++this.seq;
  }
}

class MemoryOrders implements PendingSource, OrderBook {
  readonly orders = new Map<string, StoredOrder & { paymentMethod: string }>();
  /** What listPending answers: by default the orders as they are; a test can hand out a stale copy. */
  listed: PendingOrder[] | null = null;
  async get(orderId: string) {
    const o = this.orders.get(orderId);
    return o ? { ...o, payment: { ...o.payment } } : null;
  }
  async listPending(): Promise<PendingOrder[]> {
    return this.listed ?? [...this.orders.values()].filter((o) => o.status === 'pending').map((o) => ({ ...o, payment: { ...o.payment } }));
  }
  // Refunds and restocks are not the sweeper's: never called here.
  refunds = async () => [];
  beginRefund = async () => {};
  finishRefund = async () => {};
  listRestockPending = async () => [];
  markRestocked = async () => {};
  async transition(orderId: string, from: string[], to: string, paymentStatus: string, _ev: unknown, opts: { authId?: string | null } = {}) {
    const o = this.orders.get(orderId);
    if (!o || !from.includes(o.status)) return 'conflict' as const;
    o.status = to;
    o.payment = { ...o.payment, status: paymentStatus, authId: opts.authId ?? o.payment.authId };
    return 'ok' as const;
  }
}

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

describe('the pending-order sweeper (review 10)', () => {
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
