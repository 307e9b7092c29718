import type { Logger } from 'pino';
import { systemClock, type Clock } from '../clock.js';
import { actorLimits, limits } from '../config/limits.js';
import { asCheckoutId, asSku, holdIdFor } from '../domain/ids.js';
import { withTimeout, type PaymentProvider } from '../payments/provider.js';
import { authorizeWithRetries } from './checkout-saga.js';
import type { InventoryHandle } from './inventory-actor.js';
import type { OrderService, OrderSource, StoredOrder } from './order-service.js';
import type { PromoUses } from './promo-ledger.js';

export interface PendingOrder extends StoredOrder {
  paymentMethod: string;
}

export interface PendingSource extends OrderSource {
  listPending(limit: number): Promise<PendingOrder[]>;
}

/** One holder of the sweep at a time across the cluster (src/persistence/job-lease.ts). */
export interface SweepLease {
  take(): Promise<boolean>;
  release(): Promise<void>;
}

/**
 * Resolves orders whose payment outcome was unknown at checkout (202 pending). It re-sends the authorization with
 * the same key, so the provider answers with what really happened, then either pins the holds and confirms the
 * order, or voids, fails the order and releases the holds. Holds of a pending order stay active until their TTL:
 * if they expired meanwhile, the authorization is voided — an order is never confirmed on stock it no longer holds.
 *
 * One sweep at a time: in this process (a sweep still running when the timer fires again is joined, not doubled),
 * and across the cluster (the sweep's lease, renewed before each order). Every order is read again inside its
 * per-order queue before anything is done to it, and nothing is voided or failed unless it is still pending, so no
 * copy read by an earlier sweep can void a confirmed order.
 */
export class PendingSweeper {
  private running: Promise<number> | null = null;

  constructor(
    private readonly store: PendingSource,
    private readonly orders: OrderService,
    private readonly payments: PaymentProvider,
    private readonly inventory: (sku: string) => InventoryHandle,
    private readonly promos: PromoUses,
    private readonly log: Logger,
    private readonly lease: SweepLease | null = null,
    private readonly clock: Clock = systemClock,
  ) {}

  /** One pass (joined if one is running); resolves with how many pending orders reached a final status. */
  sweep(): Promise<number> {
    this.running ??= this.sweepOnce().finally(() => (this.running = null));
    return this.running;
  }

  private async sweepOnce(): Promise<number> {
    if (this.lease && !(await this.lease.take())) return 0;
    let resolved = 0;
    try {
      for (const listed of await this.store.listPending(actorLimits.pendingPerSweepMax)) {
        // The lease is renewed before each order; a sweep that lost it (paused past its TTL) stops at once.
        if (this.lease && !(await this.lease.take())) break;
        const done = await this.orders.serialized(listed.orderId, () => this.resolveFresh(listed)).catch((err: unknown) => {
          this.log.error({ err, orderId: listed.orderId }, 'resolving a pending order failed');
          return false;
        });
        if (done) resolved++;
      }
    } finally {
      await this.lease?.release().catch((err: unknown) => this.log.warn({ err }, 'releasing the sweep lease failed'));
    }
    return resolved;
  }

  /** Reads the order again inside its queue: only a still-pending order is resolved. */
  private async resolveFresh(listed: PendingOrder): Promise<boolean> {
    const fresh = await this.store.get(listed.orderId);
    if (fresh === null || fresh.status !== 'pending') return false;
    return this.resolve({ ...fresh, paymentMethod: listed.paymentMethod });
  }

  private async resolve(o: PendingOrder): Promise<boolean> {
    const target = { checkoutId: o.checkoutId, orderId: o.orderId, amountMinor: o.total, currency: o.currency, paymentMethod: o.paymentMethod };
    const outcome = await authorizeWithRetries(this.payments, target, this.clock);
    // Unknown, or an error that says nothing happened this time: the first attempt may still have authorized, so
    // the order stays pending and is asked about again at the next sweep.
    if (outcome === 'unknown' || (outcome.kind === 'error' && outcome.retryable)) return false;
    const holds = o.items.map((i) => ({ sku: i.sku, holdId: holdIdFor(asCheckoutId(o.checkoutId), asSku(i.sku)) }));
    if (outcome.kind === 'authorized') {
      const pins = await Promise.all(holds.map((h) => this.inventory(h.sku).ask({ t: 'pin', holdId: h.holdId })));
      if (pins.every((p) => p.ok)) {
        const r = await this.store.transition(o.orderId, ['pending'], 'confirmed', 'authorized', { eventType: 'order.confirmed', payload: { orderId: o.orderId } }, { authId: outcome.authId });
        if (r === 'ok') await Promise.all(holds.map((h) => this.inventory(h.sku).ask({ t: 'commit', holdId: h.holdId })));
        return true;
      }
      // A pin refused for a reason other than a hold that is gone is not a verdict: ask again next sweep.
      if (pins.some((p) => !p.ok && p.code !== 'HOLD_EXPIRED')) return false;
      const voided = await withTimeout(this.payments.void({ idempotencyKey: `${o.orderId}:void`, authId: outcome.authId }), limits.paymentCallTimeoutMs, this.clock).catch(
        (err: unknown) => ({ ok: false as const, message: String(err) }),
      );
      // The order is failed only once its authorization is voided: otherwise the next sweep tries again.
      if (!voided.ok) {
        this.log.error({ orderId: o.orderId, authId: outcome.authId, err: voided.message }, 'void of a pending order failed; retried at the next sweep');
        return false;
      }
    }
    const paymentStatus = outcome.kind === 'authorized' ? 'voided' : 'failed';
    const r = await this.store.transition(o.orderId, ['pending'], 'failed', paymentStatus, { eventType: 'order.failed', payload: { orderId: o.orderId } }, { releasePromoUsage: true });
    if (r === 'ok') {
      await Promise.all(holds.map((h) => this.inventory(h.sku).ask({ t: 'release', holdId: h.holdId, reason: 'payment_failed' })));
      if (o.promoCode) this.promos.release(o.promoCode, o.customerKey);
    }
    return true;
  }
}
