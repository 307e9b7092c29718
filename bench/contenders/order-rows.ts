import type { PoolClient } from 'pg';
import type { CheckoutPlan } from '../../src/domain/checkout.js';

/**
 * The rows of one confirmed order, as boxoffice writes them (src/actors/order-row.ts orderRow and
 * src/persistence/order-writer.ts): orders, order_items, payments, outbox, and the key's final response in
 * idempotency_keys. One statement of data-modifying CTEs, so the whole order is one round trip inside the order
 * transaction. (boxoffice also writes a committed inventory_reservations row per line, because it holds stock
 * before paying; the contenders take stock without a hold, so they have no reservation to write.)
 */
const insertOrderText = `WITH o AS (
  INSERT INTO orders (order_id, user_id, customer_key, status, total, currency, created_at, updated_at, checkout_id,
                      idempotency_key, subtotal, discount, shipping, tax, promo_code, address, priced, snapshot_hash)
  VALUES ($1, $2, $2, 'confirmed', $3, $4, $5, now(), $6, $7, $8, $9, $10, $11, $12, $13::jsonb, $14::jsonb, $15)
  RETURNING order_id),
i AS (
  INSERT INTO order_items (order_id, sku, line_no, qty, price, discount, tax, line_total)
  SELECT o.order_id, l.sku, (l.n - 1)::int, l.qty, l.price, l.discount, l.tax, l.line_total
  FROM o, unnest($16::text[], $17::int[], $18::bigint[], $19::bigint[], $20::bigint[], $21::bigint[])
          WITH ORDINALITY AS l(sku, qty, price, discount, tax, line_total, n)),
p AS (
  INSERT INTO payments (payment_id, order_id, provider, status, auth_id, amount, currency, idempotency_key, created_at, updated_at)
  SELECT $22, o.order_id, $23, 'authorized', $24, $3, $4, $25, now(), now() FROM o),
x AS (
  INSERT INTO outbox (aggregatetype, aggregateid, type, sequence, payload)
  SELECT 'order', o.order_id, 'order.confirmed', 1, $26::jsonb FROM o)
UPDATE idempotency_keys SET status_code = 201, response = $27::jsonb, completed_at = now() WHERE key = $7`;

export interface OrderPayment {
  provider: string;
  authId: string;
}

export async function insertOrderRows(client: PoolClient, plan: CheckoutPlan, payment: OrderPayment, response: unknown): Promise<void> {
  const p = plan.priced;
  const lines = p.lines;
  await client.query({
    name: 'order_insert',
    text: insertOrderText,
    values: [
      plan.orderId,
      plan.customerKey,
      p.totalMinor,
      p.currency,
      new Date(plan.createdAtMs),
      plan.checkoutId,
      plan.key,
      p.subtotalMinor,
      p.discountMinor,
      p.shippingMinor,
      p.taxMinor,
      p.promoCode,
      JSON.stringify(plan.address),
      JSON.stringify({ snapshot: p, paymentMethod: plan.paymentMethod, lines: plan.lines }),
      p.hash,
      lines.map((l) => l.sku),
      lines.map((l) => l.qty),
      lines.map((l) => l.unitPriceMinor),
      lines.map((l) => l.discountMinor),
      lines.map((l) => l.taxMinor),
      lines.map((l) => l.totalMinor),
      `pay_${plan.checkoutId}`,
      payment.provider,
      payment.authId,
      `${plan.checkoutId}:authorize`,
      JSON.stringify({ orderId: plan.orderId, totalMinor: p.totalMinor, currency: p.currency }),
      JSON.stringify(response),
    ],
  });
}

/** A cart checkout marks its cart checked out in the order transaction; 0 rows means another checkout got there first. */
export async function markCartCheckedOut(client: PoolClient, cartId: string, nowMs: number): Promise<boolean> {
  const r = await client.query({
    name: 'cart_checked_out',
    text: `UPDATE carts SET state = state || jsonb_build_object('status', 'checked_out', 'updatedAtMs', $2::bigint), updated_at = $3
           WHERE cart_id = $1 AND state->>'status' = 'open'`,
    values: [cartId, nowMs, new Date(nowMs)],
  });
  return r.rowCount === 1;
}
