import { limits } from './config/limits.js';

/**
 * The error catalogue: every error code boxoffice returns, its HTTP status and default message.
 * Codes are permanent: deprecate, never rename or reuse. test/unit/errors.test.ts checks every code is documented
 * in docs/API.md and that each key equals its code.
 */
export const errorCatalogue = {
  VALIDATION_FAILED: { status: 400, message: 'The request is invalid.' },
  MALFORMED_JSON: { status: 400, message: 'The request body is not valid JSON.' },
  WEBHOOK_SIGNATURE_INVALID: { status: 400, message: 'The webhook signature is missing or does not match; nothing was changed.' },
  IDEMPOTENCY_KEY_MISSING: { status: 400, message: 'The Idempotency-Key header is required.' },
  IDEMPOTENCY_KEY_INVALID: { status: 400, message: `The Idempotency-Key header must be 1 to ${limits.idempotencyKeyLengthMax} printable characters.` },
  UNAUTHORIZED: { status: 401, message: 'This route needs Authorization: Bearer <ADMIN_TOKEN>.' },
  PAYMENT_DECLINED: { status: 402, message: 'The payment was declined.' },
  FORBIDDEN: { status: 403, message: 'The admin token is wrong.' },
  ADMISSION_REQUIRED: { status: 403, message: 'This SKU is sold in a drop: send the Admission-Token you got when admitted from its queue.' },
  ROUTE_NOT_FOUND: { status: 404, message: 'No such route.' },
  PRODUCT_NOT_FOUND: { status: 404, message: 'No product has this SKU.' },
  CART_NOT_FOUND: { status: 404, message: 'No cart has this id.' },
  ORDER_NOT_FOUND: { status: 404, message: 'No order has this id.' },
  PROMO_NOT_FOUND: { status: 404, message: 'No promotion has this code.' },
  PARTITION_NOT_FOUND: { status: 404, message: 'No partition has this number.' },
  NODE_NOT_FOUND: { status: 404, message: 'No live node has this id.' },
  WEBHOOK_ENDPOINT_NOT_FOUND: { status: 404, message: 'No webhook endpoint has this id.' },
  DROP_NOT_FOUND: { status: 404, message: 'This SKU is not a drop.' },
  TICKET_NOT_FOUND: { status: 404, message: 'No ticket of this drop has this id.' },
  METHOD_NOT_ALLOWED: { status: 405, message: 'This route does not take this method.' },
  OUT_OF_STOCK: { status: 409, message: 'Not enough stock for one or more SKUs.' },
  IDEMPOTENCY_KEY_IN_USE: { status: 409, message: 'A request with this Idempotency-Key is still running.' },
  PROMOTION_EXISTS: { status: 409, message: 'A promotion with this code already exists.' },
  ON_HAND_BELOW_COMMITTED: { status: 409, message: 'On-hand stock cannot go below what is held and sold.' },
  ORDER_STATE_CONFLICT: { status: 409, message: 'The order is not in a state that allows this.' },
  REFUND_EXCEEDS_CAPTURED: { status: 409, message: 'The refund is larger than what is left of the captured amount.' },
  HOLD_EXPIRED: { status: 409, message: 'The stock hold expired before payment completed; nothing was charged.' },
  CLUSTER_DISABLED: { status: 409, message: 'This node runs alone (no REDIS_URL); cluster operations need a cluster.' },
  WEBHOOK_ENDPOINT_LIMIT_REACHED: { status: 409, message: 'Too many webhook endpoints are registered; delete one first.' },
  CART_CHECKED_OUT: { status: 409, message: 'This cart was already checked out.' },
  PURCHASE_LIMIT_REACHED: { status: 409, message: 'This customer already bought as many units of this drop as it allows.' },
  DROP_QUEUE_FULL: { status: 409, message: 'The queue of this drop is full.' },
  DROP_STARTED: { status: 409, message: 'This drop has started; its start time can no longer change.' },
  DROPS_LIMIT_REACHED: { status: 409, message: 'There are as many drops as allowed.' },
  CART_EXPIRED: { status: 410, message: 'This cart expired.' },
  BODY_TOO_LARGE: { status: 413, message: 'The request body is too large.' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'Send Content-Type: application/json.' },
  IDEMPOTENCY_KEY_REUSED: { status: 422, message: 'This Idempotency-Key was used with a different request.' },
  CURRENCY_MISMATCH: { status: 422, message: 'A cart holds one currency.' },
  CART_LINES_LIMIT_EXCEEDED: { status: 422, message: 'The cart has too many lines.' },
  QUANTITY_LIMIT_EXCEEDED: { status: 422, message: 'The quantity on a line is too large.' },
  CART_EMPTY: { status: 422, message: 'The cart is empty.' },
  PROMO_NOT_ACTIVE: { status: 422, message: 'The promotion is not valid at this time.' },
  PROMO_MIN_SUBTOTAL_NOT_MET: { status: 422, message: 'The cart subtotal is below the promotion minimum.' },
  PROMO_USAGE_LIMIT_REACHED: { status: 422, message: 'The promotion has been used up.' },
  PROMO_CURRENCY_MISMATCH: { status: 422, message: 'The promotion is in another currency.' },
  SHIPPING_DESTINATION_UNSUPPORTED: { status: 422, message: 'We do not ship to this destination.' },
  OVERLOADED: { status: 429, message: 'Too many requests in flight; retry after the given delay.' },
  INTERNAL: { status: 500, message: 'Internal error.' },
  PAYMENT_PROVIDER_ERROR: { status: 502, message: 'The payment provider did not complete the request; the order is unchanged, retry later.' },
  NOT_READY: { status: 503, message: 'The node is recovering; retry shortly.' },
  PAYMENT_PROVIDER_UNAVAILABLE: { status: 503, message: 'The payment provider is failing or saturated; nothing was reserved or charged. Retry after the given delay.' },
  PARTITION_UNAVAILABLE: { status: 503, message: 'The owner of this partition is unknown, moving or unreachable; retry shortly.' },
  COORDINATOR_UNAVAILABLE: { status: 503, message: 'No node holds the coordinator lease right now; retry shortly.' },
  MOVE_FAILED: { status: 503, message: 'The partition move did not complete; the partition stays with a single owner. Retry.' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof errorCatalogue;

/** The JSON error body every failed request gets: `{ error: { code, message, ...details } }`. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string; [detail: string]: unknown };
}

/**
 * Details never replace `code` or `message`: a detail named like them (a promo's `code`) would otherwise hide the
 * catalogue code a client switches on. Name such details after what they are (`promoCode`).
 */
export function errorBody(code: ErrorCode, details?: Record<string, unknown>, message?: string): ErrorBody {
  const error: ErrorBody['error'] = { code, message: message ?? errorCatalogue[code].message };
  if (details === undefined) return { error };
  return { error: Object.assign(error, details, { code: error.code, message: error.message }) };
}

export function errorStatus(code: ErrorCode): number {
  return errorCatalogue[code].status;
}

/** An expected failure carried as a value through domain and actor code (STYLE.md habit 3). */
export interface Failure {
  ok: false;
  code: ErrorCode;
  details?: Record<string, unknown>;
}

export function fail(code: ErrorCode, details?: Record<string, unknown>): Failure {
  return details === undefined ? { ok: false, code } : { ok: false, code, details };
}
