import pino from 'pino';
import { afterEach, beforeEach } from 'vitest';
import { startActorSystem, type ActorSystem } from '../../../src/actors/actor-system.js';
import type { SagaDeps } from '../../../src/actors/checkout-saga.js';
import { renderCheckoutResult, type CheckoutOutcome, type CheckoutRejection, type CheckoutResponse } from '../../../src/domain/checkout-result.js';
import type { CheckoutPlan } from '../../../src/domain/checkout.js';
import { SimulatedClock } from '../../../src/clock.js';
import { InventoryActor, type EventJournal } from '../../../src/actors/inventory-actor.js';
import { MemoryJournal } from './memory-doubles.js';
import { PromoLedger } from '../../../src/actors/promo-ledger.js';
import { asSku } from '../../../src/domain/ids.js';
import { emptyInventory } from '../../../src/domain/inventory.js';
import { priceCart } from '../../../src/domain/pricing.js';
import { defaultShippingTable } from '../../../src/domain/shipping.js';
import { defaultTaxRates } from '../../../src/domain/tax.js';
import { SimulatedPaymentProvider, type SimulatedFault } from '../../../src/payments/simulated-provider.js';
import type { NewOrder } from '../../../src/persistence/order-writer.js';

/**
 * The harness of the saga's tests (checkout-saga.test.ts, checkout-saga-compensation.test.ts): the saga's step table
 * against real inventory actors and the simulated provider. The journal, order writer and
 * response store are in-memory doubles of our own interfaces (their PostgreSQL behaviour is tested in
 * test/integration/persistence); what is under test here is which steps run, which undo, and what a re-run repeats.
 */
export const address = { name: 'Ada', line1: '1 Main St', city: 'New York', postalCode: '10001', country: 'US', region: 'NY' };
export const ttlMs = 60_000;

export interface Harness {
  deps: SagaDeps;
  stock: Map<string, InventoryActor>;
  orders: NewOrder[];
  responses: Map<string, CheckoutResponse>;
  compensations: CheckoutRejection[];
  provider: SimulatedPaymentProvider;
  clock: SimulatedClock;
  failOrderWrites: number;
}

let system: ActorSystem;
let systems = 0;
beforeEach(() => {
  system = startActorSystem(`saga-test-${++systems}`);
});
afterEach(() => system.stop());

/** The actor system of the running test (a fresh one per test), for actors a test makes beside the harness's. */
export const testSystem = (): ActorSystem => system;

/** The saga's deps over real SKU actors holding `onHand`, journaling to `journal` (default: in memory, at once). */
export function harness<J extends EventJournal = MemoryJournal>(onHand: Record<string, number>, fault?: () => SimulatedFault | void, journal?: J): Harness & { journal: J } {
  const clock = new SimulatedClock();
  const journalOf = journal ?? (new MemoryJournal() as unknown as J);
  const stock = new Map<string, InventoryActor>();
  for (const [sku, n] of Object.entries(onHand)) {
    const state = emptyInventory(asSku(sku));
    state.onHand = n;
    stock.set(sku, new InventoryActor({ system, journal: journalOf, clock, partition: 0, entity: `sku:${sku}`, snapshotEveryEvents: 1e9, onSnapshot: () => {}, onJournalFailure: () => {}, onBug: (e) => { throw e; } }, state));
  }
  const provider = new SimulatedPaymentProvider(fault ? { beforeAuthorize: fault } : {});
  const h: Harness & { journal: J } = { stock, journal: journalOf, orders: [], responses: new Map(), compensations: [], provider, clock, failOrderWrites: 0, deps: undefined as never };
  h.deps = {
    inventory: (sku) => stock.get(sku)!,
    payments: provider,
    orders: {
      write: async (o) => {
        if (h.failOrderWrites > 0) {
          h.failOrderWrites--;
          throw new Error('database went away');
        }
        if (h.orders.some((x) => x.orderId === o.orderId)) return 'existed' as const;
        h.orders.push(o);
        h.responses.set(o.idempotencyKey, o.response);
        return 'inserted' as const;
      },
    },
    responses: { saveResponse: async (r) => void h.responses.set(r.key, { statusCode: r.statusCode, body: r.body }) },
    carts: { markCheckedOut: async () => {} },
    promos: new PromoLedger(async () => ({ total: 0, byCustomer: 0 })),
    storedResponse: async (key) => h.responses.get(key) ?? null,
    recordCompensation: async (_plan, rejection) => void h.compensations.push(rejection),
    holdTtlMs: ttlMs,
    log: pino({ level: 'silent' }),
  };
  return h;
}

export function plan(lines: { sku: string; qty: number }[], paymentMethod = 'pm_card_visa', key = 'key-1'): CheckoutPlan {
  const priced = priceCart({
    lines: lines.map((l) => ({ product: { sku: asSku(l.sku), name: l.sku, priceMinor: 1_000, currency: 'USD', weightGrams: 100, taxCategory: 'standard' }, qty: l.qty })),
    promo: null, promoUsage: { total: 0, byCustomer: 0 }, address, shippingMethod: 'standard', taxRates: defaultTaxRates, shippingTable: defaultShippingTable, nowMs: 0,
  });
  if (!priced.ok) throw new Error(priced.code);
  return { key, fingerprint: 'fp', checkoutId: `co_${key}`, orderId: `ord_${key}`, lines, priced: priced.priced, paymentMethod, address, customerKey: 'cus:1', cartId: null, createdAtMs: 0 };
}

export const counts = (h: Harness, sku: string) => {
  const { onHand, available, held, sold } = h.stock.get(sku)!.view;
  return { onHand, available, held, sold };
};

/** The answer a client gets for an outcome (what the edge renders). */
export const answer = (o: CheckoutOutcome): CheckoutResponse => renderCheckoutResult(o);
