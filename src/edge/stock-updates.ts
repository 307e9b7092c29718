import type { Clock, TimerHandle } from '../clock.js';
import { wsLimits } from '../config/limits.js';

/**
 * `stock:<sku>` updates, throttled: the SKU's owner reports every committed change of its available count, and
 * subscribers hear at most one update per SKU per `wsLimits.stockUpdateIntervalMs` (10 a second). The first change
 * after a quiet interval goes out at once; changes within the interval are folded into one update with the latest
 * count at its end, so the last count always arrives. An unchanged count is not sent again.
 */
export class StockUpdates {
  /** SKUs published within the last interval: when, what, and the count waiting for the interval's end. */
  private readonly recent = new Map<string, { atMs: number; available: number; waiting: number | null }>();
  private timer: TimerHandle | null = null;
  private timerAtMs = Infinity;
  private stopped = false;

  constructor(
    private readonly publish: (sku: string, available: number) => void,
    private readonly clock: Clock,
    private readonly intervalMs: number = wsLimits.stockUpdateIntervalMs,
  ) {}

  /** A committed change of the SKU's available count, on the node that owns it. */
  changed(sku: string, available: number): void {
    if (this.stopped) return;
    const now = this.clock.now();
    const entry = this.recent.get(sku);
    if (entry === undefined) {
      if (this.recent.size >= wsLimits.stockSkusTrackedMax) return;
      this.recent.set(sku, { atMs: now, available, waiting: null });
      this.publish(sku, available);
      this.arm(now + this.intervalMs);
      return;
    }
    entry.waiting = available === entry.available ? null : available;
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
    this.recent.clear();
  }

  /** Tracked SKUs (for tests and the bound). */
  tracked(): number {
    return this.recent.size;
  }

  private arm(atMs: number): void {
    if (atMs >= this.timerAtMs) return;
    this.timer?.cancel();
    this.timerAtMs = atMs;
    this.timer = this.clock.setTimer(atMs, () => this.tick());
  }

  /** Every SKU whose interval ended: its waiting count goes out (and a new interval starts), or it is forgotten. */
  private tick(): void {
    this.timer = null;
    this.timerAtMs = Infinity;
    if (this.stopped) return;
    const now = this.clock.now();
    let next = Infinity;
    for (const [sku, entry] of this.recent) {
      const endMs = entry.atMs + this.intervalMs;
      if (endMs > now) {
        next = Math.min(next, endMs);
        continue;
      }
      if (entry.waiting === null) {
        this.recent.delete(sku);
        continue;
      }
      entry.atMs = now;
      entry.available = entry.waiting;
      entry.waiting = null;
      this.publish(sku, entry.available);
      next = Math.min(next, now + this.intervalMs);
    }
    if (next !== Infinity) this.arm(next);
  }
}
