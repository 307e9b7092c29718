import client from 'prom-client';
import { describe, expect, it } from 'vitest';
import { CheckoutRates, latencyMetric, quantileFromBucketDeltas, responsesMetric } from '../../../src/dashboard/checkout-rates.js';
import type { Clock } from '../../../src/clock.js';

/** A clock the test moves by hand; the sampler only reads now(). */
function manualClock(startMs = 1_000_000): Clock & { advance(ms: number): void } {
  let now = startMs;
  return { now: () => now, setTimer: () => ({ cancel: () => undefined }), advance: (ms) => void (now += ms) };
}

function checkoutMetrics() {
  const registry = new client.Registry();
  const responses = new client.Counter({ name: responsesMetric, help: 'h', labelNames: ['status', 'replayed'] as const, registers: [registry] });
  const seconds = new client.Histogram({ name: latencyMetric, help: 'h', buckets: [0.001, 0.01, 0.1, 1], registers: [registry] });
  return { registry, responses, seconds };
}

describe('quantileFromBucketDeltas', () => {
  const buckets = (entries: [number, number][]) => new Map(entries);
  it.each([
    ['nothing observed between the readings', [[0.1, 5], [Infinity, 5]], [[0.1, 5], [Infinity, 5]], null],
    ['every observation in the first bucket: linear from 0', [], [[0.1, 100], [1, 100], [Infinity, 100]], 0.099],
    ['the rank in the second bucket', [], [[0.1, 50], [1, 100], [Infinity, 100]], 0.1 + 0.9 * (49 / 50)],
    ['only what happened between the readings', [[0.1, 1000], [1, 1000], [Infinity, 1000]], [[0.1, 1000], [1, 1100], [Infinity, 1100]], 0.1 + 0.9 * 0.99],
    ['the rank past the last finite bound: that bound', [], [[0.1, 0], [1, 0], [Infinity, 10]], 1],
  ] as [string, [number, number][], [number, number][], number | null][])('%s', (_name, before, after, expected) => {
    const q = quantileFromBucketDeltas(buckets(before), buckets(after), 0.99);
    if (expected === null) expect(q).toBeNull();
    else expect(q).toBeCloseTo(expected, 9);
  });
});

describe('CheckoutRates', () => {
  it('turns counter deltas into checkouts and sales a second, and bucket deltas into p99', async () => {
    const { registry, responses, seconds } = checkoutMetrics();
    const clock = manualClock();
    const rates = new CheckoutRates(registry, clock);
    await rates.sample();
    expect(rates.samples()).toEqual([]);

    responses.inc({ status: '201', replayed: 'false' }, 6);
    responses.inc({ status: '201', replayed: 'true' }, 2);
    responses.inc({ status: '409', replayed: 'false' }, 2);
    for (let i = 0; i < 10; i++) seconds.observe(0.05);
    clock.advance(2_000);
    await rates.sample();
    expect(rates.samples()).toHaveLength(1);
    const [first] = rates.samples();
    expect(first).toMatchObject({ at: clock.now(), checkouts: 10, checkoutsPerS: 5, salesPerS: 3 });
    expect(first!.p99Ms).toBeCloseTo((0.01 + 0.09 * 0.99) * 1000, 6);

    clock.advance(1_000);
    await rates.sample();
    expect(rates.samples()[1]).toMatchObject({ checkouts: 0, checkoutsPerS: 0, salesPerS: 0, p99Ms: null });
  });

  it('keeps only the newest samplesMax samples', async () => {
    const { registry, responses } = checkoutMetrics();
    const clock = manualClock();
    const rates = new CheckoutRates(registry, clock, 3);
    await rates.sample();
    for (let i = 1; i <= 5; i++) {
      responses.inc({ status: '201', replayed: 'false' }, i);
      clock.advance(1_000);
      await rates.sample();
    }
    expect(rates.samples().map((s) => s.checkouts)).toEqual([3, 4, 5]);
  });

  it('reads zero rates from a registry without the checkout metrics', async () => {
    const clock = manualClock();
    const rates = new CheckoutRates(new client.Registry(), clock);
    await rates.sample();
    clock.advance(1_000);
    await rates.sample();
    expect(rates.samples()).toEqual([{ at: clock.now(), checkouts: 0, checkoutsPerS: 0, salesPerS: 0, p99Ms: null }]);
  });
});
