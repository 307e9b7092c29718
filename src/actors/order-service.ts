import type { Logger } from 'pino';
import { fail, type Failure } from '../errors.js';
import { limits } from '../config/limits.js';
import { withTimeout, type PaymentProvider, type SettleResult } from '../payments/provider.js';
import type { InventoryReply } from '../domain/inventory.js';
import { asCheckoutId, asSku, holdIdFor, type HoldId } from '../domain/ids.js';
import { KeyedQueue } from './keyed-queue.js';
import type { PromoUses } from './promo-ledger.js';
import type { StoredOrder } from '../persistence/order-store.js';

/** An order as the store returns it. */
export type { StoredOrder } from '../persistence/order-store.js';

export interface OrderSource {
  get(orderId: string): Promise<StoredOrder | null>;
  transition(
    orderId: string,
    from: string[],
    to: string,
    paymentStatus: string,
    outboxEvent: { eventType: string; payload: unknown },
    opts?: { releasePromoUsage?: boolean; authId?: string | null },
  ): Promise<'ok' | 'conflict'>;
}

export interface OrderView {
  orderId: string;
  status: string;
  lines: { sku: string; qty: number; unitPriceMinor: number; discountMinor: number; taxMinor: number; totalMinor: number }[];
  totals: { currency: string; subtotalMinor: number; discountMinor: number; shippingMinor: number; taxMinor: number; totalMinor: number };
  payment: { status: string };
  createdAt: string;
}

export function orderView(o: StoredOrder): OrderView {
  return {
    orderId: o.orderId,
    status: o.status,
    lines: o.items.map((i) => ({ sku: i.sku, qty: i.qty, unitPriceMinor: i.price, discountMinor: i.discount, taxMinor: i.tax, totalMinor: i.lineTotal })),
    totals: { currency: o.currency, subtotalMinor: o.subtotal, discountMinor: o.discount, shippingMinor: o.shipping, taxMinor: o.tax, totalMinor: o.total },
    payment: { status: o.payment?.status ?? 'pending' },
    createdAt: o.createdAt.toISOString(),
  };
}

type OrderResult = { ok: true; order: OrderView } | Failure;

/**
 * Ship and cancel. One operation at a time per order (a promise chain per id), so a ship and a cancel cannot both
 * reach the payment provider. The provider call comes first (idempotent key `<checkoutId>:capture|void|refund`),
 * then the conditional status change, so a crash in between is repaired by repeating the request.
 */
export class OrderService {
  private readonly queue = new KeyedQueue();

  constructor(
    private readonly store: OrderSource,
    private readonly payments: PaymentProvider,
    private readonly inventory: (sku: string) => { ask(c: { t: 'return'; orderId: string; qty: number } | { t: 'commit'; holdId: HoldId }): Promise<InventoryReply> },
    private readonly promos: PromoUses,
    private readonly log: Logger,
  ) {}

  async get(orderId: string): Promise<OrderResult> {
    const o = await this.store.get(orderId);
    return o ? { ok: true, order: orderView(o) } : fail('ORDER_NOT_FOUND', { orderId });
  }

  ship(orderId: string): Promise<OrderResult> {
    return this.queue.run(orderId, async () => {
      const o = await this.store.get(orderId);
      if (!o) return fail('ORDER_NOT_FOUND', { orderId });
      if (o.status === 'shipped') return { ok: true, order: orderView(o) };
      if (o.status !== 'confirmed' || !o.payment?.authId) return fail('ORDER_STATE_CONFLICT', { orderId, status: o.status });
      const authId = o.payment.authId;
      const captured = await settle(() => this.payments.capture({ idempotencyKey: `${o.checkoutId}:capture`, authId, amountMinor: o.total }));
      if (!captured.ok) return fail('PAYMENT_PROVIDER_ERROR', { orderId, reason: captured.message });
      const r = await this.store.transition(orderId, ['confirmed'], 'shipped', 'captured', { eventType: 'order.shipped', payload: { orderId } });
      return this.reread(orderId, r);
    });
  }

  cancel(orderId: string): Promise<OrderResult> {
    return this.queue.run(orderId, async () => {
      const o = await this.store.get(orderId);
      if (!o) return fail('ORDER_NOT_FOUND', { orderId });
      if (o.status === 'cancelled') return { ok: true, order: orderView(o) };
      if ((o.status !== 'confirmed' && o.status !== 'shipped') || !o.payment?.authId) {
        return fail('ORDER_STATE_CONFLICT', { orderId, status: o.status });
      }
      const authId = o.payment.authId;
      const settled =
        o.status === 'confirmed'
          ? await settle(() => this.payments.void({ idempotencyKey: `${o.checkoutId}:void`, authId }))
          : await settle(() => this.payments.refund({ idempotencyKey: `${o.checkoutId}:refund`, authId, amountMinor: o.total }));
      if (!settled.ok) return fail('PAYMENT_PROVIDER_ERROR', { orderId, reason: settled.message });
      const paymentStatus = o.status === 'confirmed' ? 'voided' : 'refunded';
      const r = await this.store.transition(orderId, [o.status], 'cancelled', paymentStatus, { eventType: 'order.cancelled', payload: { orderId } }, { releasePromoUsage: true });
      if (r === 'ok') {
        await this.restock(o);
        if (o.promoCode) this.promos.release(o.promoCode, o.customerKey);
      }
      return this.reread(orderId, r);
    });
  }

  /**
   * Gives a cancelled order's stock back; idempotent per order in each SKU actor, so recovery may repeat it. The
   * order's holds are committed first: a client answered 201 can cancel while its saga is still committing them
   * (the answer does not wait for that commit), and stock can only come back once it counts as sold. A commit of a
   * hold already committed changes nothing, and the saga's own commit after this one finds the hold gone.
   */
  async restock(o: Pick<StoredOrder, 'orderId' | 'checkoutId' | 'items'>): Promise<void> {
    const commits = await Promise.all(o.items.map((i) => this.inventory(i.sku).ask({ t: 'commit', holdId: holdIdFor(asCheckoutId(o.checkoutId), asSku(i.sku)) })));
    const failed = commits.find((r) => !r.ok);
    if (failed && !failed.ok) {
      this.log.error({ orderId: o.orderId, code: failed.code }, 'restock failed: the order\'s holds could not be committed first');
      return;
    }
    const replies = await Promise.all(o.items.map((i) => this.inventory(i.sku).ask({ t: 'return', orderId: o.orderId, qty: i.qty })));
    for (const r of replies) if (!r.ok) this.log.error({ orderId: o.orderId, code: r.code }, 'restock failed');
  }

  /** Runs `fn` in this order's queue (the sweeper shares it, so it never races a ship or cancel). */
  serialized<T>(orderId: string, fn: () => Promise<T>): Promise<T> {
    return this.queue.run(orderId, fn);
  }

  private async reread(orderId: string, r: 'ok' | 'conflict'): Promise<OrderResult> {
    const after = await this.store.get(orderId);
    if (!after) return fail('ORDER_NOT_FOUND', { orderId });
    return r === 'ok' ? { ok: true, order: orderView(after) } : fail('ORDER_STATE_CONFLICT', { orderId, status: after.status });
  }

}

/**
 * One capture, void or refund, bounded by the provider deadline. A timeout or a thrown error is a provider failure
 * like a refusal: nothing changes here and the operator retries, which is safe because the key is deterministic
 * (the provider answers a repeat with the first result). Without this a hung provider would also block the order's
 * queue, and a timeout would surface as a 500.
 */
async function settle(call: () => Promise<SettleResult>): Promise<SettleResult> {
  try {
    return await withTimeout(call(), limits.paymentCallTimeoutMs);
  } catch (err) {
    return { ok: false, message: err instanceof Error ? err.message : String(err) };
  }
}
