import client from 'prom-client';
import type { BoundedLabel } from './bounded-label.js';
import type { HotSkuTracker } from './hot-skus.js';

/** What this node reads at scrape time from its own memory (wired by the node once its parts exist). */
export interface RuntimeSources {
  /** Open holds in this node's inventory actors: active (expire by TTL) and pinned (a payment in flight). */
  holds(): { active: number; pinned: number };
  partitionsServed(): number;
  /** Units by which the SKUs this node serves are oversold now. */
  oversold(): number;
  /** The deepest mailbox per actor kind. */
  mailboxDepths(): Iterable<readonly [string, number]>;
  /** Buyers waiting in each drop queue this node holds. */
  dropQueues(): Iterable<{ sku: string; waiting: number }>;
}

const idle: RuntimeSources = { holds: () => ({ active: 0, pinned: 0 }), partitionsServed: () => 0, oversold: () => 0, mailboxDepths: () => [], dropQueues: () => [] };

/** A gauge whose value is computed at scrape. */
function scrapeGauge(registry: client.Registry, name: string, help: string, read: () => number): void {
  new client.Gauge({
    name,
    help,
    registers: [registry],
    collect() {
      this.set(read());
    },
  });
}

/** A labelled gauge whose series are replaced at each scrape (no series outlives its source). */
function scrapeSeries(registry: client.Registry, name: string, help: string, label: string, read: () => Iterable<readonly [string, number]>): void {
  new client.Gauge({
    name,
    help,
    labelNames: [label],
    registers: [registry],
    collect() {
      this.reset();
      for (const [value, n] of read()) this.set({ [label]: value }, n);
    },
  });
}

/**
 * The gauges of this node's memory: holds, partitions, mailboxes, drop queues and the hot SKUs. Each is computed when
 * scraped, from `sources` (idle until the node wires them), so the request path pays nothing for them.
 */
export function createRuntimeGauges(registry: client.Registry, hot: HotSkuTracker, dropSku: BoundedLabel) {
  let sources: RuntimeSources = idle;
  scrapeGauge(registry, 'boxoffice_holds_active', "Holds open in this node's inventory actors and not pinned (they expire by TTL).", () => sources.holds().active);
  scrapeGauge(registry, 'boxoffice_holds_pinned', "Holds pinned while their checkout's payment is in flight (they never expire by themselves).", () => sources.holds().pinned);
  scrapeGauge(registry, 'boxoffice_oversold_units', 'Units by which the SKUs this node serves are oversold now (sold + held beyond on hand, found at load or live). Must stay 0.', () => sources.oversold());
  scrapeGauge(registry, 'boxoffice_partitions_served', 'Partitions this node serves now.', () => sources.partitionsServed());
  scrapeSeries(registry, 'boxoffice_mailbox_depth', 'The deepest mailbox (messages queued) per actor kind on this node.', 'kind', () => sources.mailboxDepths());
  scrapeSeries(registry, 'boxoffice_drop_queue_length', 'Buyers waiting in each drop queue held by this node (sku bounded, then other).', 'sku', () => {
    const bySku = new Map<string, number>();
    for (const q of sources.dropQueues()) {
      const sku = dropSku.of(q.sku);
      bySku.set(sku, (bySku.get(sku) ?? 0) + q.waiting);
    }
    return bySku;
  });
  scrapeSeries(registry, 'boxoffice_hot_sku_checkouts_per_second', 'Checkout attempts per second over the last 60 s of the top SKUs on this node (top N only).', 'sku', () =>
    hot.top().map((h) => [h.sku, h.checkoutsPerSecond] as const),
  );
  scrapeSeries(registry, 'boxoffice_hot_sku_available', 'Available units of the top SKUs (those served by this node).', 'sku', () =>
    hot.top().flatMap((h) => (h.available === null ? [] : [[h.sku, h.available] as const])),
  );
  return {
    setSources(s: Partial<RuntimeSources>): void {
      sources = { ...sources, ...s };
    },
  };
}
