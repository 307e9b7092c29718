import { insertOutbox, outboxPartition, outboxRecords, reserveSequences, type OutboxEvent } from './outbox.js';
import type { SqlClient } from './sql.js';

export type { OutboxEvent } from './outbox.js';

export interface StoredOrderItem {
  sku: string;
  qty: number;
  /** Unit price in minor units. */
  price: number;
  discount: number;
  tax: number;
  lineTotal: number;
}

export interface StoredPayment {
  paymentId: string;
  status: string;
  authId: string | null;
  amount: number;
  currency: string;
  provider: string;
  /** What a capture took, and what refunds gave back of it (never more). */
  capturedMinor: number;
  refundedMinor: number;
}

/** A refund of an order, numbered from 1; recorded `pending` before the provider is asked. */
export interface StoredRefund {
  n: number;
  amountMinor: number;
  status: 'pending' | 'succeeded' | 'failed';
}

export interface StoredOrder {
  orderId: string;
  checkoutId: string;
  idempotencyKey: string;
  userId: string | null;
  customerKey: string;
  status: string;
  currency: string;
  subtotal: number;
  discount: number;
  shipping: number;
  tax: number;
  total: number;
  promoCode: string | null;
  address: unknown;
  priced: unknown;
  snapshotHash: string;
  createdAt: Date;
  updatedAt: Date;
  /** In the order they were written. */
  items: StoredOrderItem[];
  /** The order's payment (the latest, should there ever be several). */
  payment: StoredPayment;
  /** A cancel that owes the stock its units: 'pending' until they are back. */
  restockState: 'pending' | 'done' | null;
}

/** What else a status change writes in its transaction. */
export interface TransitionOptions {
  releasePromoUsage?: boolean;
  /** The authorization id, learnt late (a pending order confirmed by the sweeper). */
  authId?: string | null;
  /** The amount a capture took. */
  capturedMinor?: number;
  /** Everything captured was refunded. */
  refundedAll?: boolean;
  /** The order's units are owed back to the stock (restock_state = 'pending'). */
  restock?: boolean;
}

interface OrderRow {
  order_id: string;
  checkout_id: string;
  idempotency_key: string;
  user_id: string | null;
  customer_key: string;
  status: string;
  currency: string;
  subtotal: number;
  discount: number;
  shipping: number;
  tax: number;
  total: number;
  promo_code: string | null;
  address: unknown;
  priced: unknown;
  snapshot_hash: string;
  created_at: Date;
  updated_at: Date;
  restock_state: 'pending' | 'done' | null;
}

/** Reads orders and moves them between states (cancel, refund, the sweeper's pending → …). */
export class OrderStore {
  /** `partitions`: the partition count, which places each order's events (see outbox.ts). */
  constructor(
    private readonly sql: SqlClient,
    private readonly partitions: number,
  ) {}

  async get(orderId: string): Promise<StoredOrder | null> {
    const [order] = await this.load('order_id = $1', [orderId]);
    return order ?? null;
  }

  /** The orders of these checkouts (recovery: which checkouts got as far as an order). Missing ones are left out. */
  getByCheckoutIds(checkoutIds: string[]): Promise<StoredOrder[]> {
    if (checkoutIds.length === 0) return Promise.resolve([]);
    return this.load('checkout_id = ANY($1::text[])', [checkoutIds]);
  }

  /** Oldest first. */
  listByStatus(status: string, limit: number): Promise<StoredOrder[]> {
    if (!(Number.isInteger(limit) && limit >= 1)) throw new Error(`limit must be a positive integer, got ${limit}`);
    return this.load('status = $1 ORDER BY created_at, order_id LIMIT $2', [status, limit]);
  }

  /**
   * Moves an order from one of `from` to `to`, in one transaction with its payment's new status (and authorization
   * id, when one is learnt: a pending order confirmed by the sweeper), its outbox events (one, or several in their
   * order: a ship's payment.captured then order.shipped) and, when asked, giving its promotion usage back. 'conflict'
   * when the order is missing or in another state (nothing is changed then).
   */
  transition(
    orderId: string,
    from: string[],
    to: string,
    paymentStatus: string,
    outboxEvent: OutboxEvent | readonly OutboxEvent[],
    opts: TransitionOptions = {},
  ): Promise<'ok' | 'conflict'> {
    const events = Array.isArray(outboxEvent) ? (outboxEvent as readonly OutboxEvent[]) : [outboxEvent as OutboxEvent];
    return this.sql.transaction(async (tx) => {
      const moved = await tx.query(
        `UPDATE orders SET status = $2, updated_at = now(), restock_state = CASE WHEN $4 THEN 'pending' ELSE restock_state END
         WHERE order_id = $1 AND status = ANY($3::text[]) RETURNING order_id`,
        [orderId, to, from, opts.restock === true],
      );
      if (moved.length === 0) return 'conflict';
      await tx.query(
        `UPDATE payments SET status = $2, auth_id = coalesce($3, auth_id), captured_minor = coalesce($4, captured_minor),
           refunded_minor = CASE WHEN $5 THEN captured_minor ELSE refunded_minor END, updated_at = now()
         WHERE order_id = $1`,
        [orderId, paymentStatus, opts.authId ?? null, opts.capturedMinor ?? null, opts.refundedAll === true],
      );
      const first = await reserveSequences(tx, orderId, events.length);
      await insertOutbox(tx, outboxRecords(orderId, outboxPartition(orderId, this.partitions), first!, events));
      if (opts.releasePromoUsage === true) await tx.query('DELETE FROM promotion_usages WHERE order_id = $1', [orderId]);
      return 'ok';
    });
  }

  /** Cancelled orders whose units are still owed to the stock, oldest first (recovery finishes them). */
  listRestockPending(limit: number): Promise<StoredOrder[]> {
    return this.load(`restock_state = 'pending' ORDER BY updated_at, order_id LIMIT $1`, [limit]);
  }

  /** The order's units are back in stock. */
  async markRestocked(orderId: string): Promise<void> {
    await this.sql.query(`UPDATE orders SET restock_state = 'done' WHERE order_id = $1 AND restock_state = 'pending'`, [orderId]);
  }

  /** The order's refunds, by number. */
  async refunds(orderId: string): Promise<StoredRefund[]> {
    const rows = await this.sql.query<{ n: number; amount_minor: number; status: StoredRefund['status'] }>('SELECT n, amount_minor, status FROM refunds WHERE order_id = $1 ORDER BY n', [orderId]);
    return rows.map((r) => ({ n: r.n, amountMinor: r.amount_minor, status: r.status }));
  }

  /** Records refund `n` as pending, before the provider is asked (a retry finds it and asks again with its key). */
  async beginRefund(orderId: string, n: number, amountMinor: number): Promise<number> {
    const [made] = await this.sql.query<{ amount_minor: number }>(
      `INSERT INTO refunds (order_id, n, amount_minor, status) VALUES ($1, $2, $3, 'pending') ON CONFLICT (order_id, n) DO NOTHING RETURNING amount_minor`,
      [orderId, n, amountMinor],
    );
    if (made !== undefined) return Number(made.amount_minor);
    const [stored] = await this.sql.query<{ amount_minor: number }>(`SELECT amount_minor FROM refunds WHERE order_id = $1 AND n = $2`, [orderId, n]);
    return Number(stored!.amount_minor);
  }

  /**
   * Settles pending refund `n`: succeeded adds its amount to the payment's refunded total in the same transaction (the
   * payment is 'refunded' once everything captured came back); failed (the provider refused it) changes nothing else.
   */
  finishRefund(orderId: string, n: number, succeeded: boolean): Promise<void> {
    // A success writes payment.refunded in the same transaction (only the call that settles the record: a repeat
    // finds it settled and writes nothing).
    return this.sql.transaction(async (tx) => {
      const [refund] = await tx.query<{ amount_minor: number }>(
        // A success is the provider's fact: it settles a failed record too (another node's refusal raced it).
        `UPDATE refunds SET status = $3, updated_at = now() WHERE order_id = $1 AND n = $2 AND (status = 'pending' OR ($3 = 'succeeded' AND status = 'failed')) RETURNING amount_minor`,
        [orderId, n, succeeded ? 'succeeded' : 'failed'],
      );
      if (refund === undefined || !succeeded) return;
      const [payment] = await tx.query<{ refunded_minor: number; captured_minor: number; currency: string }>(
        `UPDATE payments SET refunded_minor = refunded_minor + $2,
           status = CASE WHEN refunded_minor + $2 = captured_minor THEN 'refunded' ELSE status END, updated_at = now()
         WHERE order_id = $1 RETURNING refunded_minor, captured_minor, currency`,
        [orderId, refund.amount_minor],
      );
      const first = await reserveSequences(tx, orderId, 1);
      if (first === null) return;
      const data = { refundNumber: n, amountMinor: Number(refund.amount_minor), refundedMinor: Number(payment?.refunded_minor ?? 0), capturedMinor: Number(payment?.captured_minor ?? 0), currency: payment?.currency ?? null };
      await insertOutbox(tx, outboxRecords(orderId, outboxPartition(orderId, this.partitions), first, [{ eventType: 'payment.refunded', payload: data }]));
    });
  }

  /** Orders matching `where` (a trusted SQL fragment over orders), with items and payment: three set-based reads. */
  private async load(where: string, params: unknown[]): Promise<StoredOrder[]> {
    const orders = await this.sql.query<OrderRow>(`SELECT * FROM orders WHERE ${where}`, params);
    if (orders.length === 0) return [];
    const ids = orders.map((o) => o.order_id);
    const [items, payments] = await Promise.all([
      this.sql.query<{ order_id: string; sku: string; qty: number; price: number; discount: number; tax: number; line_total: number }>(
        'SELECT * FROM order_items WHERE order_id = ANY($1::text[]) ORDER BY order_id, line_no',
        [ids],
      ),
      this.sql.query<{ order_id: string; payment_id: string; status: string; auth_id: string | null; amount: number; currency: string; provider: string; captured_minor: number; refunded_minor: number }>(
        'SELECT * FROM payments WHERE order_id = ANY($1::text[]) ORDER BY order_id, created_at, payment_id',
        [ids],
      ),
    ]);
    const itemsByOrder = new Map<string, StoredOrderItem[]>();
    for (const i of items) {
      const list = itemsByOrder.get(i.order_id) ?? [];
      list.push({ sku: i.sku, qty: i.qty, price: i.price, discount: i.discount, tax: i.tax, lineTotal: i.line_total });
      itemsByOrder.set(i.order_id, list);
    }
    const paymentByOrder = new Map<string, StoredPayment>();
    for (const p of payments) {
      paymentByOrder.set(p.order_id, {
        paymentId: p.payment_id,
        status: p.status,
        authId: p.auth_id,
        amount: p.amount,
        currency: p.currency,
        provider: p.provider,
        capturedMinor: p.captured_minor,
        refundedMinor: p.refunded_minor,
      });
    }
    return orders.map((o) => {
      const payment = paymentByOrder.get(o.order_id);
      // OrderWriter writes an order and its payment in one transaction; an order without one is a bug.
      if (payment === undefined) throw new Error(`order ${o.order_id} has no payment row`);
      return {
        orderId: o.order_id,
        checkoutId: o.checkout_id,
        idempotencyKey: o.idempotency_key,
        userId: o.user_id,
        customerKey: o.customer_key,
        status: o.status,
        currency: o.currency,
        subtotal: o.subtotal,
        discount: o.discount,
        shipping: o.shipping,
        tax: o.tax,
        total: o.total,
        promoCode: o.promo_code,
        address: o.address,
        priced: o.priced,
        snapshotHash: o.snapshot_hash,
        createdAt: o.created_at,
        updatedAt: o.updated_at,
        items: itemsByOrder.get(o.order_id) ?? [],
        payment,
        restockState: o.restock_state,
      };
    });
  }
}
