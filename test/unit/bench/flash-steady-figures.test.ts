import { describe, expect, it } from 'vitest';
import { LoadStats } from '../../../bench/lib/load-stats.js';
import { steadyFigures } from '../../../bench/scenarios/flash-steady.js';

describe('flash-steady figures', () => {
  it('count only the window after the warm-up: orders per second, their latency, and any other answer', () => {
    const s = new LoadStats('warmup');
    for (let i = 0; i < 500; i++) s.record('checkout', 201, 300, i);
    s.setPhase('sale', 1_000);
    for (let i = 0; i < 2_000; i++) s.record('checkout', 201, 40, 1_000 + i);
    for (let i = 0; i < 20; i++) s.record('checkout', 503, 5, 2_500 + i);
    const figures = steadyFigures(s.summary(3_000));
    expect(figures['ordersPerSec']).toBe(1_000);
    expect(figures['otherAnswersPerSec']).toBe(10);
    expect(figures['orderP99Ms']).toBeGreaterThanOrEqual(39);
    expect(figures['orderP99Ms']).toBeLessThanOrEqual(41);
  });
});
