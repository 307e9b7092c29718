import type { Registry } from 'prom-client';
import { quantileFromBucketDeltas } from './checkout-rates.js';
import { histogramBuckets, metricByLabel, metricSamples, metricValue } from './metric-reader.js';

/**
 * The dashboard panels read from the node's metrics by name (docs/dashboard.md lists them). A metric this node does
 * not register reads as null and its panel shows "—": the panels are written against the metric names, not against
 * the code that keeps them.
 */

export interface HotSku {
  sku: string;
  available: number | null;
  checkoutsPerS: number | null;
}

export interface ProviderCall {
  call: string;
  /** Since the node started (the histogram's whole life), not a window. */
  p99Ms: number | null;
  count: number;
}

export interface MetricPanels {
  hotSkus: HotSku[] | null;
  holds: { active: number | null; pinned: number | null };
  authorizations: { outstanding: number | null; oldestAgeS: number | null };
  pendingOrders: { count: number | null; oldestAgeS: number | null };
  lag: { outboxS: number | null; webhookS: number | null };
  provider: { errors: { call: string; kind: string; count: number }[] | null; latency: ProviderCall[] | null };
  checkoutsByOutcome: Record<string, number> | null;
  /** Units by which SKUs served here are sold beyond stock now (boxoffice_oversold_units: must be 0). */
  oversoldUnits: number | null;
  /** New oversells this node's SKU actors made since it started (boxoffice_oversold_units_total: must be 0). */
  oversoldNewUnits: number | null;
  partitionsServed: number | null;
  dropQueues: Record<string, number> | null;
  dropAdmissions: Record<string, number> | null;
}

export async function readMetricPanels(registry: Registry, rowsMax: number): Promise<MetricPanels> {
  const value = (name: string) => metricValue(registry, name);
  const byLabel = (name: string, label: string) => metricByLabel(registry, name, label);
  const [available, rates, active, pinned, outstanding, authAge, pending, pendingAge, outboxLag, webhookLag] = await Promise.all([
    byLabel('boxoffice_hot_sku_available', 'sku'),
    byLabel('boxoffice_hot_sku_checkouts_per_second', 'sku'),
    value('boxoffice_holds_active'),
    value('boxoffice_holds_pinned'),
    value('boxoffice_authorizations_outstanding'),
    value('boxoffice_authorization_oldest_age_seconds'),
    value('boxoffice_orders_pending'),
    value('boxoffice_order_pending_oldest_age_seconds'),
    value('boxoffice_events_lag_seconds'),
    value('boxoffice_webhook_lag_seconds'),
  ]);
  const [outcomes, oversold, oversoldNew, served, queues, admissions, errors, latency] = await Promise.all([
    byLabel('boxoffice_checkouts_total', 'outcome'),
    value('boxoffice_oversold_units'),
    value('boxoffice_oversold_units_total'),
    value('boxoffice_partitions_served'),
    byLabel('boxoffice_drop_queue_length', 'sku'),
    byLabel('boxoffice_drop_admissions_total', 'sku'),
    paymentErrors(registry, rowsMax),
    providerLatency(registry),
  ]);
  return {
    hotSkus: hotSkus(available, rates, rowsMax),
    holds: { active, pinned },
    authorizations: { outstanding, oldestAgeS: authAge },
    pendingOrders: { count: pending, oldestAgeS: pendingAge },
    lag: { outboxS: outboxLag, webhookS: webhookLag },
    provider: { errors, latency },
    checkoutsByOutcome: outcomes === null ? null : Object.fromEntries(outcomes),
    oversoldUnits: oversold,
    oversoldNewUnits: oversoldNew,
    partitionsServed: served,
    dropQueues: queues === null ? null : Object.fromEntries(queues),
    dropAdmissions: admissions === null ? null : Object.fromEntries(admissions),
  };
}

/** The SKUs either hot-SKU gauge names, busiest first, at most rowsMax. */
export function hotSkus(available: Map<string, number> | null, rates: Map<string, number> | null, rowsMax: number): HotSku[] | null {
  if (available === null && rates === null) return null;
  const skus = new Set([...(available?.keys() ?? []), ...(rates?.keys() ?? [])]);
  return [...skus]
    .map((sku) => ({ sku, available: available?.get(sku) ?? null, checkoutsPerS: rates?.get(sku) ?? null }))
    .sort((a, b) => (b.checkoutsPerS ?? 0) - (a.checkoutsPerS ?? 0) || a.sku.localeCompare(b.sku))
    .slice(0, rowsMax);
}

async function paymentErrors(registry: Registry, rowsMax: number): Promise<{ call: string; kind: string; count: number }[] | null> {
  const samples = await metricSamples(registry, 'boxoffice_payment_errors_total');
  if (samples === null) return null;
  return samples
    .map((s) => ({ call: s.labels['call'] ?? '', kind: s.labels['kind'] ?? '', count: s.value }))
    .sort((a, b) => b.count - a.count)
    .slice(0, rowsMax);
}

/** p99 of each provider call: boxoffice_payment_seconds{call} when registered, else the authorize-only histogram. */
async function providerLatency(registry: Registry): Promise<ProviderCall[] | null> {
  const byCall = await callsOf(registry);
  if (byCall === null) return null;
  const out: ProviderCall[] = [];
  for (const [call, name, labels] of byCall) {
    const buckets = await histogramBuckets(registry, name, labels);
    if (buckets === null) continue;
    const p99 = quantileFromBucketDeltas(new Map(), buckets, 0.99);
    out.push({ call, p99Ms: p99 === null ? null : p99 * 1000, count: buckets.get(Infinity) ?? 0 });
  }
  return out;
}

async function callsOf(registry: Registry): Promise<[string, string, Record<string, string>][] | null> {
  const split = await metricSamples(registry, 'boxoffice_payment_seconds');
  if (split !== null) {
    const calls = new Set(split.map((s) => s.labels['call']).filter((c): c is string => c !== undefined));
    return [...calls].map((call) => [call, 'boxoffice_payment_seconds', { call }]);
  }
  const authorize = registry.getSingleMetric('boxoffice_payment_authorize_seconds');
  return authorize === undefined ? null : [['authorize', 'boxoffice_payment_authorize_seconds', {}]];
}
