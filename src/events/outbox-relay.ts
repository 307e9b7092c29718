import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import { eventLimits } from '../config/limits.js';
import type { OutboxRelayStore, OutboxRow, RelayFence } from '../persistence/outbox-relay-store.js';
import type { EventFeed } from './event-feed.js';
import type { EventMetrics } from './event-metrics.js';
import type { EventSink } from './event-sinks.js';
import { PassLoop } from './pass-loop.js';

export interface OutboxRelayDeps {
  store: OutboxRelayStore;
  nodeId: string;
  /** The partitions this node serves now, with the epoch it serves each at. */
  owned: () => RelayFence[];
  /** The partition count (rows written before migration 6 get their partition from it). */
  partitions: number;
  sink: EventSink;
  feed: EventFeed;
  /** Told when a pass queued webhook deliveries (so they go out without waiting for their poll). */
  onMarked?: () => void;
  metrics: EventMetrics;
  clock: Clock;
  log: Logger;
  pollMs?: number;
  batchMax?: number;
}

/**
 * The transactional outbox's relay (DESIGN.md, "Events out"). Each node relays the partitions it serves, so across
 * the cluster exactly one node relays a partition at a time, the one that owns it. A pass reads the oldest
 * undelivered rows of those partitions (position order, which is sequence order within an order), sends them to the
 * sink in that order, then marks the delivered prefix in one statement that also queues their webhook deliveries and
 * is fenced on the partitions' epochs; then the feed hears them.
 *
 * At least once: a crash between the sink and the mark, or a move (the old owner's mark is fenced), sends the rows
 * again, in the same order; consumers deduplicate by `id`. In order per order: a row is marked only after every
 * earlier row of its order was, and a failed send stops the pass at the failure. Never blocks a checkout: the relay
 * only reads rows committed by checkouts and runs on its own timer; a sink that is down delays events, nothing else.
 */
export class OutboxRelay {
  private readonly loop: PassLoop;
  /** The oldest undelivered row this node knows of (null: caught up), for the lag metric. */
  private oldestUndeliveredMs: number | null = null;
  private placedLegacy = false;

  constructor(private readonly deps: OutboxRelayDeps) {
    this.loop = new PassLoop('outbox relay', () => this.pass(), (n) => Math.min(eventLimits.relayRetryDelayMsMin * 2 ** (n - 1), eventLimits.relayRetryDelayMsMax), deps.log);
    deps.metrics.setLagSource(() => this.lagSeconds());
  }

  start(): void {
    this.loop.start();
  }

  /** Look now (rows were just written). */
  nudge(): void {
    this.loop.nudge();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  /** Age of the oldest undelivered event of the partitions relayed here, in seconds (0 when caught up). */
  lagSeconds(): number {
    return this.oldestUndeliveredMs === null ? 0 : Math.max(0, (this.deps.clock.now() - this.oldestUndeliveredMs) / 1000);
  }

  /** One pass; resolves with the delay before the next (none while there is more to deliver). */
  async pass(): Promise<number> {
    const { store, sink, feed, metrics } = this.deps;
    const pollMs = this.deps.pollMs ?? eventLimits.relayPollMs;
    const batchMax = this.deps.batchMax ?? eventLimits.relayBatchMax;
    // Rows from before migration 6 are placed before anything is relayed: relaying an order's new event while its
    // older ones wait unplaced would put it first.
    if (!this.placedLegacy) {
      if ((await store.placeUnpartitioned(this.deps.partitions, batchMax)) >= batchMax) return 0;
      this.placedLegacy = true;
    }
    const fences = this.deps.owned();
    const rows = await store.undelivered(fences.map((f) => f.partition), batchMax);
    this.oldestUndeliveredMs = oldestMs(rows);
    if (rows.length === 0) return pollMs;
    const sent = await sink.send(rows.map((r) => r.event));
    const sentRows = rows.slice(0, sent);
    // Only the fences of the partitions in this batch: the mark locks their ownership rows, not all 1024.
    const inBatch = new Set(sentRows.map((r) => r.partition));
    const marked = new Set(await store.markDelivered(this.deps.nodeId, fences.filter((f) => inBatch.has(f.partition)), sentRows.map((r) => r.position), this.deps.clock.now()));
    const delivered = rows.filter((r) => marked.has(r.position));
    this.oldestUndeliveredMs = oldestMs(rows.filter((r) => !marked.has(r.position)));
    if (delivered.length > 0) {
      metrics.relayed.inc({ sink: sink.name }, delivered.length);
      for (const r of delivered) feed.emit(r.event);
      this.deps.onMarked?.();
    }
    // A partial send (the sink failed part way) or a fenced mark: back off; a full batch: go on at once.
    if (sent < rows.length) throw new Error(`the ${sink.name} sink took ${sent} of ${rows.length} events`);
    // Rows sent but not marked belong to a partition this node lost (fenced): its new owner delivers them.
    return rows.length === batchMax && marked.size === sent ? 0 : pollMs;
  }
}

function oldestMs(rows: readonly OutboxRow[]): number | null {
  let min: number | null = null;
  for (const r of rows) if (min === null || r.createdAt.getTime() < min) min = r.createdAt.getTime();
  return min;
}
