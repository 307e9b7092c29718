import client from 'prom-client';
import { describe, expect, it } from 'vitest';
import { hotSkus, readMetricPanels } from '../../../src/dashboard/metric-panels.js';
import { histogramBuckets, metricByLabel, metricValue } from '../../../src/dashboard/metric-reader.js';

describe('the metric reader', () => {
  it('reads null for a metric the registry does not hold, and awaits gauges computed on collect', async () => {
    const registry = new client.Registry();
    let holds = 7;
    new client.Gauge({ name: 'boxoffice_holds_active', help: 'h', registers: [registry], collect() { this.set(holds); } });
    expect(await metricValue(registry, 'boxoffice_holds_active')).toBe(7);
    holds = 9;
    expect(await metricValue(registry, 'boxoffice_holds_active')).toBe(9);
    expect(await metricValue(registry, 'boxoffice_not_registered')).toBeNull();
    expect(await metricByLabel(registry, 'boxoffice_not_registered', 'sku')).toBeNull();
    expect(await histogramBuckets(registry, 'boxoffice_not_registered')).toBeNull();
  });

  it('sums samples matching the labels asked for, and groups by one label', async () => {
    const registry = new client.Registry();
    const errors = new client.Counter({ name: 'boxoffice_payment_errors_total', help: 'h', labelNames: ['call', 'kind'] as const, registers: [registry] });
    errors.inc({ call: 'authorize', kind: 'timeout' }, 2);
    errors.inc({ call: 'authorize', kind: 'declined' }, 3);
    errors.inc({ call: 'capture', kind: 'timeout' }, 4);
    expect(await metricValue(registry, 'boxoffice_payment_errors_total')).toBe(9);
    expect(await metricValue(registry, 'boxoffice_payment_errors_total', { kind: 'timeout' })).toBe(6);
    expect(await metricByLabel(registry, 'boxoffice_payment_errors_total', 'call')).toEqual(new Map([['authorize', 5], ['capture', 4]]));
  });
});

describe('the metric panels', () => {
  it('show null for every metric a node does not register yet', async () => {
    const panels = await readMetricPanels(new client.Registry(), 20);
    expect(panels).toEqual({
      hotSkus: null,
      holds: { active: null, pinned: null },
      authorizations: { outstanding: null, oldestAgeS: null },
      pendingOrders: { count: null, oldestAgeS: null },
      lag: { outboxS: null, webhookS: null },
      provider: { errors: null, latency: null },
      checkoutsByOutcome: null,
      oversoldUnits: null,
      oversoldNewUnits: null,
      partitionsServed: null,
      dropQueues: null,
      dropAdmissions: null,
    });
  });

  it('light up from the metric names of the contract', async () => {
    const registry = new client.Registry();
    const gauge = (name: string, labelNames: string[] = []) => new client.Gauge({ name, help: 'h', labelNames, registers: [registry] });
    gauge('boxoffice_hot_sku_available', ['sku']).set({ sku: 'HOT' }, 40);
    gauge('boxoffice_hot_sku_checkouts_per_second', ['sku']).set({ sku: 'HOT' }, 120);
    gauge('boxoffice_holds_pinned').set(3);
    gauge('boxoffice_oversold_units').set(2);
    new client.Counter({ name: 'boxoffice_oversold_units_total', help: 'h', registers: [registry] }).inc(1);
    gauge('boxoffice_drop_queue_length', ['sku']).set({ sku: 'DROP' }, 1_000);
    const payment = new client.Histogram({ name: 'boxoffice_payment_seconds', help: 'h', labelNames: ['call'], buckets: [0.1, 1], registers: [registry] });
    payment.observe({ call: 'capture' }, 0.05);
    const panels = await readMetricPanels(registry, 20);
    expect(panels.hotSkus).toEqual([{ sku: 'HOT', available: 40, checkoutsPerS: 120 }]);
    expect(panels.holds).toEqual({ active: null, pinned: 3 });
    expect([panels.oversoldUnits, panels.oversoldNewUnits]).toEqual([2, 1]);
    expect(panels.dropQueues).toEqual({ DROP: 1_000 });
    expect(panels.provider.latency).toEqual([{ call: 'capture', p99Ms: expect.closeTo(99, 6), count: 1 }]);
  });

  it('rank hot SKUs busiest first, at most rowsMax', () => {
    const rates = new Map([['A', 5], ['B', 50], ['C', 20]]);
    const available = new Map([['A', 1], ['B', 2], ['D', 9]]);
    expect(hotSkus(available, rates, 3)).toEqual([
      { sku: 'B', available: 2, checkoutsPerS: 50 },
      { sku: 'C', available: null, checkoutsPerS: 20 },
      { sku: 'A', available: 1, checkoutsPerS: 5 },
    ]);
    expect(hotSkus(null, null, 3)).toBeNull();
  });
});
