import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startActorSystem, type ActorSystem } from '../../../src/actors/actor-system.js';
import { InventoryActor, type EventJournal } from '../../../src/actors/inventory-actor.js';
import { PinnedHoldResolver } from '../../../src/actors/pinned-hold-resolver.js';
import { SimulatedClock } from '../../../src/clock.js';
import { asCheckoutId, asSku, holdIdFor } from '../../../src/domain/ids.js';
import { emptyInventory } from '../../../src/domain/inventory.js';
import { SimulatedPaymentProvider } from '../../../src/payments/simulated-provider.js';
import type { StoredOrder } from '../../../src/persistence/order-store.js';

/**
 * DESIGN.md's promise that pinned holds are resolved against the orders table: a real SKU actor holding pinned holds
 * whose saga is gone, the simulated provider, and orders and saga liveness the test sets.
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
  system = startActorSystem(`resolver-test-${++systems}`);
});
afterEach(() => system.stop());

const ttlMs = 60_000;

function world() {
  const clock = new SimulatedClock();
  const state = emptyInventory(asSku('A'));
  state.onHand = 10;
  const bug = (err: unknown) => {
    throw err;
  };
  const sku = new InventoryActor({ system, journal: new MemoryJournal(), clock, partition: 0, entity: 'sku:A', snapshotEveryEvents: 1e9, onSnapshot: () => {}, onJournalFailure: bug, onBug: bug }, state);
  const provider = new SimulatedPaymentProvider();
  const orders = new Map<string, Pick<StoredOrder, 'status'>>();
  const running = new Map<string, boolean | null>();
  /** Keys whose saga has journal records and no tombstone (recovery resumes it). */
  const unfinished = new Set<string>();
  const resolver = new PinnedHoldResolver({
    pinnedBefore: (ms) => sku.pinnedBefore(ms).map((h) => ({ ...h, sku: 'A' })),
    inventory: () => sku,
    checkoutRunning: async (key) => (running.has(key) ? running.get(key)! : false),
    sagaFinished: async (key) => !unfinished.has(key),
    ordersOf: async (ids) => ids.flatMap((id) => (orders.has(id) ? [orders.get(id) as StoredOrder] : [])),
    payments: provider,
    clock,
    log: pino({ level: 'silent' }),
  });
  /** A hold of checkout `n` (key `key-n`), reserved and pinned, as a saga leaves it right before its order write. */
  const pinned = async (n: number, opts: { key?: boolean } = {}) => {
    const checkoutId = `co_${n}`;
    const holdId = holdIdFor(asCheckoutId(checkoutId), asSku('A'));
    await sku.ask({ t: 'reserve', holdId, qty: 1, ttlMs, checkoutId, ...(opts.key === false ? {} : { checkoutKey: `key-${n}` }) });
    await sku.ask({ t: 'pin', holdId });
    return checkoutId;
  };
  return { clock, sku, provider, orders, running, unfinished, resolver, pinned };
}

describe('the pinned-hold resolver', () => {
  it('commits the hold of a stored order, releases the hold and voids the authorization of a checkout without one', async () => {
    const w = world();
    const sold = await w.pinned(1);
    w.orders.set(sold, { status: 'confirmed' });
    const orphan = await w.pinned(2);
    const auth = await w.provider.authorize({ idempotencyKey: `${orphan}:authorize`, amountMinor: 100, currency: 'USD', paymentMethod: 'pm_card_visa', metadata: { checkoutId: orphan } });
    expect(auth.kind).toBe('authorized');
    // Nothing is touched before the holds' deadline passed: a saga normally ends long before.
    expect(await w.resolver.resolve()).toEqual({ committed: 0, released: 0, left: 0 });
    w.clock.advance(ttlMs + 1);
    expect(await w.resolver.resolve()).toEqual({ committed: 1, released: 1, left: 0 });
    expect(w.sku.view).toMatchObject({ onHand: 10, held: 0, sold: 1, available: 9 });
    expect(w.provider.voids()).toBe(1);
    expect(await w.resolver.resolve()).toEqual({ committed: 0, released: 0, left: 0 });
  });

  it('leaves a hold whose saga still runs, or cannot be asked, or whose order the sweeper owns, or that has no key', async () => {
    const w = world();
    w.running.set('key-1', true);
    await w.pinned(1);
    w.running.set('key-2', null);
    await w.pinned(2);
    w.orders.set(await w.pinned(3), { status: 'pending' });
    await w.pinned(4, { key: false });
    w.clock.advance(ttlMs + 1);
    expect(await w.resolver.resolve()).toEqual({ committed: 0, released: 0, left: 4 });
    expect(w.sku.view).toMatchObject({ held: 4, sold: 0 });
  });

  it('leaves a hold whose saga the journal shows unfinished (recovery resumes it), even when no node runs it now', async () => {
    const w = world();
    const checkoutId = await w.pinned(1);
    const auth = await w.provider.authorize({ idempotencyKey: `${checkoutId}:authorize`, amountMinor: 100, currency: 'USD', paymentMethod: 'pm_card_visa', metadata: { checkoutId } });
    expect(auth.kind).toBe('authorized');
    w.unfinished.add('key-1');
    w.clock.advance(ttlMs + 1);
    expect(await w.resolver.resolve()).toEqual({ committed: 0, released: 0, left: 1 });
    expect(w.provider.voids()).toBe(0);
    expect(w.sku.view).toMatchObject({ held: 1 });
  });

  it('commits the hold of a stored order even when the journal lost its saga\'s tombstone', async () => {
    const w = world();
    const checkoutId = await w.pinned(1);
    w.orders.set(checkoutId, { status: 'confirmed' });
    w.unfinished.add('key-1');
    w.clock.advance(ttlMs + 1);
    expect(await w.resolver.resolve()).toEqual({ committed: 1, released: 0, left: 0 });
    expect(w.sku.view).toMatchObject({ held: 0, sold: 1 });
  });

  it('commits instead of releasing when the order appears while the authorization is voided', async () => {
    const w = world();
    const checkoutId = await w.pinned(1);
    const realVoid = w.provider.void.bind(w.provider);
    w.provider.void = async (req) => {
      w.orders.set(checkoutId, { status: 'confirmed' });
      return realVoid(req);
    };
    w.clock.advance(ttlMs + 1);
    await w.provider.authorize({ idempotencyKey: `${checkoutId}:authorize`, amountMinor: 100, currency: 'USD', paymentMethod: 'pm_card_visa', metadata: { checkoutId } });
    expect(await w.resolver.resolve()).toEqual({ committed: 1, released: 0, left: 0 });
    expect(w.sku.view).toMatchObject({ held: 0, sold: 1 });
  });

  it('releases the hold of a failed order, and does not void an authorization its saga already voided', async () => {
    const w = world();
    w.orders.set(await w.pinned(1), { status: 'failed' });
    const orphan = await w.pinned(2);
    const auth = await w.provider.authorize({ idempotencyKey: `${orphan}:authorize`, amountMinor: 100, currency: 'USD', paymentMethod: 'pm_card_visa', metadata: { checkoutId: orphan } });
    if (auth.kind !== 'authorized') throw new Error('not authorized');
    await w.provider.void({ idempotencyKey: 'ord_2:void', authId: auth.authId });
    w.clock.advance(ttlMs + 1);
    expect(await w.resolver.resolve()).toEqual({ committed: 0, released: 2, left: 0 });
    expect(w.provider.voids()).toBe(1);
    expect(w.sku.view).toMatchObject({ held: 0, sold: 0, available: 10 });
  });
});
