import { createHash } from 'node:crypto';
import { limits } from '../../config/limits.js';
import type { Handler } from '../request.js';
import { errorResponse } from '../error-response.js';
import type { NodeServices } from '../services.js';
import { checkoutBody, parseBody, quantityProblem } from '../validation.js';

/** Idempotency keys are 1-255 printable ASCII characters (Stripe's rule). */
const idempotencyKeyPattern = /^[\x20-\x7e]{1,255}$/;

/**
 * POST /api/checkout, header Idempotency-Key. 201 confirmed, 202 pending, 409 OUT_OF_STOCK, 402 PAYMENT_DECLINED,
 * 422 IDEMPOTENCY_KEY_REUSED, 409 IDEMPOTENCY_KEY_IN_USE, a replay with `Idempotent-Replayed: true`, and 429
 * OVERLOADED with Retry-After when the node has too many checkouts in flight.
 */
export const postCheckout = (s: NodeServices): Handler => async (req) => {
  const key = req.headers['idempotency-key'];
  if (key === undefined || key.length === 0) return errorResponse('IDEMPOTENCY_KEY_MISSING');
  if (key.length > limits.idempotencyKeyLengthMax || !idempotencyKeyPattern.test(key)) {
    return errorResponse('IDEMPOTENCY_KEY_INVALID', { maxLength: limits.idempotencyKeyLengthMax });
  }
  const body = parseBody(checkoutBody, req.body);
  if (!body.ok) return body.response;
  const b = body.value;
  if (b.items) {
    // Lines count as sent; quantities count per SKU, as the saga merges them, so splitting a SKU over several
    // lines cannot get past the line quantity limit (and the answer does not depend on the stock left).
    const problem = quantityProblem(b.items) ?? quantityProblem(qtyPerSku(b.items));
    if (problem) return problem;
  }
  if (s.checkout.inFlight() >= limits.checkoutsInFlightMax) {
    return errorResponse('OVERLOADED', { retryAfterS: 1 }, { 'retry-after': '1' });
  }
  // The fingerprint covers the whole validated request, so "same key, different body" is exact. The parsed body is
  // already canonical: zod builds it in schema order (key order of the request does not matter), unknown keys are
  // refused and defaults are filled in, so an omitted default and the same value sent explicitly are the same request.
  const fingerprint = createHash('sha256').update(JSON.stringify(b)).digest('base64url');
  const reply = await s.checkout.submit(key, fingerprint, {
    cartId: b.cartId ?? null,
    items: b.items ?? null,
    paymentMethod: b.paymentMethod,
    address: { ...b.address, region: b.address.region ?? null },
    shippingMethod: b.shippingMethod,
    customerId: b.customerId ?? null,
    promoCode: b.promoCode ?? null,
  });
  const headers: Record<string, string> = { 'idempotency-key': key };
  if (reply.replayed) headers['idempotent-replayed'] = 'true';
  if (reply.statusCode === 429) headers['retry-after'] = '1';
  return { status: reply.statusCode, body: reply.body, headers };
};

function qtyPerSku(items: { sku: string; qty: number }[]): { sku: string; qty: number }[] {
  const merged = new Map<string, number>();
  for (const i of items) merged.set(i.sku, (merged.get(i.sku) ?? 0) + i.qty);
  return [...merged].map(([sku, qty]) => ({ sku, qty }));
}
