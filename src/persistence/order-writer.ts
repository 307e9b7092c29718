import { randomUUID } from 'node:crypto';
import { Batcher, type Outcome } from './batcher.js';
import { occurredAtSql, outboxPartition, type OutboxEvent } from './outbox.js';
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
  /** The order's first events (sequence 1, 2, …), written to the outbox in this order (see outbox.ts). */
  outbox: OutboxEvent[];
}

/**
 * PostgreSQL refused this order for what it holds (SQLSTATE class 22, a data exception such as a character it cannot
 * store, or 23, an integrity constraint): writing it again can never succeed, so the saga takes it as a verdict
 * (void, release, answer) instead of retrying for ever with its stock pinned. Anything else (a lost connection, a
 * deadlock, a shutdown) is transient and the write is retried.
 */
export class OrderRejectedError extends Error {
  /** `code` is the SQLSTATE, as on the driver's own error. */
  constructor(readonly orderId: string, readonly code: string, cause: Error) {
    super(`order ${orderId} was refused by the database (${code}): ${cause.message}`);
    this.name = 'OrderRejectedError';
  }
}

const permanentSqlStateClasses = new Set(['22', '23']);

/**
 * What one write did: `inserted` the order; found it `existed` already (written by an earlier run of its checkout,
 * maybe with another status: the caller reads the stored answer); or `fenced`: the write named the checkout
 * partition's owner epoch and that epoch is over, so nothing was written (a newer owner runs the checkout now).
 */
export type OrderWriteResult = 'inserted' | 'existed' | 'fenced';

/** The checkout partition and the epoch its owner writes at: the order is written only while that epoch holds. */
export interface OrderFence {
  partition: number;
  epoch: number;
}

interface OrderWrite {
  order: NewOrder;
  fence: OrderFence | null;
}

function asRejection(order: NewOrder, err: Error): Error {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && permanentSqlStateClasses.has(code.slice(0, 2)) ? new OrderRejectedError(order.orderId, code, err) : err;
}

/**
 * Writes orders in batches: many orders per transaction, one multi-row INSERT per table (jsonb_to_recordset).
 *
 * Idempotent: an order whose order_id is already stored is skipped whole (no second outbox row, no second usage)
 * and its write resolves, so a recovering saga can simply write again. If a batch transaction fails, its orders are
 * written again one per transaction, so one bad order (say, a checkout id already used by another order) rejects
 * alone, as an OrderRejectedError when the database refused its data, and the others commit.
 */
export class OrderWriter {
  private readonly batcher: Batcher<OrderWrite, OrderWriteResult>;

  constructor(
    private readonly sql: SqlClient,
    private readonly opts: { batchMax: number; batchDelayMs: number; /** The partition count: an event goes to its order's partition. */ partitions: number },
  ) {
    this.batcher = new Batcher((orders) => this.writeBatch(orders), { batchMax: opts.batchMax, batchDelayMs: opts.batchDelayMs });
  }

  /**
   * Resolves once the order is committed, was already there, or was fenced (see OrderWriteResult). With a fence the
   * insert holds the partition's owner row FOR SHARE, as the journal does, so a claim (an epoch bump) and the write
   * of an order at the old epoch never interleave: an owner that lost its partition cannot write an order after the
   * next owner began, which might void the same checkout's authorization meanwhile.
   */
  write(order: NewOrder, fence: OrderFence | null = null): Promise<OrderWriteResult> {
    return this.batcher.add({ order, fence });
  }

  /** Writes what is waiting, then refuses new orders. Does not close the SQL client. */
  close(): Promise<void> {
    return this.batcher.close();
  }

  /**
   * Identical writes of one order in a batch (same status, same fence) are written once and share its outcome. A
   * different write of the same order (another run of its checkout: another status, or another epoch) goes in a
   * later round, which finds the order stored or its epoch fenced: sharing the first write's outcome would tell a
   * confirmed write behind a pending one that it inserted (a 201 for an order stored pending), or a write at the
   * owner's epoch behind a stale one that it was fenced (the owner would drop its partition).
   */
  private async writeBatch(writes: OrderWrite[]): Promise<Outcome<OrderWriteResult>[]> {
    const outcomes = new Array<Outcome<OrderWriteResult>>(writes.length);
    let left = writes.map((w, i) => ({ w, i }));
    while (left.length > 0) {
      const round = new Map<string, { w: OrderWrite; at: number[] }>();
      const later: typeof left = [];
      for (const x of left) {
        const first = round.get(x.w.order.orderId);
        if (first === undefined) round.set(x.w.order.orderId, { w: x.w, at: [x.i] });
        else if (sameWrite(first.w, x.w)) first.at.push(x.i);
        else later.push(x);
      }
      const unique = [...round.values()];
      const results = await this.writeUnique(unique.map((u) => u.w));
      unique.forEach((u, k) => {
        for (const i of u.at) outcomes[i] = results[k]!;
      });
      left = later;
    }
    return outcomes;
  }

  /** Writes orders with distinct ids in one statement; if it fails, one statement each. */
  private async writeUnique(unique: OrderWrite[]): Promise<Outcome<OrderWriteResult>[]> {
    try {
      // One statement is atomic by itself: no BEGIN/COMMIT round trips.
      const results = await writeOrders(this.sql, unique, this.opts.partitions);
      return results.map((value) => ({ ok: true, value }));
    } catch {
      const outcomes: Outcome<OrderWriteResult>[] = [];
      for (const w of unique) {
        try {
          const [value] = await writeOrders(this.sql, [w], this.opts.partitions);
          outcomes.push({ ok: true, value: value! });
        } catch (err) {
          outcomes.push({ ok: false, error: asRejection(w.order, err as Error) });
        }
      }
      return outcomes;
    }
  }
}

function sameWrite(a: OrderWrite, b: OrderWrite): boolean {
  return a.order.status === b.order.status && a.fence?.partition === b.fence?.partition && a.fence?.epoch === b.fence?.epoch;
}

/**
 * Writes a batch of orders in ONE statement: data-modifying CTEs insert the orders, and every child row (items,
 * payment, reservations, promo usage, outbox, idempotency response) joins on the orders that statement actually
 * inserted, so re-writing an order already stored changes nothing. One statement is one round trip and is atomic
 * on its own; on this class of machine each extra round trip costs tens of microseconds of CPU in the node.
 */
const insertOrdersStatement = `
WITH src AS (
  SELECT * FROM jsonb_to_recordset($1::jsonb) AS r(
    order_id text, user_id text, customer_key text, status text, total bigint, currency text, created_at timestamptz,
    checkout_id text, idempotency_key text, subtotal bigint, discount bigint, shipping bigint, tax bigint,
    promo_code text, address jsonb, priced jsonb, snapshot_hash text, fingerprint text,
    items jsonb, payment jsonb, reservations jsonb, outbox jsonb, status_code int, response jsonb,
    fence_partition int, fence_epoch bigint, event_partition int)
), owners AS (
  SELECT partition, epoch FROM partition_owners
  WHERE partition IN (SELECT fence_partition FROM src WHERE fence_partition IS NOT NULL)
  ORDER BY partition FOR SHARE
), o AS (
  INSERT INTO orders (order_id, user_id, customer_key, status, total, currency, created_at, updated_at, checkout_id,
                      idempotency_key, subtotal, discount, shipping, tax, promo_code, address, priced, snapshot_hash, event_seq)
  SELECT order_id, user_id, customer_key, status, total, currency, created_at, now(), checkout_id,
         idempotency_key, subtotal, discount, shipping, tax, promo_code, address, priced, snapshot_hash, jsonb_array_length(outbox)
  FROM src
  WHERE src.fence_partition IS NULL
     OR EXISTS (SELECT 1 FROM owners w WHERE w.partition = src.fence_partition AND w.epoch = src.fence_epoch)
  ON CONFLICT (order_id) DO NOTHING
  RETURNING order_id
), fresh AS (
  SELECT src.* FROM src JOIN o USING (order_id)
), items AS (
  INSERT INTO order_items (order_id, sku, line_no, qty, price, discount, tax, line_total)
  SELECT f.order_id, i.sku, (i.n - 1)::int, i.qty, i.price, i.discount, i.tax, i.line_total
  FROM fresh f, ROWS FROM (jsonb_to_recordset(f.items)
    AS (sku text, qty int, price bigint, discount bigint, tax bigint, line_total bigint)) WITH ORDINALITY
    AS i(sku, qty, price, discount, tax, line_total, n)
), payments AS (
  INSERT INTO payments (payment_id, order_id, provider, status, auth_id, amount, currency, idempotency_key, created_at, updated_at)
  SELECT p.payment_id, f.order_id, p.provider, p.status, p.auth_id, p.amount, p.currency, p.idempotency_key, now(), now()
  FROM fresh f, jsonb_to_record(f.payment)
    AS p(payment_id text, provider text, status text, auth_id text, amount bigint, currency text, idempotency_key text)
), reservations AS (
  -- A hold may already have a row (written when it was reserved): it becomes committed to this order.
  INSERT INTO inventory_reservations AS t (reservation_id, sku, qty, expires_at, order_id, status)
  SELECT r.reservation_id, r.sku, r.qty, r.expires_at, f.order_id, 'committed'
  FROM fresh f, jsonb_to_recordset(f.reservations) AS r(reservation_id text, sku text, qty int, expires_at timestamptz)
  ON CONFLICT (reservation_id) DO UPDATE SET order_id = excluded.order_id, status = 'committed'
), usages AS (
  INSERT INTO promotion_usages (order_id, code, customer_id, created_at)
  SELECT f.order_id, f.promo_code, f.customer_key, f.created_at FROM fresh f WHERE f.promo_code IS NOT NULL
), events AS (
  -- Ordered by order, then by the order's events, so positions follow each order's sequence (see outbox.ts).
  INSERT INTO outbox (id, aggregatetype, aggregateid, type, sequence, partition, occurred_at, payload)
  SELECT e.id, 'order', f.order_id, e.type, e.n::int, f.event_partition, now(),
         jsonb_build_object('id', e.id, 'type', e.type, 'orderId', f.order_id, 'sequence', e.n,
           'occurredAt', ${occurredAtSql}, 'data', coalesce(e.data, 'null'::jsonb))
  FROM fresh f, ROWS FROM (jsonb_to_recordset(f.outbox) AS (id uuid, type text, data jsonb)) WITH ORDINALITY
    AS e(id, type, data, n)
  ORDER BY f.order_id, e.n
), keys AS (
  INSERT INTO idempotency_keys AS k (key, fingerprint, checkout_id, status_code, response, created_at, completed_at)
  SELECT f.idempotency_key, f.fingerprint, f.checkout_id, f.status_code, f.response, now(), now() FROM fresh f
  ON CONFLICT (key) DO UPDATE SET fingerprint = excluded.fingerprint, checkout_id = excluded.checkout_id,
    status_code = excluded.status_code, response = excluded.response, completed_at = now()
)
SELECT order_id FROM o`;

/** Writes the orders in one statement; then tells, of those not inserted, the ones already stored from the fenced. */
async function writeOrders(sql: SqlTx, writes: OrderWrite[], partitions: number): Promise<OrderWriteResult[]> {
  const inserted = new Set((await insertOrders(sql, writes, partitions)).map((r) => r.order_id));
  const missed = writes.filter((w) => !inserted.has(w.order.orderId)).map((w) => w.order.orderId);
  const stored = missed.length === 0 ? new Set<string>() : new Set((await sql.query<{ order_id: string }>('SELECT order_id FROM orders WHERE order_id = ANY($1::text[])', [missed])).map((r) => r.order_id));
  return writes.map((w) => (inserted.has(w.order.orderId) ? 'inserted' : stored.has(w.order.orderId) ? 'existed' : 'fenced'));
}

async function insertOrders(tx: SqlTx, writes: OrderWrite[], partitions: number): Promise<{ order_id: string }[]> {
  return tx.query<{ order_id: string }>(insertOrdersStatement, [
    JSON.stringify(
      writes.map(({ order: o, fence }) => ({
        fence_partition: fence?.partition ?? null,
        fence_epoch: fence?.epoch ?? null,
        event_partition: outboxPartition(o.orderId, partitions),
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
        fingerprint: o.fingerprint,
        items: o.items.map((i) => ({ sku: i.sku, qty: i.qty, price: i.price, discount: i.discount, tax: i.tax, line_total: i.lineTotal })),
        payment: {
          payment_id: o.payment.paymentId,
          provider: o.payment.provider,
          status: o.payment.status,
          auth_id: o.payment.authId,
          amount: o.payment.amount,
          currency: o.payment.currency,
          idempotency_key: o.payment.idempotencyKey,
        },
        reservations: o.reservations.map((r) => ({ reservation_id: r.reservationId, sku: r.sku, qty: r.qty, expires_at: r.expiresAt.toISOString() })),
        // A fresh id per write: only the write that inserts the order inserts its events, so each event keeps one id.
        outbox: o.outbox.map((e) => ({ id: randomUUID(), type: e.eventType, data: e.payload ?? null })),
        status_code: o.response.statusCode,
        response: o.response.body ?? null,
      })),
    ),
  ]);
}
