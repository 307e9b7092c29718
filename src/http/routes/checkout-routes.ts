import type { CheckoutReply } from '../../actors/checkout-actor.js';
import { renderCheckoutResult } from '../../domain/checkout-result.js';
import type { Handler, HttpResponse } from '../request.js';
import type { NodeServices } from '../services.js';
import { parseCheckout } from './checkout-request.js';
import { z } from 'zod/v4';
import { idempotencyKeyPattern, limits } from '../../config/limits.js';
import type { RouteDoc } from '../openapi/route-doc.js';
import { checkoutConfirmed, checkoutPending } from '../openapi/response-schemas.js';
import { checkoutBody } from '../validation.js';

const checkoutHeaders = {
  'Idempotency-Key': 'The key sent, on every answer the checkout itself decided.',
  'Idempotent-Replayed': '`true` on a stored answer replayed for a retried key.',
};

export const postCheckoutDoc: RouteDoc = {
  summary: 'Check out a cart or a list of lines: hold stock, authorize the payment, write the order',
  description: 'Send exactly one of `cartId` or `items`. A retry with the same Idempotency-Key and body answers the stored response.',
  partitioned: true,
  headers: {
    'Idempotency-Key': { description: 'The checkout key: one key, at most one charge', required: true, schema: z.string().max(limits.idempotencyKeyLengthMax).regex(idempotencyKeyPattern) },
    'Admission-Token': { description: "Buying a drop SKU: the token its queue gave when admitted (comma-separated, one per drop SKU; docs/drops.md)", required: false, schema: z.string() },
  },
  body: checkoutBody,
  responses: {
    201: { description: 'Confirmed: the order is stored', body: checkoutConfirmed, headers: checkoutHeaders },
    202: { description: 'Pending: the payment outcome is unknown or waits for the customer (nextAction)', body: checkoutPending, headers: checkoutHeaders },
  },
  errors: [
    'IDEMPOTENCY_KEY_MISSING', 'IDEMPOTENCY_KEY_INVALID', 'VALIDATION_FAILED', 'PAYMENT_DECLINED', 'PRODUCT_NOT_FOUND',
    'CART_NOT_FOUND', 'PROMO_NOT_FOUND', 'OUT_OF_STOCK', 'IDEMPOTENCY_KEY_IN_USE', 'HOLD_EXPIRED', 'CART_CHECKED_OUT',
    'CART_EXPIRED', 'IDEMPOTENCY_KEY_REUSED', 'CURRENCY_MISMATCH', 'CART_LINES_LIMIT_EXCEEDED', 'QUANTITY_LIMIT_EXCEEDED',
    'CART_EMPTY', 'PROMO_NOT_ACTIVE', 'PROMO_CURRENCY_MISMATCH', 'PROMO_MIN_SUBTOTAL_NOT_MET', 'PROMO_USAGE_LIMIT_REACHED',
    'SHIPPING_DESTINATION_UNSUPPORTED', 'OVERLOADED', 'PAYMENT_PROVIDER_ERROR', 'PAYMENT_PROVIDER_UNAVAILABLE',
    'ADMISSION_REQUIRED', 'PURCHASE_LIMIT_REACHED',
  ],
};

/**
 * POST /api/checkout, header Idempotency-Key. 201 confirmed, 202 pending, 409 OUT_OF_STOCK, 402 PAYMENT_DECLINED,
 * 422 IDEMPOTENCY_KEY_REUSED, 409 IDEMPOTENCY_KEY_IN_USE, a replay with `Idempotent-Replayed: true`, and 429
 * OVERLOADED with Retry-After when the node has too many checkouts in flight; every 429 and 503 carries Retry-After.
 */
export const postCheckout = (s: NodeServices): Handler => (req) => {
  const parsed = parseCheckout(req, s.checkout.inFlight(), s.checkout.inFlightMax);
  if (!parsed.ok) return parsed.response;
  if (req.correlationId !== undefined) parsed.request.correlationId = req.correlationId;
  const reply = s.checkout.submit(parsed.key, parsed.fingerprint, parsed.request);
  // Answers from memory (a sold-out storm) are written without a promise in between.
  return reply instanceof Promise ? reply.then((r) => checkoutResponse(parsed.key, r)) : checkoutResponse(parsed.key, reply);
};

/**
 * Tells the checkout service every answer the checkout route gives on this node (boxoffice_checkouts_total): its own
 * answers and the refusals before it runs (validation, 429 shedding, the drop gate); a handler that throws counts as a
 * 500. Synchronous answers (a sold-out storm) stay synchronous.
 */
export const countedCheckout = (s: NodeServices, inner: Handler): Handler => (req) => {
  // Read per request: routers built for handler tests may have no checkout service at all.
  const checkout = s.checkout as NodeServices['checkout'] | undefined;
  if (checkout?.answered === undefined) return inner(req);
  let res: ReturnType<Handler>;
  try {
    res = inner(req);
  } catch (err) {
    told(checkout, { status: 500 });
    throw err;
  }
  if (!(res instanceof Promise)) return told(checkout, res);
  return res.then(
    (r) => told(checkout, r),
    (err: unknown) => {
      told(checkout, { status: 500 });
      throw err;
    },
  );
};

function told(checkout: NodeServices['checkout'], res: HttpResponse): HttpResponse {
  checkout.answered?.(res);
  return res;
}

/** The one place a checkout's answer becomes an HTTP response. */
function checkoutResponse(key: string, reply: CheckoutReply): HttpResponse {
  const { statusCode, body } = renderCheckoutResult(reply.result);
  const headers: Record<string, string> = { 'idempotency-key': key };
  if (reply.replayed) headers['idempotent-replayed'] = 'true';
  // Every 429 and 503 says when to come back (the provider's circuit knows; otherwise a second).
  if (statusCode === 429 || statusCode === 503) {
    const retryAfterS = reply.result.t === 'rejected' ? reply.result.details?.['retryAfterS'] : undefined;
    headers['retry-after'] = String(typeof retryAfterS === 'number' ? retryAfterS : 1);
  }
  return { status: statusCode, body, headers };
}
