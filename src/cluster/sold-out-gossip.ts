import type { TimerHandle } from '../clock.js';
import { clusterLimits } from '../config/limits.js';
import type { InventoryView } from '../domain/inventory.js';
import type { SkuId } from '../domain/ids.js';
import type { ClusterLink, PeerMessage } from './cluster-link.js';
import { soldOutMessage } from './peer-schemas.js';

/** A node's complete list of its SKUs that are sold out with no write in flight. */
interface SoldOutMessage extends PeerMessage {
  t: 'soldout';
  skus: string[];
}

/**
 * Sold-out gossip: every `clusterLimits.soldOutGossipMs` each node tells its peers which of its SKUs are sold out
 * with no write in flight, so any node answers a checkout for such a SKU "sold out" from memory, without a hop to
 * the SKU's owner and without writing anything. A restock or an expired hold is seen by peers within one interval
 * (until then they may still say sold out; they never sell what the owner has not reserved); a mark not heard again
 * within `soldOutMarkTtlMs` is forgotten (its owner died or stopped telling).
 */
export class SoldOutGossip {
  /** SKUs owned elsewhere that their owner last said were sold out. */
  private readonly marks = new Map<string, { from: string; untilMs: number; view: InventoryView }>();
  private readonly listedBy = new Map<string, Set<string>>();
  private timer: TimerHandle | null = null;
  private sending = false;
  private lastEmpty = true;
  private stopped = false;

  /** `soldOut(max)`: this node's SKUs that are sold out with no write in flight (at most max). */
  constructor(private readonly link: ClusterLink, private readonly soldOut: (max: number) => string[]) {
    link.onPeerMessage<SoldOutMessage>('soldout', soldOutMessage, async (msg, from) => {
      this.heard(from, msg.skus);
      return { ok: true };
    });
  }

  start(): void {
    const tick = () => {
      if (this.stopped) return;
      this.send();
      this.timer = this.link.clock.setTimer(this.link.clock.now() + clusterLimits.soldOutGossipMs, tick);
    };
    this.timer = this.link.clock.setTimer(this.link.clock.now() + clusterLimits.soldOutGossipMs, tick);
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
  }

  /** What this node knows of a SKU served elsewhere: sold out (a fresh mark), or null (unknown: ask the owner). */
  viewOf(sku: string): InventoryView | null {
    const mark = this.marks.get(sku);
    return mark === undefined || mark.untilMs < this.link.clock.now() ? null : mark.view;
  }

  /** Sends the complete list to every peer; skipped while the last round is in flight, and while it stays empty. */
  private send(): void {
    if (this.sending) return;
    const skus = this.soldOut(clusterLimits.soldOutSkusPerMessageMax);
    if (skus.length === 0 && this.lastEmpty) return;
    this.lastEmpty = skus.length === 0;
    this.sending = true;
    const msg: SoldOutMessage = { t: 'soldout', skus };
    void Promise.allSettled(this.link.peerIds().map((peer) => this.link.request(peer, msg, clusterLimits.broadcastTimeoutMs))).finally(() => (this.sending = false));
  }

  /** A peer's complete list: its marks it no longer lists are removed at once. */
  private heard(from: string, skus: string[]): void {
    const untilMs = this.link.clock.now() + clusterLimits.soldOutMarkTtlMs;
    const listed = new Set(skus);
    for (const sku of this.listedBy.get(from) ?? []) {
      if (!listed.has(sku) && this.marks.get(sku)?.from === from) this.marks.delete(sku);
    }
    this.listedBy.set(from, listed);
    for (const sku of skus) {
      const view = this.marks.get(sku)?.view ?? { sku: sku as SkuId, onHand: 0, available: 0, held: 0, sold: 0, pendingWrites: 0 };
      // Re-inserted so the map's order is the order marks were last heard: the oldest go first past the bound.
      this.marks.delete(sku);
      this.marks.set(sku, { from, untilMs, view });
    }
    while (this.marks.size > clusterLimits.soldOutMarksMax) this.marks.delete(this.marks.keys().next().value!);
  }
}
