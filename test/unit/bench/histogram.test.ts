import { describe, expect, it } from 'vitest';
import { LatencyHistogram } from '../../../bench/lib/histogram.js';
import { mulberry32 } from '../../../src/payments/mulberry32.js';

/** Nearest rank on a sorted copy: the definition the histogram promises to approximate. */
function exactPercentile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]!;
}

describe('LatencyHistogram', () => {
  it('answers exact nearest-rank percentiles for values below 128 µs', () => {
    const h = new LatencyHistogram();
    for (let us = 1; us <= 100; us++) h.recordMs(us / 1000);
    expect(h.percentileMicros(0.5)).toBe(50);
    expect(h.percentileMicros(0.99)).toBe(99);
    expect(h.percentileMicros(0.999)).toBe(100);
    expect(h.percentileMicros(1)).toBe(100);
    expect(h.summary()).toMatchObject({ count: 100, p50Ms: 0.05, p99Ms: 0.099, maxMs: 0.1, meanMs: 0.051 });
  });

  it('stays within 1/64 of the exact percentile for values spread over six orders of magnitude (seed 7)', () => {
    const rng = mulberry32(7);
    const values = Array.from({ length: 20_000 }, () => Math.round(10 ** (rng() * 6))); // 1 µs … 1 s
    const h = new LatencyHistogram();
    for (const v of values) h.recordMs(v / 1000);
    for (const q of [0.5, 0.9, 0.99, 0.999]) {
      const exact = exactPercentile(values, q);
      const got = h.percentileMicros(q);
      expect(got).toBeGreaterThanOrEqual(exact);
      expect(got).toBeLessThanOrEqual(exact * (1 + 1 / 64) + 1);
    }
  });

  it('never reports a percentile above the largest value recorded', () => {
    const h = new LatencyHistogram();
    h.recordMs(1.001);
    expect(h.percentileMicros(0.5)).toBe(1001);
    expect(h.summary().p999Ms).toBe(1.001);
  });

  it('merges into the same answers as recording everything in one histogram, also through the wire form', () => {
    const rng = mulberry32(11);
    const all = new LatencyHistogram();
    const parts = [new LatencyHistogram(), new LatencyHistogram(), new LatencyHistogram()];
    for (let i = 0; i < 3_000; i++) {
      const ms = rng() * 500;
      all.recordMs(ms);
      parts[i % 3]!.recordMs(ms);
    }
    const merged = new LatencyHistogram();
    merged.merge(parts[0]!);
    merged.merge(parts[1]!.toWire());
    merged.merge(LatencyHistogram.fromWire(parts[2]!.toWire()));
    expect(merged.summary()).toEqual(all.summary());
  });

  it('answers zeros when empty and clamps absurd values to its range', () => {
    const h = new LatencyHistogram();
    expect(h.summary()).toEqual({ count: 0, meanMs: 0, p50Ms: 0, p90Ms: 0, p99Ms: 0, p999Ms: 0, maxMs: 0 });
    h.recordMs(10_000_000);
    expect(h.summary().maxMs).toBe(120_000);
  });

  it.each([[-1], [Number.NaN]])('refuses a latency of %s ms (a harness bug, not data)', (ms) => {
    expect(() => new LatencyHistogram().recordMs(ms)).toThrow();
  });

  it.each([[0], [1.5], [-0.1]])('refuses the quantile %s', (q) => {
    expect(() => new LatencyHistogram().percentileMicros(q)).toThrow();
  });
});
