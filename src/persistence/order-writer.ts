import { Batcher, type Outcome } from './batcher.js';
import type { SqlClient, SqlTx } from './sql.js';

/** Everything one confirmed (or pending) checkout writes, in one transaction with the other orders of its batch. */
export interface NewOrder {
  orderId: string;
  checkoutId: string;
  idempotencyKey: string;
  fingerprint: string;
  userId: string | null;
  status: 'confirmed' | 'pending';
  currency: string;
  subtotal: number;
  discount: number;
  shipping: number;
  tax: number;
  total: number;
  promoCode: string | null;
  customerKey: string;
  address: unknown;
  priced: unknown;
  snapshotHash: string;
  createdAt: Date;
  items: { sku: string; qty: number; price: number; discount: number; tax: number; lineTotal: number }[];
  payment: { paymentId: string; provider: string; status: string; authId: string | null; amount: number; currency: string; idempotencyKey: string };
  reservations: { reservationId: string; sku: string; qty: number; expiresAt: Date }[];
  /** Stored in idempotency_keys so a retried request replays it. */
  response: { statusCode: number; body: unknown };
  /** Outbox rows with aggregate_type 'order' and aggregate_id orderId, in this order. */
  outbox: { eventType: string; payload: unknown }[];
}

/**
 * Writes orders in batches: many orders per transaction, one multi-row INSERT per table (jsonb_to_recordset).
 *
 * Idempotent: an order whose order_id is already stored is skipped whole (no second outbox row, no second usage)
 * and its write resolves, so a recovering saga can simply write again. If a batch transaction fails, its orders are
 * written again one per transaction, so one bad order (say, a checkout id already used by another order) rejects
 * alone and the others commit.
 */
export class OrderWriter {
  private readonly batcher: Batcher<NewOrder, void>;

  constructor(
    private readonly sql: SqlClient,
    opts: { batchMax: number; batchDelayMs: number },
  ) {
    this.batcher = new Batcher((orders) => this.writeBatch(orders), { batchMax: opts.batchMax, batchDelayMs: opts.batchDelayMs });
  }

  /** Resolves once the order is committed (or was already there). */
  write(order: NewOrder): Promise<void> {
    return this.batcher.add(order);
  }

  /** Writes what is waiting, then refuses new orders. Does not close the SQL client. */
  close(): Promise<void> {
    return this.batcher.close();
  }

  private async writeBatch(orders: NewOrder[]): Promise<Outcome<void>[]> {
    // The same order twice in one batch is written once; both writes share its outcome.
    const firstIndex = new Map<string, number>();
    const unique: NewOrder[] = [];
    for (const o of orders) {
      if (!firstIndex.has(o.orderId)) {
        firstIndex.set(o.orderId, unique.length);
        unique.push(o);
      }
    }
    let outcomes: Outcome<void>[];
    try {
      await this.sql.transaction((tx) => insertOrders(tx, unique));
      outcomes = unique.map(() => ({ ok: true, value: undefined }));
    } catch {
      outcomes = [];
      for (const order of unique) {
        try {
          await this.sql.transaction((tx) => insertOrders(tx, [order]));
          outcomes.push({ ok: true, value: undefined });
        } catch (err) {
          outcomes.push({ ok: false, error: err as Error });
        }
      }
    }
    return orders.map((o) => outcomes[firstIndex.get(o.orderId)!]!);
  }
}

async function insertOrders(tx: SqlTx, orders: NewOrder[]): Promise<void> {
  const inserted = await tx.query<{ order_id: string }>(
    `INSERT INTO orders (order_id, user_id, customer_key, status, total, currency, created_at, updated_at, checkout_id,
                         idempotency_key, subtotal, discount, shipping, tax, promo_code, address, priced, snapshot_hash)
     SELECT order_id, user_id, customer_key, status, total, currency, created_at, now(), checkout_id,
            idempotency_key, subtotal, discount, shipping, tax, promo_code, address, priced, snapshot_hash
     FROM jsonb_to_recordset($1::jsonb) AS r(order_id text, user_id text, customer_key text, status text, total bigint,
          currency text, created_at timestamptz, checkout_id text, idempotency_key text, subtotal bigint, discount bigint,
          shipping bigint, tax bigint, promo_code text, address jsonb, priced jsonb, snapshot_hash text)
     ON CONFLICT (order_id) DO NOTHING
     RETURNING order_id`,
    [
      JSON.stringify(
        orders.map((o) => ({
          order_id: o.orderId,
          user_id: o.userId,
          customer_key: o.customerKey,
          status: o.status,
          total: o.total,
          currency: o.currency,
          created_at: o.createdAt.toISOString(),
          checkout_id: o.checkoutId,
          idempotency_key: o.idempotencyKey,
          subtotal: o.subtotal,
          discount: o.discount,
          shipping: o.shipping,
          tax: o.tax,
          promo_code: o.promoCode,
          address: o.address ?? null,
          priced: o.priced ?? null,
          snapshot_hash: o.snapshotHash,
        })),
      ),
    ],
  );
  const isNew = new Set(inserted.map((r) => r.order_id));
  const fresh = orders.filter((o) => isNew.has(o.orderId));
  if (fresh.length === 0) return;

  await insertRecords(
    tx,
    `INSERT INTO order_items (order_id, sku, line_no, qty, price, discount, tax, line_total)
     SELECT order_id, sku, line_no, qty, price, discount, tax, line_total
     FROM jsonb_to_recordset($1::jsonb) AS r(order_id text, sku text, line_no int, qty int, price bigint, discount bigint,
          tax bigint, line_total bigint)`,
    fresh.flatMap((o) =>
      o.items.map((item, i) => ({
        order_id: o.orderId,
        sku: item.sku,
        line_no: i,
        qty: item.qty,
        price: item.price,
        discount: item.discount,
        tax: item.tax,
        line_total: item.lineTotal,
      })),
    ),
  );
  await insertRecords(
    tx,
    `INSERT INTO payments (payment_id, order_id, provider, status, auth_id, amount, currency, idempotency_key, created_at, updated_at)
     SELECT payment_id, order_id, provider, status, auth_id, amount, currency, idempotency_key, now(), now()
     FROM jsonb_to_recordset($1::jsonb) AS r(payment_id text, order_id text, provider text, status text, auth_id text,
          amount bigint, currency text, idempotency_key text)`,
    fresh.map((o) => ({
      payment_id: o.payment.paymentId,
      order_id: o.orderId,
      provider: o.payment.provider,
      status: o.payment.status,
      auth_id: o.payment.authId,
      amount: o.payment.amount,
      currency: o.payment.currency,
      idempotency_key: o.payment.idempotencyKey,
    })),
  );
  // A hold may already have a row (written when it was reserved): it becomes committed to this order.
  await insertRecords(
    tx,
    `INSERT INTO inventory_reservations AS t (reservation_id, sku, qty, expires_at, order_id, status)
     SELECT reservation_id, sku, qty, expires_at, order_id, 'committed'
     FROM jsonb_to_recordset($1::jsonb) AS r(reservation_id text, sku text, qty int, expires_at timestamptz, order_id text)
     ON CONFLICT (reservation_id) DO UPDATE SET order_id = excluded.order_id, status = 'committed'`,
    fresh.flatMap((o) =>
      o.reservations.map((r) => ({
        reservation_id: r.reservationId,
        sku: r.sku,
        qty: r.qty,
        expires_at: r.expiresAt.toISOString(),
        order_id: o.orderId,
      })),
    ),
  );
  await insertRecords(
    tx,
    `INSERT INTO promotion_usages (order_id, code, customer_id, created_at)
     SELECT order_id, code, customer_id, created_at
     FROM jsonb_to_recordset($1::jsonb) AS r(order_id text, code text, customer_id text, created_at timestamptz)`,
    fresh
      .filter((o) => o.promoCode !== null)
      .map((o) => ({ order_id: o.orderId, code: o.promoCode, customer_id: o.customerKey, created_at: o.createdAt.toISOString() })),
  );
  // ORDER BY n gives outbox ids in the order the events were given (per-aggregate order).
  await insertRecords(
    tx,
    `INSERT INTO outbox (aggregate_type, aggregate_id, event_type, payload)
     SELECT 'order', aggregate_id, event_type, coalesce(payload, 'null'::jsonb)
     FROM jsonb_to_recordset($1::jsonb) AS r(n int, aggregate_id text, event_type text, payload jsonb)
     ORDER BY n`,
    fresh
      .flatMap((o) => o.outbox.map((e) => ({ aggregate_id: o.orderId, event_type: e.eventType, payload: e.payload ?? null })))
      .map((e, n) => ({ n, ...e })),
  );
  await insertRecords(
    tx,
    `INSERT INTO idempotency_keys AS k (key, fingerprint, checkout_id, status_code, response, created_at, completed_at)
     SELECT key, fingerprint, checkout_id, status_code, response, now(), now()
     FROM jsonb_to_recordset($1::jsonb) AS r(key text, fingerprint text, checkout_id text, status_code int, response jsonb)
     ON CONFLICT (key) DO UPDATE SET fingerprint = excluded.fingerprint, checkout_id = excluded.checkout_id,
       status_code = excluded.status_code, response = excluded.response, completed_at = now()`,
    fresh.map((o) => ({
      key: o.idempotencyKey,
      fingerprint: o.fingerprint,
      checkout_id: o.checkoutId,
      status_code: o.response.statusCode,
      response: o.response.body ?? null,
    })),
  );
}

async function insertRecords(tx: SqlTx, statement: string, records: object[]): Promise<void> {
  if (records.length === 0) return;
  await tx.query(statement, [JSON.stringify(records)]);
}
