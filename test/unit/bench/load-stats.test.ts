import { describe, expect, it } from 'vitest';
import { acknowledgedOrders, classTotals, countOf, errorChecks, phaseNamed, phaseSeconds, rate } from '../../../bench/lib/load-math.js';
import { LoadStats } from '../../../bench/lib/load-stats.js';

describe('LoadStats', () => {
  it('counts answers by phase, operation and status, and keeps a whole-run total', () => {
    const s = new LoadStats('sale');
    s.record('checkout', 201, 10, 100);
    s.record('checkout', 201, 20, 900);
    s.record('checkout', 409, 1, 950);
    s.setPhase('sold-out', 1_000);
    s.record('checkout', 409, 2, 1_500);
    s.record('checkout', 201, 30, 1_600); // a late order, acknowledged after the phase switch
    const summary = s.summary(3_000);
    const sale = phaseNamed(summary, 'sale')!;
    const after = phaseNamed(summary, 'sold-out')!;
    expect(sale.byOp['checkout']!.byStatus).toEqual({ '201': 2, '409': 1 });
    expect(after.byOp['checkout']!.byStatus).toEqual({ '409': 1, '201': 1 });
    expect(summary.whole.byOp['checkout']!.byStatus).toEqual({ '201': 3, '409': 2 });
    expect([sale.startMs, sale.endMs, after.startMs, after.endMs]).toEqual([0, 1_000, 1_000, 3_000]);
    expect(summary.whole.byOp['checkout']!.first2xxMs).toBe(100);
    expect(summary.whole.byOp['checkout']!.last2xxMs).toBe(1_600);
    expect(sale.byOp['checkout']!.latencyByClass['2xx']!.count).toBe(2);
    expect(sale.byOp['checkout']!.latencyByClass['4xx']!.p99Ms).toBe(1);
  });

  it('closes one-second samples that start empty again', () => {
    const s = new LoadStats('storm');
    s.record('get', 200, 5, 10);
    s.record('get', 503, 7, 20);
    s.recordError('timeout');
    s.recordError('connection');
    const first = s.takeSecond(1_000);
    expect(first).toMatchObject({ t: 1, phase: 'storm', responses: 2, byStatus: { '200': 1, '503': 1 }, byOp: { get: { '200': 1, '503': 1 } }, errors: 2, timeouts: 1 });
    expect(first.latency.count).toBe(2);
    expect(s.takeSecond(2_000)).toMatchObject({ t: 2, responses: 0, errors: 0, byStatus: {} });
    expect(s.sinceLastSecondMs(2_250)).toBe(250);
  });
});

describe('load math', () => {
  const stats = new LoadStats('storm');
  for (let i = 0; i < 30; i++) stats.record('checkout', 409, 1, i * 100);
  stats.record('checkout', 201, 1, 3_000);
  stats.record('checkout', 202, 1, 3_100);
  stats.record('checkout', 500, 1, 3_200);
  stats.recordError('timeout');
  const summary = stats.summary(4_000);

  it('counts by status predicate, rates over the phase, and totals by class', () => {
    expect(countOf(summary.whole, 'checkout', (s) => s === 409)).toBe(30);
    expect(countOf(summary.whole, 'nothing')).toBe(0);
    expect(phaseSeconds(summary.whole)).toBe(4);
    expect(rate(30, 4)).toBe(7.5);
    expect(rate(5, 0)).toBeNull();
    expect(classTotals(summary.whole)).toEqual({ s2xx: 2, s4xx: 30, s5xx: 1, other: 0 });
    expect(acknowledgedOrders(summary)).toBe(2);
  });

  it('fails the error checks on a 5xx and a timeout, and passes a clean run', () => {
    const checks = errorChecks(summary);
    expect(checks.map((c) => [c.name, c.ok, c.detail])).toEqual([
      ['no error answers (non-2xx/4xx)', false, '500×1'],
      ['no request timeouts', false, '1'],
      ['no connection errors', true, '0'],
    ]);
    const clean = new LoadStats('x');
    clean.record('checkout', 409, 1, 1);
    expect(errorChecks(clean.summary(10)).every((c) => c.ok)).toBe(true);
  });
});
