import type { CheckoutReply } from '../../actors/checkout-actor.js';
import { renderCheckoutResult } from '../../domain/checkout-result.js';
import type { Handler, HttpResponse } from '../request.js';
import type { NodeServices } from '../services.js';
import { parseCheckout } from './checkout-request.js';

/**
 * POST /api/checkout, header Idempotency-Key. 201 confirmed, 202 pending, 409 OUT_OF_STOCK, 402 PAYMENT_DECLINED,
 * 422 IDEMPOTENCY_KEY_REUSED, 409 IDEMPOTENCY_KEY_IN_USE, a replay with `Idempotent-Replayed: true`, and 429
 * OVERLOADED with Retry-After when the node has too many checkouts in flight; every 429 and 503 carries Retry-After.
 */
export const postCheckout = (s: NodeServices): Handler => (req) => {
  const parsed = parseCheckout(req, s.checkout.inFlight(), s.checkout.inFlightMax);
  if (!parsed.ok) return parsed.response;
  const reply = s.checkout.submit(parsed.key, parsed.fingerprint, parsed.request);
  // Answers from memory (a sold-out storm) are written without a promise in between.
  return reply instanceof Promise ? reply.then((r) => checkoutResponse(parsed.key, r)) : checkoutResponse(parsed.key, reply);
};

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
