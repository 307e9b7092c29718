import { actorLimits } from '../config/limits.js';
import type { Logger } from 'pino';
import { asCheckoutId, asSku, holdIdFor } from '../domain/ids.js';
import type { PaymentProvider } from '../payments/provider.js';
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


/**
 * Resolves orders whose payment outcome was unknown at checkout (202 pending). It re-sends the authorization with
 * the same key, so the provider answers with what really happened, then either pins the holds and confirms the
 * order, or voids, fails the order and releases the holds. Holds of a pending order stay active until their TTL:
 * if they expired meanwhile, the authorization is voided — an order is never confirmed on stock it no longer holds.
 */
export class PendingSweeper {
  constructor(
    private readonly store: PendingSource,
    private readonly orders: OrderService,
    private readonly payments: PaymentProvider,
    private readonly inventory: (sku: string) => InventoryHandle,
    private readonly promos: PromoUses,
    private readonly log: Logger,
  ) {}

  /** One pass; returns how many pending orders reached a final status. */
  async sweep(): Promise<number> {
    let resolved = 0;
    for (const o of await this.store.listPending(actorLimits.pendingPerSweepMax)) {
      const done = await this.orders.serialized(o.orderId, () => this.resolve(o)).catch((err: unknown) => {
        this.log.error({ err, orderId: o.orderId }, 'resolving a pending order failed');
        return false;
      });
      if (done) resolved++;
    }
    return resolved;
  }

  private async resolve(o: PendingOrder): Promise<boolean> {
    const outcome = await authorizeWithRetries(this.payments, {
      checkoutId: o.checkoutId,
      orderId: o.orderId,
      amountMinor: o.total,
      currency: o.currency,
      paymentMethod: o.paymentMethod,
    });
    if (outcome === 'unknown') return false;
    const holds = o.items.map((i) => ({ sku: i.sku, holdId: holdIdFor(asCheckoutId(o.checkoutId), asSku(i.sku)) }));
    if (outcome.kind === 'authorized') {
      const pins = await Promise.all(holds.map((h) => this.inventory(h.sku).ask({ t: 'pin', holdId: h.holdId })));
      if (pins.every((p) => p.ok)) {
        const r = await this.store.transition(o.orderId, ['pending'], 'confirmed', 'authorized', { eventType: 'order.confirmed', payload: { orderId: o.orderId } }, { authId: outcome.authId });
        if (r === 'ok') await Promise.all(holds.map((h) => this.inventory(h.sku).ask({ t: 'commit', holdId: h.holdId })));
        return true;
      }
      await this.payments.void({ idempotencyKey: `${o.checkoutId}:void`, authId: outcome.authId }).catch(() => ({ ok: false }));
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
