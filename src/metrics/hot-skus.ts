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
 * and two array writes per line, on the checkout path (callers count only SKUs the catalog knows, so label values are
 * product SKUs); ranking happens when asked (a scrape), once per second and count. The map is a top-k of `trackedMax`
 * SKUs: a new SKU evicts a cold one (see evictCold), so a SKU turning hot pushes out the long tail instead of
 * waiting for it to go idle. `evicted` counts the SKUs pushed out.
 */
export class HotSkuTracker {
  private readonly entries = new Map<string, Entry>();
  private readonly nowMs: () => number;
  private readonly trackedMax: number;
  private readonly windowS: number;
  private availableOf: (sku: string) => number | null;
  /** The SKUs to evict next, coldest first: the colder half of a ranking, with their attempts then. */
  private cold: { sku: string; attempts: number }[] = [];
  private coldNext = 0;
  /** top() of the last ranking, valid while no attempt was counted and the second has not changed. */
  private ranked: { second: number; version: number; list: { sku: string; attempts: number }[] } | null = null;
  private version = 0;
  /** SKUs evicted to make room for a new one. */
  evicted = 0;

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
    this.version++;
    let e = this.entries.get(sku);
    if (e === undefined) {
      if (this.entries.size >= this.trackedMax) this.evictCold(second);
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
    return this.rank(second)
      .filter((r) => r.attempts > 0)
      .slice(-n)
      .reverse()
      .map(({ sku, attempts }) => ({ sku, available: this.availableOf(sku), checkoutsPerSecond: attempts / this.windowS }));
  }

  /** Every tracked SKU by attempts in the window, coldest first (ties: later SKU name first, so top() reads A before B). */
  private rank(second: number): { sku: string; attempts: number }[] {
    const r = this.ranked;
    if (r !== null && r.second === second && r.version === this.version) return r.list;
    const list: { sku: string; attempts: number }[] = [];
    for (const [sku, e] of this.entries) list.push({ sku, attempts: this.attemptsIn(e, second) });
    list.sort((a, b) => a.attempts - b.attempts || (a.sku < b.sku ? 1 : -1));
    this.ranked = { second, version: this.version, list };
    return list;
  }

  private attemptsIn(e: Entry, second: number): number {
    let total = 0;
    for (let i = 0; i < this.windowS; i++) if (e.seconds[i]! > second - this.windowS) total += e.counts[i]!;
    return total;
  }

  /**
   * Evicts the coldest SKU: from the colder half of a ranking, taken again when that half is used up (one ranking per
   * trackedMax / 2 new SKUs); a candidate counted since its ranking is skipped (it may have turned hot).
   */
  private evictCold(second: number): void {
    for (;;) {
      if (this.coldNext >= this.cold.length) {
        const list = this.rank(second);
        this.cold = list.slice(0, Math.max(1, Math.ceil(list.length / 2)));
        this.coldNext = 0;
      }
      const c = this.cold[this.coldNext++]!;
      const e = this.entries.get(c.sku);
      if (e === undefined || this.attemptsIn(e, second) > c.attempts) continue;
      this.entries.delete(c.sku);
      this.evicted++;
      return;
    }
  }
}
