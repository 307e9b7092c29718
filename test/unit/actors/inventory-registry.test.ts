import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startActorSystem, type ActorSystem } from '../../../src/actors/actor-system.js';
import { SimulatedClock } from '../../../src/clock.js';
import { InventoryRegistry } from '../../../src/actors/inventory-registry.js';
import { asHoldId, asSku } from '../../../src/domain/ids.js';
import { emptyInventory } from '../../../src/domain/inventory.js';

let system: ActorSystem;
let n = 0;
beforeEach(() => {
  system = startActorSystem(`registry-test-${++n}`);
});
afterEach(() => system.stop());

function registry(clock: SimulatedClock) {
  let seq = 0;
  return new InventoryRegistry({
    system, clock, partitions: 16, snapshotEveryEvents: 1e9, log: pino({ level: 'silent' }),
    journal: { append: async () => ++seq },
    onSnapshot: () => {}, onJournalFailure: () => {},
  });
}

describe('the inventory registry', () => {
  it('passivates an idle SKU to its counts and wakes it on the next command with the same stock', async () => {
    const clock = new SimulatedClock();
    const r = registry(clock);
    await r.get('A').ask({ t: 'setOnHand', onHand: 10 });
    await r.get('A').ask({ t: 'reserve', holdId: asHoldId('h1'), qty: 3, ttlMs: 60_000, checkoutId: 'c' });
    await r.get('A').ask({ t: 'commit', holdId: asHoldId('h1') });
    clock.advance(5_000);
    expect(r.passivateIdle(clock.now() - 1_000)).toBe(1);
    expect(r.size()).toEqual({ active: 0, dormant: 1 });
    expect(r.view('A')).toEqual({ sku: 'A', onHand: 10, available: 7, held: 0, sold: 3, pendingWrites: 0 });
    const again = await r.get('A').ask({ t: 'reserve', holdId: asHoldId('h2'), qty: 7, ttlMs: 60_000, checkoutId: 'c' });
    expect(again).toMatchObject({ ok: true, onHand: 10, available: 0, held: 7, sold: 3 });
    expect(r.size()).toEqual({ active: 1, dormant: 0 });
  });

  it('never passivates a SKU that holds stock or was used recently', async () => {
    const clock = new SimulatedClock();
    const r = registry(clock);
    await r.get('H').ask({ t: 'setOnHand', onHand: 5 });
    await r.get('H').ask({ t: 'reserve', holdId: asHoldId('h'), qty: 1, ttlMs: 600_000, checkoutId: 'c' });
    await r.get('B').ask({ t: 'setOnHand', onHand: 5 });
    expect(r.passivateIdle(clock.now() - 1_000)).toBe(0);
    clock.advance(10_000);
    expect(r.passivateIdle(clock.now() - 1_000)).toBe(1);
    expect(r.size()).toEqual({ active: 1, dormant: 1 });
  });

  it('restores idle SKUs as counts and SKUs with holds as actors', () => {
    const r = registry(new SimulatedClock());
    const idle = emptyInventory(asSku('I'));
    idle.onHand = 4;
    const busy = emptyInventory(asSku('B'));
    busy.onHand = 4;
    busy.held = 1;
    busy.holds.set(asHoldId('h'), { holdId: asHoldId('h'), qty: 1, expiresAtMs: 1e15, status: 'active', checkoutId: 'c' });
    r.restore('I', idle);
    r.restore('B', busy);
    expect(r.size()).toEqual({ active: 1, dormant: 1 });
    expect(r.view('I')).toMatchObject({ onHand: 4, available: 4 });
    expect(r.view('B')).toMatchObject({ onHand: 4, available: 3, held: 1 });
  });
});
