import { metricLimits } from '../config/limits.js';

/** One hot SKU: its checkout attempts per second over the window, and its live available stock (null: not served here). */
export interface HotSku {
  sku: string;
  available: number | null;
  checkoutsPerSecond: number;
}

export interface HotSkuOptions {
  /** Milliseconds now (default Date.now); tests pass their own. */
  nowMs?: () => number;
  /** The SKU's available units on this node, or null when this node does not serve it. */
  availableOf?: (sku: string) => number | null;
  trackedMax?: number;
  windowS?: number;
}

/** Per SKU: a ring of per-second counts, and the second each slot was last written. */
interface Entry {
  counts: Uint32Array;
  seconds: Float64Array;
}

/**
 * The SKUs with the most checkout attempts over the last `windowS` seconds on this node. Counting is one map lookup
 * and two array writes per line, on the checkout path; ranking happens when asked (a scrape). The map is bounded:
 * at `trackedMax` SKUs, SKUs without an attempt in the window are pruned (at most once a second); if none are, a
 * new SKU is not counted (`untracked` says how many attempts went so) until some go idle.
 */
export class HotSkuTracker {
  private readonly entries = new Map<string, Entry>();
  private readonly nowMs: () => number;
  private readonly trackedMax: number;
  private readonly windowS: number;
  private lastPruneS = -Infinity;
  private availableOf: (sku: string) => number | null;
  /** Attempts not counted because the tracker was full. */
  untracked = 0;

  constructor(o: HotSkuOptions = {}) {
    this.nowMs = o.nowMs ?? Date.now;
    this.availableOf = o.availableOf ?? (() => null);
    this.trackedMax = o.trackedMax ?? metricLimits.hotSkusTrackedMax;
    this.windowS = o.windowS ?? metricLimits.hotSkuWindowS;
  }

  /** Where the available stock comes from (the node's inventory, wired once it exists). */
  setAvailableSource(fn: (sku: string) => number | null): void {
    this.availableOf = fn;
  }

  /** Counts `n` checkout attempts of `sku` now. */
  count(sku: string, n = 1): void {
    const second = Math.floor(this.nowMs() / 1000);
    let e = this.entries.get(sku);
    if (e === undefined) {
      if (this.entries.size >= this.trackedMax && !this.pruneIdle(second)) {
        this.untracked += n;
        return;
      }
      e = { counts: new Uint32Array(this.windowS), seconds: new Float64Array(this.windowS).fill(-Infinity) };
      this.entries.set(sku, e);
    }
    const slot = second % this.windowS;
    if (e.seconds[slot] !== second) {
      e.seconds[slot] = second;
      e.counts[slot] = 0;
    }
    e.counts[slot]! += n;
  }

  /** SKUs being counted now (at most trackedMax). */
  get size(): number {
    return this.entries.size;
  }

  /** The top `n` SKUs by attempts in the window (none without an attempt), busiest first. */
  top(n: number = metricLimits.hotSkusTopN): HotSku[] {
    const second = Math.floor(this.nowMs() / 1000);
    const ranked: { sku: string; attempts: number }[] = [];
    for (const [sku, e] of this.entries) {
      const attempts = this.attemptsIn(e, second);
      if (attempts > 0) ranked.push({ sku, attempts });
    }
    ranked.sort((a, b) => b.attempts - a.attempts || (a.sku < b.sku ? -1 : 1));
    return ranked.slice(0, n).map(({ sku, attempts }) => ({ sku, available: this.availableOf(sku), checkoutsPerSecond: attempts / this.windowS }));
  }

  private attemptsIn(e: Entry, second: number): number {
    let total = 0;
    for (let i = 0; i < this.windowS; i++) if (e.seconds[i]! > second - this.windowS) total += e.counts[i]!;
    return total;
  }

  /** Drops SKUs without an attempt in the window, at most once a second; true when there is room now. */
  private pruneIdle(second: number): boolean {
    if (second === this.lastPruneS) return false;
    this.lastPruneS = second;
    for (const [sku, e] of this.entries) if (this.attemptsIn(e, second) === 0) this.entries.delete(sku);
    return this.entries.size < this.trackedMax;
  }
}
