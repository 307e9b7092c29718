import type { Registry } from 'prom-client';
import type { Clock } from '../clock.js';
import { dashboardLimits } from '../config/limits.js';
import { histogramBuckets, metricSamples } from './metric-reader.js';

/**
 * This node's checkout throughput and p99 latency, a point a second for the last five minutes (a ring of
 * dashboardLimits.rateSamplesMax): sampled from the node's own counters, so a cluster's dashboard shows the node it
 * is served by. Checkouts a second are the delta of boxoffice_checkout_responses_total (every answer; sales are the
 * 201s that were not replays); p99 is read from the delta of boxoffice_checkout_seconds' buckets, as Prometheus'
 * histogram_quantile does over a one-second window.
 */

export const responsesMetric = 'boxoffice_checkout_responses_total';
export const latencyMetric = 'boxoffice_checkout_seconds';

export interface RateSample {
  /** Epoch ms of the sample. */
  at: number;
  /** Checkout answers in the interval that ends here. */
  checkouts: number;
  checkoutsPerS: number;
  salesPerS: number;
  /** Null when no checkout finished in the window. */
  p99Ms: number | null;
}

interface Reading {
  at: number;
  responses: number;
  sales: number;
  buckets: Map<number, number>;
}

/**
 * The q-quantile (0 < q < 1) of the observations between two readings of a histogram's cumulative buckets, in the
 * buckets' unit: linear within the bucket the rank falls in (the first bucket starts at 0); the highest finite
 * bound when it falls in +Inf; null when nothing was observed.
 */
export function quantileFromBucketDeltas(before: Map<number, number>, after: Map<number, number>, q: number): number | null {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const deltas = bounds.map((le) => Math.max(0, (after.get(le) ?? 0) - (before.get(le) ?? 0)));
  const total = deltas[deltas.length - 1] ?? 0;
  if (total === 0) return null;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (let i = 0; i < bounds.length; i++) {
    const upper = bounds[i]!;
    const count = deltas[i]!;
    if (count >= rank) {
      if (upper === Infinity) return lower;
      return count === below ? upper : lower + ((upper - lower) * (rank - below)) / (count - below);
    }
    lower = upper;
    below = count;
  }
  return lower;
}

export class CheckoutRates {
  private readonly ring: RateSample[] = [];
  private last: Reading | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly registry: Registry,
    private readonly clock: Clock,
    private readonly samplesMax: number = dashboardLimits.rateSamplesMax,
  ) {}

  /** Samples every intervalMs until stop(); the timer does not keep the process alive. */
  start(intervalMs: number = dashboardLimits.snapshotIntervalMs): void {
    if (this.timer !== null) return;
    // The base reading now, so the first interval already counts what happens in it.
    void this.sample().catch(() => undefined);
    this.timer = setInterval(() => void this.sample().catch(() => undefined), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /** Oldest first. */
  samples(): RateSample[] {
    return [...this.ring];
  }

  /** Reads the counters and appends the rates since the previous reading (the first reading only sets the base). */
  async sample(): Promise<void> {
    const reading = await this.read();
    const previous = this.last;
    this.last = reading;
    if (previous === null || reading.at <= previous.at) return;
    const seconds = (reading.at - previous.at) / 1000;
    const p99 = quantileFromBucketDeltas(previous.buckets, reading.buckets, 0.99);
    const checkouts = Math.max(0, reading.responses - previous.responses);
    this.ring.push({
      at: reading.at,
      checkouts,
      checkoutsPerS: checkouts / seconds,
      salesPerS: Math.max(0, reading.sales - previous.sales) / seconds,
      p99Ms: p99 === null ? null : p99 * 1000,
    });
    if (this.ring.length > this.samplesMax) this.ring.splice(0, this.ring.length - this.samplesMax);
  }

  private async read(): Promise<Reading> {
    const [responses, buckets] = await Promise.all([metricSamples(this.registry, responsesMetric), histogramBuckets(this.registry, latencyMetric)]);
    let total = 0;
    let sales = 0;
    for (const s of responses ?? []) {
      total += s.value;
      if (s.labels['status'] === '201' && s.labels['replayed'] === 'false') sales += s.value;
    }
    return { at: this.clock.now(), responses: total, sales, buckets: buckets ?? new Map() };
  }
}
