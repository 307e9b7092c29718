import type { Registry } from 'prom-client';

/**
 * Reads a node's own Prometheus registry by metric name, for the dashboard's panels. A metric the registry does not
 * hold reads as null (the panel shows "—"), so a panel lights up the day its metric is registered, and no panel
 * knows how a metric is made. prom-client computes gauges and counters that have a collect() callback on get(),
 * which is asynchronous: every read awaits.
 */

export interface MetricSample {
  labels: Record<string, string>;
  value: number;
  /** For histograms: `<name>_bucket`, `<name>_sum`, `<name>_count`. */
  metricName?: string;
}

/** Every sample of the metric, or null when the registry has no metric of that name. */
export async function metricSamples(registry: Registry, name: string): Promise<MetricSample[] | null> {
  const metric = registry.getSingleMetric(name);
  if (metric === undefined) return null;
  const read = await metric.get();
  return read.values.map((v) => ({
    labels: Object.fromEntries(Object.entries(v.labels).map(([k, x]) => [k, String(x)])),
    value: v.value,
    ...('metricName' in v && typeof v.metricName === 'string' ? { metricName: v.metricName } : {}),
  }));
}

/**
 * The sum of the metric's samples whose labels include `labels` (all of them without), or null when the metric is
 * absent. A gauge without labels reads its one value.
 */
export async function metricValue(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number | null> {
  const samples = await metricSamples(registry, name);
  if (samples === null) return null;
  return samples.filter((s) => hasLabels(s, labels)).reduce((sum, s) => sum + s.value, 0);
}

/** The metric's values by one label's value (summed over the other labels), or null when the metric is absent. */
export async function metricByLabel(registry: Registry, name: string, label: string): Promise<Map<string, number> | null> {
  const samples = await metricSamples(registry, name);
  if (samples === null) return null;
  const out = new Map<string, number>();
  for (const s of samples) {
    const key = s.labels[label];
    if (key !== undefined) out.set(key, (out.get(key) ?? 0) + s.value);
  }
  return out;
}

/** A histogram's cumulative bucket counts by upper bound (Infinity for +Inf), or null when it is absent. */
export async function histogramBuckets(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<Map<number, number> | null> {
  const samples = await metricSamples(registry, name);
  if (samples === null) return null;
  const buckets = new Map<number, number>();
  for (const s of samples) {
    if (s.metricName !== `${name}_bucket` || !hasLabels(s, labels)) continue;
    const le = s.labels['le'] === '+Inf' ? Infinity : Number(s.labels['le']);
    buckets.set(le, (buckets.get(le) ?? 0) + s.value);
  }
  return buckets;
}

function hasLabels(s: MetricSample, labels: Record<string, string>): boolean {
  for (const k in labels) if (s.labels[k] !== labels[k]) return false;
  return true;
}
