import type { Logger } from 'pino';
import { actorLimits, limits } from '../config/limits.js';
import { fail, type Failure } from '../errors.js';
import { withTimeout, type PaymentProvider, type SettleResult } from '../payments/provider.js';
import type { InventoryReply } from '../domain/inventory.js';
import { asCheckoutId, asSku, holdIdFor, type HoldId } from '../domain/ids.js';
import { KeyedQueue } from './keyed-queue.js';
import type { PromoUses } from './promo-ledger.js';
import type { OutboxEvent, StoredOrder, StoredRefund, TransitionOptions } from '../persistence/order-store.js';

/** An order as the store returns it. */
export type { StoredOrder } from '../persistence/order-store.js';

/** What the sweeper needs of the orders: read one, move it between states. */
export interface OrderSource {
  get(orderId: string): Promise<StoredOrder | null>;
  transition(orderId: string, from: string[], to: string, paymentStatus: string, outboxEvent: OutboxEvent | readonly OutboxEvent[], opts?: TransitionOptions): Promise<'ok' | 'conflict'>;
}

/** What ship, cancel and refund need besides: the refunds of an order and the restocks cancels still owe. */
export interface OrderBook extends OrderSource {
  refunds(orderId: string): Promise<StoredRefund[]>;
  /** Records refund `n` (pending) unless it exists; the amount recorded under `n` (another request's, if it was first). */
  beginRefund(orderId: string, n: number, amountMinor: number): Promise<number>;
  finishRefund(orderId: string, n: number, succeeded: boolean): Promise<void>;
  listRestockPending(limit: number): Promise<StoredOrder[]>;
  markRestocked(orderId: string): Promise<void>;
}

export interface OrderView {
  orderId: string;
  status: string;
  lines: { sku: string; qty: number; unitPriceMinor: number; discountMinor: number; taxMinor: number; totalMinor: number }[];
  totals: { currency: string; subtotalMinor: number; discountMinor: number; shippingMinor: number; taxMinor: number; totalMinor: number };
  payment: { status: string; capturedMinor: number; refundedMinor: number };
  createdAt: string;
}

export function orderView(o: StoredOrder): OrderView {
  return {
    orderId: o.orderId,
    status: o.status,
    lines: o.items.map((i) => ({ sku: i.sku, qty: i.qty, unitPriceMinor: i.price, discountMinor: i.discount, taxMinor: i.tax, totalMinor: i.lineTotal })),
    totals: { currency: o.currency, subtotalMinor: o.subtotal, discountMinor: o.discount, shippingMinor: o.shipping, taxMinor: o.tax, totalMinor: o.total },
    payment: { status: o.payment?.status ?? 'pending', capturedMinor: o.payment?.capturedMinor ?? 0, refundedMinor: o.payment?.refundedMinor ?? 0 },
    createdAt: o.createdAt.toISOString(),
  };
}

type OrderResult = { ok: true; order: OrderView } | Failure;

/** A settle call's answer; `unknown` when the provider did not answer (its key makes a retry safe). */
/** A provider call's result; `raced`: another request (another node during a move) numbered its refund the same. */
type Settled = SettleResult | { ok: false; message: string; unknown: true } | { ok: false; message: string; raced: true };

/**
 * Ship, cancel and refund. One operation at a time per order (a promise chain per id), so a ship, a cancel and a
 * refund cannot reach the payment provider together. The provider call comes first, with a key derived from the
 * order (`<orderId>:capture`, `<orderId>:void`, `<orderId>:refund:<n>`), then the conditional status change, so a
 * crash in between is repaired by repeating the request. A refund is recorded before the provider is asked, so a
 * retry finds it and asks again with the same key; a cancel records what it owes the stock with its status change,
 * and `completeRestocks` finishes a restock a crash interrupted.
 */
export class OrderService {
  private readonly queue = new KeyedQueue();

  constructor(
    private readonly store: OrderBook,
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
      const captured = await settle(() => this.payments.capture({ idempotencyKey: `${orderId}:capture`, authId, amountMinor: o.total }));
      if (!captured.ok) return fail('PAYMENT_PROVIDER_ERROR', { orderId, reason: captured.message });
      const events = [
        { eventType: 'payment.captured', payload: { amountMinor: o.total, currency: o.currency } },
        { eventType: 'order.shipped', payload: { status: 'shipped' } },
      ] as const;
      const r = await this.store.transition(orderId, ['confirmed'], 'shipped', 'captured', events, { capturedMinor: o.total });
      return this.reread(orderId, r);
    });
  }

  /**
   * Cancels a confirmed order (voids its authorization; its stock comes back) or a shipped one (refunds what is left
   * of the capture; its stock comes back only with `restock`, when the goods came back).
   */
  cancel(orderId: string, opts: { restock?: boolean } = {}): Promise<OrderResult> {
    return this.queue.run(orderId, async () => {
      const o = await this.store.get(orderId);
      if (!o) return fail('ORDER_NOT_FOUND', { orderId });
      if (o.status === 'cancelled') return { ok: true, order: orderView(o) };
      if ((o.status !== 'confirmed' && o.status !== 'shipped') || !o.payment?.authId) return fail('ORDER_STATE_CONFLICT', { orderId, status: o.status });
      const shipped = o.status === 'shipped';
      const settled = shipped ? await this.refundRest(o) : await settle(() => this.payments.void({ idempotencyKey: `${orderId}:void`, authId: o.payment.authId! }));
      if (!settled.ok && 'raced' in settled) return this.reread(orderId, 'conflict');
      if (!settled.ok) return fail('PAYMENT_PROVIDER_ERROR', { orderId, reason: settled.message });
      const restock = !shipped || opts.restock === true;
      const r = await this.store.transition(orderId, [o.status], 'cancelled', shipped ? 'refunded' : 'voided', { eventType: 'order.cancelled', payload: { status: 'cancelled', payment: shipped ? 'refunded' : 'voided', restock } }, { releasePromoUsage: true, refundedAll: shipped, restock });
      if (r === 'ok') {
        if (o.promoCode) this.promos.release(o.promoCode, o.customerKey);
        if (restock) await this.restockAndMark(o);
      }
      return this.reread(orderId, r);
    });
  }

  /** Refunds `amountMinor` of a shipped order's capture (default: what is left); never more than was captured. */
  refund(orderId: string, amountMinor: number | null): Promise<OrderResult> {
    return this.queue.run(orderId, async () => {
      let o = await this.store.get(orderId);
      if (!o) return fail('ORDER_NOT_FOUND', { orderId });
      if (o.status !== 'shipped' || !o.payment?.authId) return fail('ORDER_STATE_CONFLICT', { orderId, status: o.status });
      // A refund an earlier request left pending (the provider did not answer) is settled first, with its own key.
      const refunds = await this.store.refunds(orderId);
      const pending = refunds.find((r) => r.status === 'pending');
      if (pending) {
        const settled = await this.sendRefund(o, pending.n, pending.amountMinor);
        if (!settled.ok) return fail('PAYMENT_PROVIDER_ERROR', { orderId, reason: settled.message });
        o = (await this.store.get(orderId))!;
      }
      const restMinor = o.payment.capturedMinor - o.payment.refundedMinor;
      const wantedMinor = amountMinor ?? restMinor;
      if (wantedMinor > restMinor || wantedMinor <= 0) {
        return fail('REFUND_EXCEEDS_CAPTURED', { orderId, capturedMinor: o.payment.capturedMinor, refundedMinor: o.payment.refundedMinor, requestedMinor: wantedMinor });
      }
      const n = refunds.reduce((max, r) => Math.max(max, r.n), 0) + 1;
      const settled = await this.sendRefund(o, n, wantedMinor);
      if (!settled.ok && 'raced' in settled) return this.reread(orderId, 'conflict');
      if (!settled.ok) return fail('PAYMENT_PROVIDER_ERROR', { orderId, reason: settled.message });
      return this.reread(orderId, 'ok');
    });
  }

  /** Runs `fn` in this order's queue (the sweeper shares it, so it never races a ship or cancel). */
  serialized<T>(orderId: string, fn: () => Promise<T>): Promise<T> {
    return this.queue.run(orderId, fn);
  }

  /**
   * Finishes the restocks cancels still owe (a crash came between a cancel's status change and its restock); run at
   * start and then periodically. Returns how many were finished.
   */
  async completeRestocks(): Promise<number> {
    let done = 0;
    for (const o of await this.store.listRestockPending(actorLimits.pendingPerSweepMax)) {
      const finished = await this.queue
        .run(o.orderId, async () => {
          const fresh = await this.store.get(o.orderId);
          if (fresh?.restockState !== 'pending') return false;
          await this.restockAndMark(fresh);
          return true;
        })
        .catch((err: unknown) => {
          this.log.error({ err, orderId: o.orderId }, 'restock of a cancelled order failed; retried later');
          return false;
        });
      if (finished) done++;
    }
    return done;
  }

  /**
   * Gives a cancelled order's stock back; idempotent per order in each SKU actor, so recovery may repeat it. The
   * order's holds are committed first: a client answered 201 can cancel while its saga is still committing them
   * (the answer does not wait for that commit), and stock can only come back once it counts as sold. A commit of a
   * hold already committed changes nothing, and the saga's own commit after this one finds the hold gone. A refused
   * command throws: the restock stays owed and is finished later.
   */
  async restock(o: Pick<StoredOrder, 'orderId' | 'checkoutId' | 'items'>): Promise<void> {
    const commits = await Promise.all(o.items.map((i) => this.inventory(i.sku).ask({ t: 'commit', holdId: holdIdFor(asCheckoutId(o.checkoutId), asSku(i.sku)) })));
    const failed = commits.find((r) => !r.ok);
    if (failed && !failed.ok) throw new Error(`restock of ${o.orderId}: committing its holds failed with ${failed.code}`);
    const replies = await Promise.all(o.items.map((i) => this.inventory(i.sku).ask({ t: 'return', orderId: o.orderId, qty: i.qty })));
    const refused = replies.find((r) => !r.ok);
    if (refused && !refused.ok) throw new Error(`restock of ${o.orderId}: a return failed with ${refused.code}`);
  }

  private async restockAndMark(o: StoredOrder): Promise<void> {
    try {
      await this.restock(o);
      await this.store.markRestocked(o.orderId);
    } catch (err) {
      // Owed, recorded: completeRestocks finishes it.
      this.log.error({ err, orderId: o.orderId }, 'restock failed; it is finished later');
    }
  }

  /** A cancel of a shipped order refunds what is left of the capture (nothing left: nothing to do). */
  private async refundRest(o: StoredOrder): Promise<Settled> {
    const refunds = await this.store.refunds(o.orderId);
    const pending = refunds.find((r) => r.status === 'pending');
    if (pending) {
      const settled = await this.sendRefund(o, pending.n, pending.amountMinor);
      if (!settled.ok) return settled;
      o = (await this.store.get(o.orderId))!;
    }
    const restMinor = o.payment.capturedMinor - o.payment.refundedMinor;
    if (restMinor <= 0) return { ok: true };
    return this.sendRefund(o, refunds.reduce((max, r) => Math.max(max, r.n), 0) + 1, restMinor);
  }

  /**
   * Records refund `n`, asks the provider with its key, and settles the record by the answer (none: stays pending).
   * The key always goes with the amount recorded under `n`: when another request recorded `n` first with another
   * amount, that refund is the one sent (and settled), and this request is told it raced.
   */
  private async sendRefund(o: StoredOrder, n: number, amountMinor: number): Promise<Settled> {
    const recordedMinor = await this.store.beginRefund(o.orderId, n, amountMinor);
    const settled = await settle(() => this.payments.refund({ idempotencyKey: `${o.orderId}:refund:${n}`, authId: o.payment.authId!, amountMinor: recordedMinor }));
    if (settled.ok) await this.store.finishRefund(o.orderId, n, true);
    // Only a refusal of this key for good fails the record; unknown, or nothing sent this time, leaves it pending.
    else if (!('unknown' in settled) && !('retryable' in settled && settled.retryable)) await this.store.finishRefund(o.orderId, n, false);
    if (settled.ok && recordedMinor !== amountMinor) return { ok: false, raced: true, message: `refund ${n} of this order was made by another request, for ${recordedMinor}` };
    return settled;
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
async function settle(call: () => Promise<SettleResult>): Promise<Settled> {
  try {
    return await withTimeout(call(), limits.paymentCallTimeoutMs);
  } catch (err) {
    return { ok: false, message: err instanceof Error ? err.message : String(err), unknown: true };
  }
}
