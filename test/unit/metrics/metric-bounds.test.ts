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

  it('reports the p99 delay since the last scrape in seconds, then starts over, and stops on close', async () => {
    const registry = new client.Registry();
    const monitor = fakeMonitor();
    const lag = createEventLoopLag(registry, monitor as never);
    expect(monitor.enabled).toBe(true);
    monitor.see(...Array.from({ length: 99 }, () => 10), 250);
    expect(parseScrape(await registry.metrics()).value('boxoffice_event_loop_lag_seconds')).toBe(0.01);
    monitor.see(...Array.from({ length: 50 }, () => 10), ...Array.from({ length: 50 }, () => 250));
    expect(parseScrape(await registry.metrics()).value('boxoffice_event_loop_lag_seconds')).toBe(0.25);
    expect(parseScrape(await registry.metrics()).value('boxoffice_event_loop_lag_seconds')).toBe(0);
    lag.close();
    expect(monitor.enabled).toBe(false);
  });

  it('measures the real event loop: a stall shows up', async () => {
    const registry = new client.Registry();
    const monitor = monitorEventLoopDelay({ resolution: 10 });
    const lag = createEventLoopLag(registry, monitor);
    try {
      // The monitor measures from its first tick on: stall once it ticks.
      await expect.poll(() => monitor.count, { timeout: 2_000 }).toBeGreaterThan(0);
      const stalled = Date.now() + 60;
      while (Date.now() < stalled);
      // Seen at the monitor's next tick (a scrape before it would reset the monitor and lose it).
      await expect.poll(() => monitor.max, { timeout: 2_000 }).toBeGreaterThanOrEqual(40e6);
      expect(parseScrape(await registry.metrics()).value('boxoffice_event_loop_lag_seconds')).toBeGreaterThanOrEqual(0.04);
    } finally {
      lag.close();
    }
  });
});
