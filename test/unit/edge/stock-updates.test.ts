import { describe, expect, it } from 'vitest';
import { SimulatedClock } from '../../../src/clock.js';
import { wsLimits } from '../../../src/config/limits.js';
import { StockUpdates } from '../../../src/edge/stock-updates.js';
import { intBelow, pick, seededRng, seedsToRun } from '../../support/seeded-random.js';

const interval = wsLimits.stockUpdateIntervalMs;

function harness() {
  const clock = new SimulatedClock();
  const sent: { sku: string; available: number; atMs: number }[] = [];
  const updates = new StockUpdates((sku, available) => sent.push({ sku, available, atMs: clock.now() }), clock);
  return { clock, sent, updates };
}

describe('StockUpdates (stock:<sku> throttle)', () => {
  it('sends the first change at once and folds the changes of an interval into one update with the latest count', () => {
    const { clock, sent, updates } = harness();
    updates.changed('A', 9);
    expect(sent).toEqual([{ sku: 'A', available: 9, atMs: clock.now() }]);
    for (let n = 8; n >= 3; n--) {
      clock.advance(10);
      updates.changed('A', n);
    }
    expect(sent).toHaveLength(1);
    clock.advance(interval);
    expect(sent.map((s) => s.available)).toEqual([9, 3]);
    clock.advance(10 * interval);
    expect(sent).toHaveLength(2);
    expect(updates.tracked()).toBe(0);
  });

  it('does not send a count equal to the last one sent', () => {
    const { clock, sent, updates } = harness();
    updates.changed('A', 5);
    updates.changed('A', 4);
    updates.changed('A', 5);
    clock.advance(interval * 3);
    expect(sent.map((s) => s.available)).toEqual([5]);
  });

  it('throttles each SKU on its own', () => {
    const { clock, sent, updates } = harness();
    updates.changed('A', 1);
    updates.changed('B', 1);
    clock.advance(1);
    updates.changed('A', 2);
    updates.changed('B', 2);
    expect(sent.map((s) => `${s.sku}${s.available}`)).toEqual(['A1', 'B1']);
    clock.advance(interval);
    expect(sent.map((s) => `${s.sku}${s.available}`)).toEqual(['A1', 'B1', 'A2', 'B2']);
  });

  it('sends nothing after stop', () => {
    const { clock, sent, updates } = harness();
    updates.changed('A', 1);
    updates.changed('A', 2);
    updates.stop();
    updates.changed('B', 1);
    clock.advance(interval * 2);
    expect(sent.map((s) => s.available)).toEqual([1]);
  });

  it.each(seedsToRun([1, 2, 3, 4, 5, 6, 7, 8]))('holds its promises under a seeded burst of changes (seed %i)', (seed) => {
    const rng = seededRng(seed);
    const { clock, sent, updates } = harness();
    const skus = ['A', 'B', 'C'];
    const last = new Map<string, number>();
    for (let step = 0; step < 5_000; step++) {
      const sku = pick(rng, skus);
      const available = intBelow(rng, 20);
      // SKU actors report a count only when it differs from the last they reported (inventory-actor.ts).
      if (last.get(sku) === available) continue;
      updates.changed(sku, available);
      last.set(sku, available);
      clock.advance(intBelow(rng, 3) === 0 ? intBelow(rng, 60) : 0);
    }
    clock.advance(interval * 2);
    for (const sku of skus) {
      const mine = sent.filter((s) => s.sku === sku);
      // At most one update per interval: never two within it, so never more than 10 in any second.
      for (let i = 1; i < mine.length; i++) expect(mine[i]!.atMs - mine[i - 1]!.atMs, `seed ${seed}`).toBeGreaterThanOrEqual(interval);
      for (let i = 0; i < mine.length; i++) {
        const inSecond = mine.filter((s) => s.atMs >= mine[i]!.atMs && s.atMs < mine[i]!.atMs + 1_000).length;
        expect(inSecond, `seed ${seed}`).toBeLessThanOrEqual(1_000 / interval);
      }
      // Never the same count twice in a row, and the last count always arrives.
      for (let i = 1; i < mine.length; i++) expect(mine[i]!.available).not.toBe(mine[i - 1]!.available);
      expect(mine.at(-1)?.available, `seed ${seed}`).toBe(last.get(sku));
    }
    expect(updates.tracked()).toBe(0);
  });
});
