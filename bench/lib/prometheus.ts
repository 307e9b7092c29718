/**
 * Reading boxoffice's GET /metrics (Prometheus text format) for the latency breakdown and the memory scenario.
 * Histograms are scraped before and after a run and subtracted, so setup traffic never leaks into the figures;
 * quantiles are estimated the way Prometheus' histogram_quantile does (linear within the bucket), which is as
 * precise as the buckets are — the breakdown says where time goes, the load worker's own histogram gives the
 * end-to-end percentiles.
 */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface PromHistogram {
  name: string;
  /** Labels other than `le`, as `k="v",…` (empty for none). */
  labelKey: string;
  /** Cumulative counts by upper bound, ascending; the last bound is +Inf. */
  buckets: Array<[number, number]>;
  sum: number;
  count: number;
}

export interface BreakdownRow {
  metric: string;
  count: number;
  meanMs: number;
  p50Ms: number;
  p99Ms: number;
}

const SAMPLE_LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parseSamples(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = SAMPLE_LINE.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL)) labels[l[1]!] = l[2]!;
    samples.push({ name: m[1]!, labels, value: parsePromNumber(m[3]!) });
  }
  return samples;
}

function parsePromNumber(s: string): number {
  if (s === '+Inf') return Number.POSITIVE_INFINITY;
  if (s === '-Inf') return Number.NEGATIVE_INFINITY;
  return Number(s);
}

/** The sum of every series of `name` (a counter split by a label, such as boxoffice_drop_admissions_total{sku}), or null. */
export function sumValue(text: string, name: string): number | null {
  const samples = parseSamples(text).filter((s) => s.name === name);
  return samples.length === 0 ? null : samples.reduce((sum, s) => sum + s.value, 0);
}

/** The first sample of `name` (a gauge such as process_resident_memory_bytes), or null. */
export function gaugeValue(text: string, name: string): number | null {
  return parseSamples(text).find((s) => s.name === name)?.value ?? null;
}

const labelKeyOf = (labels: Record<string, string>) =>
  Object.entries(labels)
    .filter(([k]) => k !== 'le')
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `${k}="${v}"`)
    .join(',');

/** Every histogram whose name matches `namePattern` (e.g. /^boxoffice_.*_seconds$/), one per label set. */
export function parseHistograms(text: string, namePattern: RegExp): PromHistogram[] {
  const byKey = new Map<string, PromHistogram>();
  const get = (name: string, labels: Record<string, string>) => {
    const labelKey = labelKeyOf(labels);
    const key = `${name}{${labelKey}}`;
    let h = byKey.get(key);
    if (!h) byKey.set(key, (h = { name, labelKey, buckets: [], sum: 0, count: 0 }));
    return h;
  };
  for (const s of parseSamples(text)) {
    const base = s.name.replace(/_(bucket|sum|count)$/, '');
    if (base === s.name || !namePattern.test(base)) continue;
    const h = get(base, s.labels);
    if (s.name.endsWith('_bucket')) h.buckets.push([parsePromNumber(s.labels['le'] ?? '+Inf'), s.value]);
    else if (s.name.endsWith('_sum')) h.sum = s.value;
    else h.count = s.value;
  }
  for (const h of byKey.values()) h.buckets.sort((a, b) => a[0] - b[0]);
  return [...byKey.values()];
}

/** after − before, bucket by bucket (a histogram missing before counts as empty). */
export function subtractHistogram(after: PromHistogram, before: PromHistogram | undefined): PromHistogram {
  if (!before) return after;
  const prior = new Map(before.buckets);
  return {
    ...after,
    buckets: after.buckets.map(([le, n]) => [le, n - (prior.get(le) ?? 0)]),
    sum: after.sum - before.sum,
    count: after.count - before.count,
  };
}

/** histogram_quantile: the bucket holding rank q·count, interpolated linearly; the +Inf bucket answers its lower edge. */
export function histogramQuantile(h: PromHistogram, q: number): number {
  if (h.count <= 0 || h.buckets.length === 0) return 0;
  const rank = q * h.count;
  let prevBound = 0;
  let prevCount = 0;
  for (const [bound, cumulative] of h.buckets) {
    if (cumulative >= rank) {
      if (!Number.isFinite(bound)) return prevBound;
      const inBucket = cumulative - prevCount;
      return inBucket <= 0 ? bound : prevBound + (bound - prevBound) * ((rank - prevCount) / inBucket);
    }
    prevBound = bound;
    prevCount = cumulative;
  }
  return prevBound;
}

/** The per-stage latency breakdown of one run from two scrapes of /metrics. */
export function latencyBreakdown(beforeText: string, afterText: string, namePattern = /^boxoffice_.*_seconds$/): BreakdownRow[] {
  const before = new Map(parseHistograms(beforeText, namePattern).map((h) => [`${h.name}{${h.labelKey}}`, h]));
  const ms = (seconds: number) => Math.round(seconds * 1_000_000) / 1000;
  return parseHistograms(afterText, namePattern)
    .map((after) => subtractHistogram(after, before.get(`${after.name}{${after.labelKey}}`)))
    .filter((h) => h.count > 0)
    .map((h) => ({
      metric: h.labelKey ? `${h.name}{${h.labelKey}}` : h.name,
      count: h.count,
      meanMs: ms(h.sum / h.count),
      p50Ms: ms(histogramQuantile(h, 0.5)),
      p99Ms: ms(histogramQuantile(h, 0.99)),
    }));
}
