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
import { SimulatedPaymentProvider } from '../../../src/payments/simulated-provider.js';

/**
 * A node's sweeps and webhook resolutions share the sweep lease. Resolutions that overlap without a gap (a flash
 * sale's 3-D Secure completions) must each renew it: a lease taken once by the first would expire (jobLeaseTtlMs),
 * another node's sweep would take it, and the first node would go on resolving orders without it, two nodes at once.
 */

/** job_leases as JobLease uses it: taken when free, expired or already held; renewed by a take; ttl from the clock. */
class ExpiringLease {
  holder: string | null = null;
  expiresAtMs = 0;
  constructor(
    private readonly clock: SimulatedClock,
    private readonly ttlMs: number,
  ) {}
  for(name: string): SweepLease {
    return {
      take: async () => {
        if (this.holder !== null && this.holder !== name && this.expiresAtMs > this.clock.now()) return false;
        this.holder = name;
        this.expiresAtMs = this.clock.now() + this.ttlMs;
        return true;
      },
      release: async () => {
        if (this.holder === name) this.expiresAtMs = this.clock.now();
      },
    };
  }
}

let system: ActorSystem;
let systems = 0;
beforeEach(() => {
  system = startActorSystem(`sweep-lease-${++systems}`);
});
afterEach(() => system.stop());

function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((resolve) => (open = resolve));
  return { wait, open };
}

describe('the sweep lease under overlapping webhook resolutions', () => {
  it('a node whose resolutions overlap past the lease TTL stops resolving once another node took the expired lease', async () => {
    const ttlMs = 120_000;
    const holdTtlMs = 600_000;
    const clock = new SimulatedClock();
    const state = emptyInventory(asSku('A'));
    state.onHand = 100;
    const bug = (err: unknown) => {
      throw err;
    };
    const sku = new InventoryActor({ system, journal: new MemoryJournal(), clock, partition: 0, entity: 'sku:A', snapshotEveryEvents: 1e9, onSnapshot: () => {}, onJournalFailure: bug, onBug: bug }, state);
    const provider = new SimulatedPaymentProvider();
    const store = new MemoryOrders();
    const promos = new PromoLedger(async () => ({ total: 0, byCustomer: 0 }));
    const log = pino({ level: 'silent' });
    for (let n = 1; n <= 4; n++) {
      const checkoutId = `co_${n}`;
      await sku.ask({ t: 'reserve', holdId: holdIdFor(asCheckoutId(checkoutId), asSku('A')), qty: 1, ttlMs: holdTtlMs, checkoutId });
      store.orders.set(`ord_${n}`, {
        orderId: `ord_${n}`, checkoutId, idempotencyKey: `k${n}`, userId: null, customerKey: 'cus:1', status: 'pending', currency: 'USD', subtotal: 1_000, discount: 0, shipping: 0, tax: 0, total: 1_000,
        promoCode: null, address: {}, priced: { paymentMethod: 'pm_card_visa' }, snapshotHash: 'h', createdAt: new Date(clock.now()), updatedAt: new Date(clock.now()), items: [{ sku: 'A', qty: 1, price: 1_000, discount: 0, tax: 0, lineTotal: 1_000 }],
        payment: { paymentId: `pay_${checkoutId}`, status: 'pending', authId: null, amount: 1_000, currency: 'USD', provider: 'simulated', capturedMinor: 0, refundedMinor: 0 },
        restockState: null,
        paymentMethod: 'pm_card_visa',
      });
    }
    // Node A's provider answers when the test says (each webhook's resolution takes a while; they overlap).
    const gates = new Map<string, ReturnType<typeof gate>>([['co_1:authorize', gate()], ['co_2:authorize', gate()]]);
    const atProvider = new Map<string, ReturnType<typeof gate>>([['co_1:authorize', gate()], ['co_2:authorize', gate()]]);
    const slow = Object.assign(Object.create(provider) as SimulatedPaymentProvider, {
      authorize: async (req: Parameters<SimulatedPaymentProvider['authorize']>[0]) => {
        atProvider.get(req.idempotencyKey)?.open();
        await gates.get(req.idempotencyKey)?.wait;
        return provider.authorize(req);
      },
    });
    const lease = new ExpiringLease(clock, ttlMs);
    const nodeA = new PendingSweeper({ store, orders: new OrderService(store, slow, () => sku, promos, log), payments: slow, inventory: () => sku, promos, log, lease: lease.for('A'), holdTtlMs, clock });

    // t=0: webhook 1 on A takes the lease (expires at 120 s).
    const r1 = nodeA.resolveOrder('ord_1');
    await atProvider.get('co_1:authorize')!.wait;
    // t=100 s: webhook 2 on A, while 1 still runs; then 1 ends. A's count never drops to 0.
    clock.advance(100_000);
    const r2 = nodeA.resolveOrder('ord_2');
    await atProvider.get('co_2:authorize')!.wait;
    gates.get('co_1:authorize')!.open();
    expect(await r1).toBe('confirmed');
    // t=130 s: webhook 2 renewed A's lease at t=100 s, so B's sweep cannot take it.
    clock.advance(30_000);
    expect(await lease.for('B').take()).toBe(false);
    // t=230 s: A renewed nothing since (webhook 2 still waits at the provider): the lease expired; B takes it.
    clock.advance(100_000);
    expect(await lease.for('B').take()).toBe(true);
    expect(lease.holder).toBe('B');
    // A third webhook on A, for an order B's sweep is entitled to: A no longer holds the lease and must say 'busy'.
    const fromA = await nodeA.resolveOrder('ord_3');
    gates.get('co_2:authorize')!.open();
    await r2;
    expect(fromA).toBe('busy');
  });
});
