import { describe, expect, it } from 'vitest';
import { LoadStats } from '../../../bench/lib/load-stats.js';
import { flashHotFigures } from '../../../bench/scenarios/flash-hot.js';

/** A paced sale: a slow cold start, a fast steady part, then sold-out answers. */
function pacedSale(firstPhase: 'warmup' | 'sale'): LoadStats {
  const s = new LoadStats(firstPhase);
  for (let i = 0; i < 100; i++) s.record('checkout', 201, 400, 10 + i);
  s.setPhase('sale', 3_000);
  for (let i = 0; i < 900; i++) s.record('checkout', 201, 20, 3_000 + i);
  s.setPhase('sold-out', 4_000);
  for (let i = 0; i < 50; i++) s.record('checkout', 409, 1, 4_000 + i);
  return s;
}

describe('flash-hot figures', () => {
  it('report the p99 after the warm-up from the sale phase alone, and the whole-sale p99 with the cold start', () => {
    const figures = flashHotFigures(pacedSale('warmup').summary(5_000), 1_000, true);
    expect(figures['orders']).toBe(1_000);
    expect(figures['orderP99Ms']).toBeGreaterThanOrEqual(390);
    expect(figures['orderP99AfterWarmupMs']).toBeGreaterThanOrEqual(19);
    expect(figures['orderP99AfterWarmupMs']).toBeLessThanOrEqual(21);
  });

  it('have no after-warm-up p99 for an open-throttle run (no warm-up phase)', () => {
    const figures = flashHotFigures(pacedSale('sale').summary(5_000), 1_000, true);
    expect(figures['orderP99AfterWarmupMs']).toBeNull();
  });
});
