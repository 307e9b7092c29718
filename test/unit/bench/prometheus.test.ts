import { describe, expect, it } from 'vitest';
import { gaugeValue, histogramQuantile, sumValue, latencyBreakdown, parseHistograms, parseSamples } from '../../../bench/lib/prometheus.js';

const scrape = (bucketCounts: [string, number][], sum: number, extra = '') =>
  [
    '# HELP boxoffice_checkout_seconds Checkout latency.',
    '# TYPE boxoffice_checkout_seconds histogram',
    ...bucketCounts.map(([le, n]) => `boxoffice_checkout_seconds_bucket{le="${le}"} ${n}`),
    `boxoffice_checkout_seconds_sum ${sum}`,
    `boxoffice_checkout_seconds_count ${bucketCounts[bucketCounts.length - 1]![1]}`,
    'process_resident_memory_bytes 123456789',
    'nodejs_heap_size_total_bytes{space="old"} 42 1700000000000',
    extra,
  ].join('\n');

describe('Prometheus text parsing', () => {
  it('reads samples with labels, timestamps and ±Inf, skipping comments', () => {
    const samples = parseSamples(scrape([['0.01', 1], ['+Inf', 2]], 0.5));
    expect(samples.find((s) => s.name === 'nodejs_heap_size_total_bytes')).toEqual({ name: 'nodejs_heap_size_total_bytes', labels: { space: 'old' }, value: 42 });
    expect(samples.find((s) => s.labels['le'] === '+Inf')?.value).toBe(2);
    expect(gaugeValue(scrape([['+Inf', 0]], 0), 'process_resident_memory_bytes')).toBe(123456789);
    expect(gaugeValue('', 'process_resident_memory_bytes')).toBeNull();
  });

  it('sums every series of a labelled counter', () => {
    const text = ['x_total{sku="a"} 3', 'x_total{sku="b"} 4', 'y_total 1'].join('\n');
    expect(sumValue(text, 'x_total')).toBe(7);
    expect(sumValue(text, 'z_total')).toBeNull();
  });

  it('groups histogram buckets by name and non-le labels, in bound order', () => {
    const text = ['x_seconds_bucket{stage="a",le="+Inf"} 3', 'x_seconds_bucket{stage="a",le="0.1"} 1', 'x_seconds_bucket{stage="b",le="+Inf"} 5', 'x_seconds_count{stage="a"} 3', 'x_seconds_sum{stage="a"} 0.9'].join('\n');
    const hs = parseHistograms(text, /^x_seconds$/);
    expect(hs.map((h) => h.labelKey).sort()).toEqual(['stage="a"', 'stage="b"']);
    const a = hs.find((h) => h.labelKey === 'stage="a"')!;
    expect(a.buckets).toEqual([[0.1, 1], [Number.POSITIVE_INFINITY, 3]]);
    expect(a).toMatchObject({ count: 3, sum: 0.9 });
  });

  it('interpolates quantiles inside a bucket like histogram_quantile', () => {
    const [h] = parseHistograms(scrape([['0.01', 0], ['0.02', 100], ['+Inf', 100]], 1.5), /^boxoffice_checkout_seconds$/);
    expect(histogramQuantile(h!, 0.5)).toBeCloseTo(0.015, 9);
    expect(histogramQuantile(h!, 0.99)).toBeCloseTo(0.0199, 9);
  });

  it('answers the lower edge of the +Inf bucket and 0 for an empty histogram', () => {
    const [h] = parseHistograms(scrape([['0.01', 1], ['+Inf', 10]], 50), /^boxoffice_checkout_seconds$/);
    expect(histogramQuantile(h!, 0.99)).toBe(0.01);
    const [empty] = parseHistograms(scrape([['0.01', 0], ['+Inf', 0]], 0), /^boxoffice_checkout_seconds$/);
    expect(histogramQuantile(empty!, 0.5)).toBe(0);
  });

  it('breaks latency down from two scrapes, counting only what happened between them', () => {
    const before = scrape([['0.01', 10], ['0.1', 10], ['+Inf', 10]], 0.05);
    const after = scrape([['0.01', 10], ['0.1', 110], ['+Inf', 110]], 5.05);
    expect(latencyBreakdown(before, after)).toEqual([{ metric: 'boxoffice_checkout_seconds', count: 100, meanMs: 50, p50Ms: 55, p99Ms: 99.1 }]);
    expect(latencyBreakdown(after, after)).toEqual([]);
  });
});
