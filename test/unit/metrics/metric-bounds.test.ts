import { monitorEventLoopDelay } from 'node:perf_hooks';
import client from 'prom-client';
import { describe, expect, it } from 'vitest';
import { BoundedLabel } from '../../../src/metrics/bounded-label.js';
import { checkoutOutcomeOf, createCheckoutOutcomes, errorCodeOf } from '../../../src/metrics/checkout-outcomes.js';
import { createEventLoopLag } from '../../../src/metrics/event-loop-lag.js';
import { paymentErrorOfResult, paymentErrorOfThrown } from '../../../src/metrics/payment-metrics.js';
import { PaymentTimeoutError } from '../../../src/payments/provider.js';
import { parseScrape } from '../../support/metrics-scrape.js';

describe('bounded labels', () => {
  it('names the first max values and counts every later one as other', () => {
    const label = new BoundedLabel(3);
    expect(['a', 'b', 'c', 'd', 'a', 'e'].map((v) => label.of(v))).toEqual(['a', 'b', 'c', 'other', 'a', 'other']);
  });
});

describe('checkout outcomes', () => {
  it.each([
    [201, undefined, 'confirmed'],
    [202, undefined, 'pending'],
    [409, 'OUT_OF_STOCK', 'sold_out'],
    [402, 'PAYMENT_DECLINED', 'declined'],
    [409, 'IDEMPOTENCY_KEY_IN_USE', 'conflict'],
    [422, 'IDEMPOTENCY_KEY_REUSED', 'conflict'],
    [429, 'OVERLOADED', 'overloaded'],
    [400, 'VALIDATION_FAILED', 'rejected'],
    [409, 'PURCHASE_LIMIT_REACHED', 'rejected'],
    [403, 'ADMISSION_REQUIRED', 'rejected'],
    [503, 'PAYMENT_PROVIDER_UNAVAILABLE', 'error'],
    [500, undefined, 'error'],
  ] as const)('answers %i %s count as %s', (status, code, outcome) => {
    expect(checkoutOutcomeOf(status, code)).toBe(outcome);
  });

  it('reads the code of an error body, and nothing from other bodies', () => {
    expect(errorCodeOf({ error: { code: 'OUT_OF_STOCK', message: 'x' } })).toBe('OUT_OF_STOCK');
    expect(errorCodeOf({ orderId: 'o' })).toBeUndefined();
    expect(errorCodeOf(undefined)).toBeUndefined();
  });

  it('exports every outcome, counted, and the sold-out paths', async () => {
    const registry = new client.Registry();
    const c = createCheckoutOutcomes(registry);
    c.count(201, undefined);
    c.count(201, undefined);
    c.count(409, 'OUT_OF_STOCK');
    c.soldOut('edge');
    const s = parseScrape(await registry.metrics());
    expect(s.value('boxoffice_checkouts_total', { outcome: 'confirmed' })).toBe(2);
    expect(s.value('boxoffice_checkouts_total', { outcome: 'sold_out' })).toBe(1);
    expect(s.series('boxoffice_checkouts_total')).toHaveLength(8);
    expect(s.value('boxoffice_sold_out_answers_total', { path: 'edge' })).toBe(1);
    expect(s.value('boxoffice_sold_out_answers_total', { path: 'actor' })).toBe(0);
  });
});

describe('payment error kinds', () => {
  it.each([
    [{ kind: 'authorized', authId: 'a' }, null],
    [{ kind: 'declined', declineCode: 'generic_decline' }, 'declined'],
    [{ kind: 'error', retryable: true }, 'unavailable'],
    [{ kind: 'error', retryable: false }, 'invalid'],
    [{ ok: true }, null],
    [{ ok: false, message: 'circuit open', retryable: true }, 'unavailable'],
    [{ ok: false, message: 'already captured' }, 'invalid'],
    [null, null],
  ])('%j is %s', (result, kind) => {
    expect(paymentErrorOfResult(result)).toBe(kind);
  });

  it('tells a timeout from any other throw', () => {
    expect(paymentErrorOfThrown(new PaymentTimeoutError())).toBe('timeout');
    expect(paymentErrorOfThrown(new Error('socket hang up'))).toBe('other');
  });
});

describe('the event-loop lag gauge', () => {
  /** A stand-in for perf_hooks' monitor: the delays "seen" since the last reset. */
  function fakeMonitor() {
    let delaysNs: number[] = [];
    const m = {
      enabled: false,
      get max() {
        return Math.max(0, ...delaysNs);
      },
      see: (...ms: number[]) => delaysNs.push(...ms.map((x) => x * 1e6)),
      enable: () => (m.enabled = true),
      disable: () => (m.enabled = false),
      reset: () => (delaysNs = []),
      get count() {
        return delaysNs.length;
      },
      percentile: (p: number) => [...delaysNs].sort((a, b) => a - b)[Math.min(delaysNs.length - 1, Math.ceil((p / 100) * delaysNs.length) - 1)]!,
    };
    return m;
  }

  it('reports the p99 and max delay of the last full window, the same to every scrape, and stops on close', async () => {
    const registry = new client.Registry();
    const monitor = fakeMonitor();
    let rotate = () => {};
    let stopped = false;
    const lag = createEventLoopLag(registry, { monitor: monitor as never, every: (fn) => ((rotate = fn), () => (stopped = true)) });
    const read = async () => {
      const s = parseScrape(await registry.metrics());
      return [s.value('boxoffice_event_loop_lag_seconds'), s.value('boxoffice_event_loop_lag_max_seconds')];
    };
    expect(monitor.enabled).toBe(true);
    monitor.see(...Array.from({ length: 99 }, () => 10), 250);
    // The window is not over: nothing yet, and a scrape does not reset the monitor.
    expect(await read()).toEqual([0, 0]);
    rotate();
    // Two scrapers (or one scraping twice) see the same window: a stall is not split between them.
    expect(await read()).toEqual([0.01, 0.25]);
    expect(await read()).toEqual([0.01, 0.25]);
    monitor.see(...Array.from({ length: 50 }, () => 10), ...Array.from({ length: 50 }, () => 250));
    rotate();
    expect(await read()).toEqual([0.25, 0.25]);
    rotate();
    expect(await read()).toEqual([0, 0]);
    lag.close();
    expect(monitor.enabled).toBe(false);
    expect(stopped).toBe(true);
  });

  it('measures the real event loop: a stall shows up', async () => {
    const registry = new client.Registry();
    const monitor = monitorEventLoopDelay({ resolution: 10 });
    const lag = createEventLoopLag(registry, { monitor, windowMs: 200 });
    try {
      // The monitor measures from its first tick on: stall once it ticks.
      await expect.poll(() => monitor.count, { timeout: 2_000 }).toBeGreaterThan(0);
      const stalled = Date.now() + 60;
      while (Date.now() < stalled);
      // Seen once the window holding the stall is over (scrapes meanwhile change nothing).
      const maxS = async () => parseScrape(await registry.metrics()).value('boxoffice_event_loop_lag_max_seconds') ?? 0;
      await expect.poll(maxS, { timeout: 2_000 }).toBeGreaterThanOrEqual(0.04);
    } finally {
      lag.close();
    }
  });
});
