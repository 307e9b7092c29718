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

  it('tracks at most trackedMax SKUs: a SKU turning hot evicts cold ones, and ranks first', () => {
    let now = 0;
    const t = new HotSkuTracker({ nowMs: () => now, trackedMax: 100, windowS: 60 });
    for (let i = 0; i < 1_000; i++) t.count(`COLD${i}`);
    expect(t.size).toBe(100);
    now += 1_000;
    for (let i = 0; i < 100; i++) t.count('REAL');
    expect(t.size).toBe(100);
    expect(t.top(1)).toEqual([{ sku: 'REAL', available: null, checkoutsPerSecond: 100 / 60 }]);
    expect(t.evicted).toBeGreaterThan(0);
  });

  it('keeps a hot SKU through a flood of one-off SKUs in the same seconds', () => {
    let now = 0;
    const t = new HotSkuTracker({ nowMs: () => now, trackedMax: 100, windowS: 60 });
    for (let s = 0; s < 5; s++, now += 1_000) {
      for (let i = 0; i < 500; i++) {
        t.count(`FLOOD${s}-${i}`);
        if (i % 10 === 0) t.count('REAL');
      }
    }
    expect(t.size).toBeLessThanOrEqual(100);
    expect(t.top(1)[0]!.sku).toBe('REAL');
  });

  it('ranks once per second and count: the two hot-SKU gauges of one scrape share it', () => {
    const t = new HotSkuTracker({ nowMs: () => 0 });
    t.count('A', 2);
    const first = t.top();
    expect(t.top()).toEqual(first);
    t.count('B', 3);
    expect(t.top().map((h) => h.sku)).toEqual(['B', 'A']);
  });
});
