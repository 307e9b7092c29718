import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startActorSystem, type ActorSystem } from '../../../src/actors/actor-system.js';
import { SimulatedClock } from '../../../src/clock.js';
import { InventoryActor, type EventJournal } from '../../../src/actors/inventory-actor.js';
import { OrderService, type OrderBook } from '../../../src/actors/order-service.js';
import { PromoLedger } from '../../../src/actors/promo-ledger.js';
import { asCheckoutId, asSku, holdIdFor } from '../../../src/domain/ids.js';
import { emptyInventory } from '../../../src/domain/inventory.js';
import { SimulatedPaymentProvider } from '../../../src/payments/simulated-provider.js';

/**
 * Restocking a cancelled order against a real SKU actor. The order store is not involved (restock is called with
 * the order's rows), so an in-memory journal is enough.
 */
class MemoryJournal implements EventJournal {
  seq = 0;
  async append(): Promise<number> {
    return ++this.seq;
  }
}

let system: ActorSystem;
let systems = 0;
beforeEach(() => {
  system = startActorSystem(`order-service-test-${++systems}`);
});
afterEach(() => system.stop());

function skuActor(sku: string, onHand: number): InventoryActor {
  const state = emptyInventory(asSku(sku));
  state.onHand = onHand;
  const bug = (err: unknown) => {
    throw err;
  };
  return new InventoryActor({ system, journal: new MemoryJournal(), clock: new SimulatedClock(), partition: 0, entity: `sku:${sku}`, snapshotEveryEvents: 1e9, onSnapshot: () => {}, onJournalFailure: bug, onBug: bug }, state);
}

function service(actor: InventoryActor): OrderService {
  const unused = () => Promise.reject(new Error('not used by restock'));
  return new OrderService({ get: unused, transition: unused } as unknown as OrderBook, new SimulatedPaymentProvider(), () => actor, new PromoLedger(async () => ({ total: 0, byCustomer: 0 })), pino({ level: 'silent' }));
}

describe('restocking a cancelled order', () => {
  it('gives the stock back when its saga has not committed the holds yet (a cancel right after the 201)', async () => {
    const actor = skuActor('A', 10);
    const holdId = holdIdFor(asCheckoutId('co_1'), asSku('A'));
    expect(await actor.ask({ t: 'reserve', holdId, qty: 2, ttlMs: 60_000, checkoutId: 'co_1' })).toMatchObject({ ok: true });
    expect(await actor.ask({ t: 'pin', holdId })).toMatchObject({ ok: true });
    // The first sale of the SKU: a return before the commit would find nothing sold.
    await service(actor).restock({ orderId: 'ord_1', checkoutId: 'co_1', items: [{ sku: 'A', qty: 2 }] as never });
    expect(actor.view).toMatchObject({ onHand: 10, available: 10, held: 0, sold: 0 });
    // The saga's own commit, arriving after the cancel, changes nothing.
    expect(await actor.ask({ t: 'commit', holdId })).toMatchObject({ ok: true, changed: false });
    expect(actor.view).toMatchObject({ onHand: 10, available: 10, held: 0, sold: 0 });
  });

  it('gives the stock back once when the holds were committed, however often it runs', async () => {
    const actor = skuActor('B', 5);
    const holdId = holdIdFor(asCheckoutId('co_2'), asSku('B'));
    await actor.ask({ t: 'reserve', holdId, qty: 1, ttlMs: 60_000, checkoutId: 'co_2' });
    await actor.ask({ t: 'pin', holdId });
    await actor.ask({ t: 'commit', holdId });
    const orders = service(actor);
    const order = { orderId: 'ord_2', checkoutId: 'co_2', items: [{ sku: 'B', qty: 1 }] as never };
    await orders.restock(order);
    await orders.restock(order);
    expect(actor.view).toMatchObject({ onHand: 5, available: 5, held: 0, sold: 0 });
  });
});

describe('a cancel interrupted before its restock', () => {
  it('records what it owes the stock and gives it back later, once', async () => {
    const actor = skuActor('C', 5);
    const holdId = holdIdFor(asCheckoutId('co_3'), asSku('C'));
    await actor.ask({ t: 'reserve', holdId, qty: 2, ttlMs: 60_000, checkoutId: 'co_3' });
    await actor.ask({ t: 'pin', holdId });
    await actor.ask({ t: 'commit', holdId });
    const order = {
      orderId: 'ord_3', checkoutId: 'co_3', status: 'confirmed', promoCode: null, customerKey: 'cus:1', total: 2_000, items: [{ sku: 'C', qty: 2 }],
      payment: { authId: 'pi_x', capturedMinor: 0, refundedMinor: 0, status: 'authorized' }, restockState: null as 'pending' | 'done' | null,
    };
    const book = {
      get: async () => ({ ...order, createdAt: new Date(0) }),
      transition: async (_id: string, from: string[], to: string, paymentStatus: string, _ev: unknown, opts: { restock?: boolean } = {}) => {
        if (!from.includes(order.status)) return 'conflict' as const;
        order.status = to;
        order.payment.status = paymentStatus;
        if (opts.restock) order.restockState = 'pending';
        return 'ok' as const;
      },
      listRestockPending: async () => (order.restockState === 'pending' ? [{ ...order, createdAt: new Date(0) }] : []),
      markRestocked: async () => void (order.restockState = 'done'),
    } as unknown as OrderBook;
    // The SKU refuses the first return (its owner moving, a full mailbox): the cancel stands, the restock is owed.
    let refuse = true;
    const handle = { ask: (cmd: Parameters<InventoryActor['ask']>[0]) => (cmd.t === 'return' && refuse ? ((refuse = false), Promise.resolve({ ok: false as const, code: 'OVERLOADED' as const })) : actor.ask(cmd)) };
    const provider = new SimulatedPaymentProvider();
    const orders = new OrderService(book, { ...provider, name: provider.name, void: async () => ({ ok: true as const }) } as never, () => handle, new PromoLedger(async () => ({ total: 0, byCustomer: 0 })), pino({ level: 'silent' }));
    expect(await orders.cancel('ord_3')).toMatchObject({ ok: true, order: { status: 'cancelled' } });
    expect(order.restockState).toBe('pending');
    expect(actor.view).toMatchObject({ sold: 2, available: 3 });
    expect(await orders.completeRestocks()).toBe(1);
    expect(order.restockState).toBe('done');
    expect(actor.view).toMatchObject({ sold: 0, available: 5 });
    expect(await orders.completeRestocks()).toBe(0);
    expect(actor.view).toMatchObject({ sold: 0, available: 5 });
  });
});
