import { benchLimits } from './bench-limits.js';

/**
 * A latency histogram in microseconds with log-linear buckets (the HDR idea, small enough to read): values below
 * 128 µs are exact, above that every power of two is split into 64 buckets, so a reported percentile is within
 * 1/64 (1.6 %) of the true value. Histograms merge by adding counts, which is how per-second histograms become a
 * whole-run one and how the load worker ships them to the parent (sparse pairs).
 *
 * Percentiles use the nearest-rank definition: the smallest recorded value v such that at least q of all samples
 * are ≤ v (reported as the upper edge of v's bucket, never above the largest value recorded).
 */
const SUB_BUCKET_BITS = 6;
const SUB_BUCKETS = 1 << SUB_BUCKET_BITS; // 64 per octave
const EXACT_LIMIT = SUB_BUCKETS * 2; // 128: values below are their own bucket

function bucketIndex(micros: number): number {
  if (micros < EXACT_LIMIT) return micros;
  const exponent = 31 - Math.clz32(micros); // floor(log2), ≥ 7
  const shift = exponent - SUB_BUCKET_BITS;
  const sub = micros >>> shift; // 64 … 127
  return EXACT_LIMIT + (exponent - (SUB_BUCKET_BITS + 1)) * SUB_BUCKETS + (sub - SUB_BUCKETS);
}

/** The largest value that falls in bucket `index` (its upper edge). */
function bucketUpperMicros(index: number): number {
  if (index < EXACT_LIMIT) return index;
  const offset = index - EXACT_LIMIT;
  const exponent = Math.floor(offset / SUB_BUCKETS) + SUB_BUCKET_BITS + 1;
  const sub = (offset % SUB_BUCKETS) + SUB_BUCKETS;
  const shift = exponent - SUB_BUCKET_BITS;
  return (sub + 1) * 2 ** shift - 1;
}

const BUCKET_COUNT = bucketIndex(benchLimits.latencyMicrosMax) + 1;

export interface LatencySummary {
  count: number;
  meanMs: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
}

/** Sparse wire form: [bucketIndex, count] pairs plus the exact extremes and sum. */
export interface HistogramWire {
  buckets: Array<[number, number]>;
  count: number;
  sumMicros: number;
  minMicros: number;
  maxMicros: number;
}

export class LatencyHistogram {
  private counts = new Float64Array(BUCKET_COUNT);
  count = 0;
  sumMicros = 0;
  minMicros = Number.POSITIVE_INFINITY;
  maxMicros = 0;

  /** Records one latency given in milliseconds (autocannon's unit); negative or NaN input is a harness bug. */
  recordMs(ms: number): void {
    if (!(ms >= 0)) throw new Error(`latency must be a non-negative number of ms, got ${ms}`);
    const micros = Math.min(Math.round(ms * 1000), benchLimits.latencyMicrosMax);
    this.counts[bucketIndex(micros)]! += 1;
    this.count += 1;
    this.sumMicros += micros;
    if (micros < this.minMicros) this.minMicros = micros;
    if (micros > this.maxMicros) this.maxMicros = micros;
  }

  /** The q-quantile (0 < q ≤ 1) in microseconds; 0 for an empty histogram. */
  percentileMicros(q: number): number {
    if (!(q > 0 && q <= 1)) throw new Error(`quantile must be in (0, 1], got ${q}`);
    if (this.count === 0) return 0;
    const rank = Math.ceil(q * this.count);
    let seen = 0;
    for (let i = 0; i < BUCKET_COUNT; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.min(bucketUpperMicros(i), this.maxMicros);
    }
    return this.maxMicros;
  }

  merge(other: LatencyHistogram | HistogramWire): void {
    const wire = other instanceof LatencyHistogram ? other.toWire() : other;
    for (const [index, n] of wire.buckets) this.counts[index]! += n;
    this.count += wire.count;
    this.sumMicros += wire.sumMicros;
    if (wire.count > 0) {
      this.minMicros = Math.min(this.minMicros, wire.minMicros);
      this.maxMicros = Math.max(this.maxMicros, wire.maxMicros);
    }
  }

  summary(): LatencySummary {
    const ms = (micros: number) => Math.round(micros) / 1000;
    return {
      count: this.count,
      meanMs: this.count === 0 ? 0 : ms(this.sumMicros / this.count),
      p50Ms: ms(this.percentileMicros(0.5)),
      p90Ms: ms(this.percentileMicros(0.9)),
      p99Ms: ms(this.percentileMicros(0.99)),
      p999Ms: ms(this.percentileMicros(0.999)),
      maxMs: ms(this.maxMicros),
    };
  }

  toWire(): HistogramWire {
    const buckets: Array<[number, number]> = [];
    for (let i = 0; i < BUCKET_COUNT; i++) if (this.counts[i]! > 0) buckets.push([i, this.counts[i]!]);
    return { buckets, count: this.count, sumMicros: this.sumMicros, minMicros: this.minMicros, maxMicros: this.maxMicros };
  }

  static fromWire(wire: HistogramWire): LatencyHistogram {
    const h = new LatencyHistogram();
    h.merge(wire);
    return h;
  }
}
