import { afterEach, describe, expect, it } from 'vitest';
import { startActorSystem, type ActorSystem } from '../../../src/actors/actor-system.js';
import { InventoryActor, type EventJournal } from '../../../src/actors/inventory-actor.js';
import { SimulatedClock } from '../../../src/clock.js';
import { asHoldId, asSku } from '../../../src/domain/ids.js';
import { emptyInventory } from '../../../src/domain/inventory.js';

/**
 * What a SKU actor tells the live `stock:<sku>` updates (onAvailable): the available count after its row commits,
 * only when it changed, never for a write that failed, and never at the cost of the actor's own work.
 */
describe('InventoryActor onAvailable', () => {
  let system: ActorSystem;
  let n = 0;
  afterEach(() => system?.stop());

  /** A journal whose appends commit or fail when the test says. */
  function manualJournal() {
    const waiting: { resolve: (seq: number) => void; reject: (err: Error) => void }[] = [];
    const journal: EventJournal = { append: () => new Promise<number>((resolve, reject) => waiting.push({ resolve, reject })) };
    return { journal, commit: () => waiting.shift()!.resolve(1), fail: () => waiting.shift()!.reject(new Error('refused')) };
  }

  function actor(onAvailable: (available: number) => void, bugs: unknown[] = []) {
    system = startActorSystem(`avail-${n++}`);
    const j = manualJournal();
    const a = new InventoryActor(
      { system, journal: j.journal, clock: new SimulatedClock(), partition: 0, entity: 'sku:AV', snapshotEveryEvents: 1_000, onSnapshot: () => {}, onJournalFailure: () => {}, onBug: (err) => bugs.push(err), onAvailable },
      emptyInventory(asSku('AV')),
    );
    return { a, ...j };
  }
  const settle = () => new Promise((resolve) => setImmediate(resolve));

  it('tells the count after the commit, once per change, and nothing for a failed write', async () => {
    const told: number[] = [];
    const { a, commit, fail } = actor((v) => told.push(v));
    const stocked = a.ask({ t: 'setOnHand', onHand: 10 });
    await settle();
    expect(told).toEqual([]);
    commit();
    await stocked;
    expect(told).toEqual([10]);
    const held = a.ask({ t: 'reserve', holdId: asHoldId('h1'), qty: 4, ttlMs: 60_000, checkoutId: 'c1' });
    await settle();
    fail();
    expect(await held).toMatchObject({ ok: false, code: 'NOT_READY' });
    await settle();
    expect(told).toEqual([10]);
    // A command that changes nothing tells nothing.
    const released = a.ask({ t: 'release', holdId: asHoldId('nope'), reason: 'cancelled' });
    await released;
    expect(told).toEqual([10]);
  });

  it('keeps answering when the listener throws, reporting it as a bug', async () => {
    const bugs: unknown[] = [];
    const { a, commit } = actor(() => {
      throw new Error('listener bug');
    }, bugs);
    const first = a.ask({ t: 'setOnHand', onHand: 3 });
    await settle();
    commit();
    expect(await first).toMatchObject({ ok: true, available: 3 });
    const second = a.ask({ t: 'setOnHand', onHand: 5 });
    await settle();
    commit();
    expect(await second).toMatchObject({ ok: true, available: 5 });
    expect(bugs).toHaveLength(2);
  });
});
