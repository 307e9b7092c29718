import type { Logger } from 'pino';
import { systemClock, type Clock } from '../clock.js';
import { limits } from '../config/limits.js';
import type { Hold } from '../domain/inventory.js';
import { withTimeout, type PaymentProvider } from '../payments/provider.js';
import type { StoredOrder } from '../persistence/order-store.js';
import type { InventoryHandle } from './inventory-actor.js';

export interface PinnedHoldResolverDeps {
  /** This node's pinned holds past their deadline, with their SKU. */
  pinnedBefore: (beforeMs: number) => (Hold & { sku: string })[];
  inventory: (sku: string) => InventoryHandle;
  /** Whether the checkout of a key is still running, asked of the node serving its partition (null: cannot tell). */
  checkoutRunning: (key: string) => Promise<boolean | null>;
  /**
   * Whether the saga of a key is over as its journal says (its tombstone, or no record at all). A saga with journal
   * records and no tombstone is resumed by recovery (here or at its partition's next owner), so its holds are its own.
   */
  sagaFinished: (key: string) => Promise<boolean>;
  ordersOf: (checkoutIds: string[]) => Promise<StoredOrder[]>;
  payments: PaymentProvider;
  clock?: Clock;
  log: Logger;
}

export interface ResolveReport {
  committed: number;
  released: number;
  /** Still owned by a running saga, undecidable now (owner unreachable, provider down), or of a pending order. */
  left: number;
}

/**
 * DESIGN.md: "pinned holds are resolved against the orders table, never by the clock". A saga pins its holds right
 * before it writes its order and commits or releases them right after; a pinned hold never expires, so one whose
 * saga is gone would hold its stock for ever. This resolver, run at start and periodically on each node for its own
 * SKUs, looks at pinned holds whose deadline passed and whose saga no longer runs:
 * - an order was stored for the checkout → the hold is committed (the order is the sale); a `failed` order's hold is
 *   released, a `pending` one is the sweeper's;
 * - no order → any authorization the checkout may hold is voided (looked up by its key), then the hold is released.
 * A hold whose saga still runs, or that cannot be decided now, is left for the next round.
 */
export class PinnedHoldResolver {
  private running: Promise<ResolveReport> | null = null;

  constructor(private readonly deps: PinnedHoldResolverDeps) {}

  /** One round (joined if one runs). */
  resolve(): Promise<ResolveReport> {
    this.running ??= this.resolveOnce().finally(() => (this.running = null));
    return this.running;
  }

  private async resolveOnce(): Promise<ResolveReport> {
    const report: ResolveReport = { committed: 0, released: 0, left: 0 };
    const holds = this.deps.pinnedBefore((this.deps.clock ?? systemClock).now());
    for (const h of holds) {
      const outcome = await this.resolveHold(h).catch((err: unknown) => {
        this.deps.log.error({ err, sku: h.sku, holdId: h.holdId }, 'resolving a pinned hold failed; tried again later');
        return 'left' as const;
      });
      report[outcome]++;
    }
    if (holds.length > 0) this.deps.log.warn({ ...report }, 'pinned holds past their deadline resolved');
    return report;
  }

  private async resolveHold(h: Hold & { sku: string }): Promise<keyof ResolveReport> {
    // A hold journaled without its key (an earlier version) cannot be matched to its saga: left, and logged.
    if (h.checkoutKey === undefined) return 'left';
    if ((await this.deps.checkoutRunning(h.checkoutKey)) !== false) return 'left';
    const [order] = await this.deps.ordersOf([h.checkoutId]);
    // A stored order decides, whatever the journal says (its saga would commit the same holds).
    if (order !== undefined) return this.settle(h, order);
    // Without one, only a saga over for good lets go: an unfinished one is resumed by recovery and may still order.
    if (!(await this.deps.sagaFinished(h.checkoutKey))) return 'left';
    if (!(await this.voidAny(h.checkoutId))) return 'left';
    // Read again after the void: an order written meanwhile is the sale, and its hold is committed, not released.
    const [late] = await this.deps.ordersOf([h.checkoutId]);
    if (late !== undefined) return this.settle(h, late);
    return (await this.ask(h, { t: 'release', holdId: h.holdId, reason: 'compensated' })) ? 'released' : 'left';
  }

  /** The hold of a checkout whose order is stored: committed (the order is the sale), released for a failed order. */
  private async settle(h: Hold & { sku: string }, order: StoredOrder): Promise<keyof ResolveReport> {
    if (order.status === 'pending') return 'left';
    if (order.status !== 'failed') return (await this.ask(h, { t: 'commit', holdId: h.holdId })) ? 'committed' : 'left';
    return (await this.ask(h, { t: 'release', holdId: h.holdId, reason: 'compensated' })) ? 'released' : 'left';
  }

  private async ask(h: Hold & { sku: string }, cmd: Parameters<InventoryHandle['ask']>[0]): Promise<boolean> {
    return (await this.deps.inventory(h.sku).ask(cmd)).ok;
  }

  /** Voids the authorization made with this checkout's key, if any; false when that cannot be done or told now. */
  private async voidAny(checkoutId: string): Promise<boolean> {
    const { payments } = this.deps;
    const clock = this.deps.clock ?? systemClock;
    // The provider's own view, by the checkout its authorizations were made for (a saga may have voided one already).
    const found = await withTimeout(payments.findByCheckout(checkoutId), limits.paymentCallTimeoutMs, clock);
    for (const a of found) {
      if (a.status !== 'authorized' && a.status !== 'requires_action') continue;
      // Keyed by the authorization: one key per PaymentIntent, whatever else voided the checkout's others.
      const voided = await withTimeout(payments.void({ idempotencyKey: `${a.authId}:void`, authId: a.authId }), limits.paymentCallTimeoutMs, clock);
      if (!voided.ok) return false;
    }
    return true;
  }
}
