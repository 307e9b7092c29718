import { createHash } from 'node:crypto';
import { idempotencyKeyPattern, limits } from '../../config/limits.js';
import { mergeLines, type CheckoutRequest } from '../../domain/checkout.js';
import { errorResponse } from '../error-response.js';
import type { HttpRequest, HttpResponse } from '../request.js';
import { checkoutBody, parseBody, quantityProblem } from '../validation.js';

export type ParsedCheckout = { ok: true; key: string; fingerprint: string; request: CheckoutRequest } | { ok: false; response: HttpResponse };

/**
 * The checks of POST /api/checkout before anything runs, in order: Idempotency-Key, the bound on checkouts in
 * flight (429 OVERLOADED), body, quantity limits; then the request fingerprint. Shared with the bench contenders, so every contender
 * refuses the same requests with the same codes and fingerprints them the same way.
 */
export function parseCheckout(req: HttpRequest, checkoutsInFlight: number, checkoutsInFlightMax: number = limits.checkoutsInFlightMax): ParsedCheckout {
  const key = req.headers['idempotency-key'];
  if (key === undefined || key.length === 0) return { ok: false, response: errorResponse('IDEMPOTENCY_KEY_MISSING') };
  if (key.length > limits.idempotencyKeyLengthMax || !idempotencyKeyPattern.test(key)) {
    return { ok: false, response: errorResponse('IDEMPOTENCY_KEY_INVALID', { maxLength: limits.idempotencyKeyLengthMax }) };
  }
  // Shedding comes before the body is parsed: under overload a refusal must cost as little as possible.
  if (checkoutsInFlight >= checkoutsInFlightMax) {
    return { ok: false, response: errorResponse('OVERLOADED', { retryAfterS: 1 }, { 'retry-after': '1' }) };
  }
  const body = parseBody(checkoutBody, req.body);
  if (!body.ok) return body;
  const b = body.value;
  if (b.items) {
    // Lines count as sent; quantities count per SKU, as the saga merges them, so splitting a SKU over several
    // lines cannot get past the line quantity limit (and the answer does not depend on the stock left).
    const problem = quantityProblem(b.items) ?? quantityProblem(mergeLines(b.items));
    if (problem) return { ok: false, response: problem };
  }
  // The fingerprint covers the whole validated request, so "same key, different body" is exact. The parsed body is
  // already canonical: zod builds it in schema order (key order of the request does not matter), unknown keys are
  // refused and defaults are filled in, so an omitted default and the same value sent explicitly are the same request.
  const fingerprint = createHash('sha256').update(JSON.stringify(b)).digest('base64url');
  const request: CheckoutRequest = {
    cartId: b.cartId ?? null,
    items: b.items ?? null,
    paymentMethod: b.paymentMethod,
    address: { ...b.address, region: b.address.region ?? null },
    shippingMethod: b.shippingMethod,
    customerId: b.customerId ?? null,
    promoCode: b.promoCode ?? null,
  };
  return { ok: true, key, fingerprint, request };
}
