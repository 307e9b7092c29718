import { describe, expect, it } from 'vitest';
import { HotSkuTracker } from '../../../src/metrics/hot-skus.js';

describe('the hot-SKU tracker', () => {
  it('ranks SKUs by attempts over the window, busiest first, with their stock', () => {
    let now = 1_000_000;
    const t = new HotSkuTracker({ nowMs: () => now, windowS: 60, availableOf: (sku) => (sku === 'A' ? 7 : null) });
    for (let i = 0; i < 30; i++) t.count('A');
    for (let i = 0; i < 60; i++) t.count('B');
    t.count('C');
    now += 10_000;
    t.count('A', 30);
    expect(t.top(2)).toEqual([
      { sku: 'A', available: 7, checkoutsPerSecond: 1 },
      { sku: 'B', available: null, checkoutsPerSecond: 1 },
    ]);
    expect(t.top(10).map((h) => h.sku)).toEqual(['A', 'B', 'C']);
  });

  it('forgets attempts older than the window', () => {
    let now = 0;
    const t = new HotSkuTracker({ nowMs: () => now, windowS: 60 });
    t.count('OLD', 100);
    now += 30_000;
    t.count('NEW', 10);
    expect(t.top().map((h) => h.sku)).toEqual(['OLD', 'NEW']);
    now += 31_000;
    expect(t.top()).toEqual([{ sku: 'NEW', available: null, checkoutsPerSecond: 10 / 60 }]);
    // A slot reused a window later starts from zero, not from what it held then.
    now += 29_000;
    t.count('NEW', 1);
    expect(t.top()).toEqual([{ sku: 'NEW', available: null, checkoutsPerSecond: 1 / 60 }]);
  });

  it('returns at most N, however many SKUs are counted', () => {
    const t = new HotSkuTracker({ nowMs: () => 0 });
    for (let i = 0; i < 500; i++) t.count(`S${i}`, i + 1);
    const top = t.top(10);
    expect(top).toHaveLength(10);
    expect(top[0]!.sku).toBe('S499');
    expect(top[9]!.sku).toBe('S490');
  });

  it('tracks at most trackedMax SKUs, making room from idle ones once a second', () => {
    let now = 0;
    const t = new HotSkuTracker({ nowMs: () => now, trackedMax: 100, windowS: 60 });
    for (let i = 0; i < 100; i++) t.count(`S${i}`);
    t.count('LATE', 5);
    expect(t.size).toBe(100);
    expect(t.untracked).toBe(5);
    // Past the window every tracked SKU is idle: the next new SKU prunes them and is counted.
    now += 61_000;
    t.count('LATE', 5);
    expect(t.size).toBe(1);
    expect(t.top()).toEqual([{ sku: 'LATE', available: null, checkoutsPerSecond: 5 / 60 }]);
    for (let i = 0; i < 10_000; i++) t.count(`FLOOD${i}`);
    expect(t.size).toBeLessThanOrEqual(100);
  });
});
