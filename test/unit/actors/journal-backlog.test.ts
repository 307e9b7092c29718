import pino from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { BloomFilter } from '../../../src/actors/bloom-filter.js';
import { CheckoutActor } from '../../../src/actors/checkout-actor.js';
import { runCheckoutSaga } from '../../../src/actors/checkout-saga.js';
import { seededIds } from '../../../src/actors/id-source.js';
import { InventoryActor, type EventJournal } from '../../../src/actors/inventory-actor.js';
import { OrderService, type OrderBook } from '../../../src/actors/order-service.js';
import { PromoLedger } from '../../../src/actors/promo-ledger.js';
import { SimulatedClock } from '../../../src/clock.js';
import type { CheckoutResponse } from '../../../src/domain/checkout-result.js';
import { asCheckoutId, asHoldId, asSku, holdIdFor } from '../../../src/domain/ids.js';
import { emptyInventory } from '../../../src/domain/inventory.js';
import { defaultShippingTable } from '../../../src/domain/shipping.js';
import { defaultTaxRates } from '../../../src/domain/tax.js';
import { SimulatedPaymentProvider, type SimulatedFault } from '../../../src/payments/simulated-provider.js';
import { address, counts, harness, plan, testSystem, ttlMs } from './saga-harness.js';

/**
 * While the journal is backlogged (the database fell behind), only new stock work waits (429 OVERLOADED): the pin,
 * release and commit of holds running sagas already own, and a cancelled order's restock, go on. Refusing those
 * (the first version of the bound did, until a review caught it) stranded pinned holds, kept a cancelled order's
 * units sold, and could free a key whose authorization then happened twice.
 */

/** Commits at once; `full` plays a database that has fallen 200,000 rows behind. */
class BackloggableJournal implements EventJournal {
  seq = 0;
  full = false;
  async append(): Promise<number> {
    return ++this.seq;
  }
  backlogged(): boolean {
    return this.full;
  }
}

/** The saga harness over a journal that can fall behind; the saga's deadlines run on the harness's clock. */
function backlogged(onHand: Record<string, number>, fault?: () => SimulatedFault | void) {
  const h = harness(onHand, fault, new BackloggableJournal());
  h.deps = { ...h.deps, clock: h.clock };
  return h;
}

describe('an inventory actor whose journal is backlogged', () => {
  it('still applies the release of a hold a saga already owns (only new work is refused)', async () => {
    const h = backlogged({ A: 5 });
    const holdId = asHoldId('h1');
    expect(await h.stock.get('A')!.ask({ t: 'reserve', holdId, qty: 2, ttlMs, checkoutId: 'co_1' })).toMatchObject({ ok: true });
    expect(await h.stock.get('A')!.ask({ t: 'pin', holdId })).toMatchObject({ ok: true });
    h.journal.full = true;
    // A pinned hold never expires: if this release is refused, nothing else will ever end it.
    const released = await h.stock.get('A')!.ask({ t: 'release', holdId, reason: 'compensated' });
    expect(released).toMatchObject({ ok: true });
    expect(counts(h, 'A')).toEqual({ onHand: 5, available: 5, held: 0, sold: 0 });
  });
});

describe('a saga that meets a backlogged journal', () => {
  it('never leaves a pinned hold behind when it compensates while the journal is backlogged', async () => {
    const p = plan([{ sku: 'A', qty: 2 }, { sku: 'B', qty: 1 }]);
    let h!: ReturnType<typeof backlogged>;
    // While the provider authorizes, B's hold ends (as an expiry would): A pins, B answers HOLD_EXPIRED and the saga
    // compensates. The database falls behind just then.
    h = backlogged({ A: 5, B: 5 }, () => {
      void h.stock.get('B')!.ask({ t: 'release', holdId: holdIdFor(asCheckoutId(p.checkoutId), asSku('B')), reason: 'expired' });
    });
    h.deps = { ...h.deps, recordCompensation: async () => void (h.journal.full = true) };
    const out = await runCheckoutSaga(p, h.deps);
    expect(out).toMatchObject({ t: 'rejected', code: 'HOLD_EXPIRED', retention: 'durable' });
    // The answer is stored, the saga is over (tombstoned): nothing will run it again.
    expect(h.responses.get('key-1')?.statusCode).toBe(409);
    // A's pinned hold was released by the compensation itself: nothing else would ever end it.
    h.journal.full = false;
    expect(counts(h, 'A')).toEqual({ onHand: 5, available: 5, held: 0, sold: 0 });
  });
});

describe('the checkout actor while the journal is backlogged', () => {
  it('authorizes at most once per Idempotency-Key, even when the database falls behind mid-checkout', async () => {
    const clock = new SimulatedClock();
    const journal = new BackloggableJournal();
    const state = emptyInventory(asSku('HOT'));
    state.onHand = 10;
    const sku = new InventoryActor({ system: testSystem(), journal, clock, partition: 1, entity: 'sku:HOT', snapshotEveryEvents: 1e9, onSnapshot: () => {}, onJournalFailure: () => {}, onBug: (e) => { throw e; } }, state);
    let backlogDuringAuthorize = true;
    const provider = new SimulatedPaymentProvider({ beforeAuthorize: () => void (backlogDuringAuthorize && (journal.full = true)) });
    const responses = new Map<string, CheckoutResponse>();
    const promos = new PromoLedger(async () => ({ total: 0, byCustomer: 0 }));
    const actor = new CheckoutActor({
      system: testSystem(), partition: 1, journal, knownKeys: new BloomFilter(16), clock, doneEntriesMax: 100, log: pino({ level: 'silent' }),
      lookup: async (key) => {
        const r = responses.get(key);
        return r ? { fingerprint: 'fp', statusCode: r.statusCode, body: r.body } : null;
      },
      prepare: {
        product: (s) => (s === 'HOT' ? { sku: asSku('HOT'), name: 'Hot', priceMinor: 2_500, currency: 'USD', weightGrams: 300, taxCategory: 'standard' } : undefined),
        promotion: async () => undefined, cart: async () => null, inventoryView: () => sku.view, promos,
        taxRates: defaultTaxRates, shippingTable: defaultShippingTable, nowMs: () => clock.now(), ids: seededIds(1),
      },
      saga: {
        inventory: () => sku, payments: provider, promos, holdTtlMs: 60_000, log: pino({ level: 'silent' }), clock,
        orders: { write: async (o) => (responses.set(o.idempotencyKey, o.response), 'inserted' as const) },
        responses: { saveResponse: async (r) => void responses.set(r.key, { statusCode: r.statusCode, body: r.body }) },
        carts: { markCheckedOut: async () => {} },
        storedResponse: async (key) => responses.get(key) ?? null,
      },
      onJournalFailure: () => {}, onTombstone: () => {},
    });
    const request = { cartId: null, items: [{ sku: 'HOT', qty: 1 }], paymentMethod: 'pm_card_visa', address, shippingMethod: 'standard' as const, customerId: null, promoCode: null };
    // The database falls behind while the provider authorizes: the pin and the commit of the checkout's own hold
    // still go through, so the checkout completes instead of freeing its key after an authorization.
    const first = await actor.submit('k1', 'fp', request);
    expect(first.result).toMatchObject({ t: 'confirmed' });
    await vi.waitFor(() => expect(actor.running()).toBe(0));
    expect(sku.view).toMatchObject({ held: 0, sold: 1 });
    journal.full = false;
    backlogDuringAuthorize = false;
    const retry = await actor.submit('k1', 'fp', request);
    expect(retry).toMatchObject({ replayed: true, result: { t: 'confirmed' } });
    expect({ authorizations: provider.authorizations(), voids: provider.voids() }).toEqual({ authorizations: 1, voids: 0 });
    // New work still waits while the journal is behind.
    journal.full = true;
    expect(await sku.ask({ t: 'reserve', holdId: asHoldId('other'), qty: 1, ttlMs: 60_000, checkoutId: 'co_other' })).toMatchObject({ ok: false, code: 'OVERLOADED' });
    expect(sku.view).toMatchObject({ held: 0, sold: 1, available: 9 });
  });
});

describe('restocking a cancelled order while the journal is backlogged', () => {
  it('gives the stock back (the order is already cancelled: nothing restocks it later)', async () => {
    const h = backlogged({ B: 5 });
    const actor = h.stock.get('B')!;
    const holdId = holdIdFor(asCheckoutId('co_2'), asSku('B'));
    await actor.ask({ t: 'reserve', holdId, qty: 1, ttlMs: 60_000, checkoutId: 'co_2' });
    await actor.ask({ t: 'pin', holdId });
    await actor.ask({ t: 'commit', holdId });
    const unused = () => Promise.reject(new Error('not used by restock'));
    const orders = new OrderService({ get: unused, transition: unused } as unknown as OrderBook, h.provider, () => actor, new PromoLedger(async () => ({ total: 0, byCustomer: 0 })), pino({ level: 'silent' }));
    h.journal.full = true;
    // cancel() has moved the order to 'cancelled' before it calls restock; a refused commit/return is only logged.
    await orders.restock({ orderId: 'ord_2', checkoutId: 'co_2', items: [{ sku: 'B', qty: 1 }] as never });
    h.journal.full = false;
    expect(counts(h, 'B')).toEqual({ onHand: 5, available: 5, held: 0, sold: 0 });
  });
});
