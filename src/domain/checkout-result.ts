import { errorBody, errorStatus, type ErrorCode } from '../errors.js';
import type { CheckoutPlan } from './checkout.js';
import type { PricedCart } from './pricing.js';

/**
 * What a checkout ends with, as a value: the saga and the key table decide in these terms, and the HTTP answer (a
 * status and a body) is rendered from them in one function, `renderCheckoutResult`. The rendered answer is also
 * what the idempotency record stores, so a replay sends the same status and the same JSON value as the first answer
 * (read back from the database, whose jsonb column keeps values but not key order, its keys may come in another
 * order).
 */

/**
 * How long a checkout's answer is kept for replays of its key:
 * - durable: stored in idempotency_keys (anything after a side effect: a hold, a charge, an order);
 * - memory: replayed from this node's memory only (rejected before any side effect, e.g. sold out from memory);
 * - forget: the key is free again (the request failed in a way that charged nothing and should be retried).
 */
export type Retention = 'durable' | 'memory' | 'forget';

export interface CheckoutTotals {
  currency: string;
  subtotalMinor: number;
  discountMinor: number;
  shippingMinor: number;
  taxMinor: number;
  totalMinor: number;
}

/** A checkout rejected with a catalogue code: the checkout's own outcome, kept for its key per `retention`. */
export interface CheckoutRejection {
  t: 'rejected';
  code: ErrorCode;
  retention: Retention;
  details?: Record<string, unknown>;
  /** Replaces the catalogue's message (a provider's decline message). */
  message?: string;
}

/** The status and body a client is sent (and an idempotency record stores). */
export interface CheckoutResponse {
  statusCode: number;
  body: unknown;
}

/** What the storefront does for a payment that waits for the customer (3-D Secure, with Stripe.js). */
export interface PendingNextAction {
  type: 'use_stripe_sdk';
  clientSecret: string;
}

/** What a checkout saga ends with. */
export type CheckoutOutcome =
  | { t: 'confirmed'; orderId: string; totals: CheckoutTotals }
  /**
   * The order is stored as pending: the payment outcome is unknown (the sweeper asks again), or it waits for the
   * customer (`nextAction`: 3-D Secure), and a webhook or the sweeper confirms or fails it.
   */
  | { t: 'pending'; orderId: string; nextAction?: PendingNextAction }
  | CheckoutRejection
  /** An answer stored earlier (by this run or an earlier one), replayed exactly as it was stored. */
  | { t: 'recorded'; response: CheckoutResponse };

/**
 * Every answer to a checkout request: a saga's outcome, or a refusal that is no checkout's outcome (the key is in
 * use or was used with another body, the node or partition cannot take it now) and changes nothing for the key.
 */
export type CheckoutResult = CheckoutOutcome | { t: 'refused'; code: ErrorCode; details?: Record<string, unknown> };

export function totalsOf(p: PricedCart): CheckoutTotals {
  return {
    currency: p.currency,
    subtotalMinor: p.subtotalMinor,
    discountMinor: p.discountMinor,
    shippingMinor: p.shippingMinor,
    taxMinor: p.taxMinor,
    totalMinor: p.totalMinor,
  };
}

export const confirmed = (plan: CheckoutPlan): CheckoutOutcome => ({ t: 'confirmed', orderId: plan.orderId, totals: totalsOf(plan.priced) });
export const pending = (plan: CheckoutPlan, nextAction?: PendingNextAction): CheckoutOutcome =>
  nextAction === undefined ? { t: 'pending', orderId: plan.orderId } : { t: 'pending', orderId: plan.orderId, nextAction };

export function rejected(code: ErrorCode, retention: Retention, details?: Record<string, unknown>, message?: string): CheckoutRejection {
  const r: CheckoutRejection = { t: 'rejected', code, retention };
  if (details !== undefined) r.details = details;
  if (message !== undefined) r.message = message;
  return r;
}

export function refused(code: ErrorCode, details?: Record<string, unknown>): CheckoutResult {
  return details === undefined ? { t: 'refused', code } : { t: 'refused', code, details };
}

/** How long the answer of `outcome` is kept for its key. */
export function retentionOf(outcome: CheckoutOutcome): Retention {
  return outcome.t === 'rejected' ? outcome.retention : 'durable';
}

/** The status an order written by the saga is answered with: confirmed 201, pending 202. */
const orderStatusCodes = { confirmed: 201, pending: 202 } as const;

/** The HTTP status of an answer, without rendering its body (metrics count answers by it). */
export function checkoutStatusOf(r: CheckoutResult): number {
  switch (r.t) {
    case 'confirmed':
    case 'pending':
      return orderStatusCodes[r.t];
    case 'rejected':
    case 'refused':
      return errorStatus(r.code);
    case 'recorded':
      return r.response.statusCode;
  }
}

/** The one rendering of a checkout answer as a status and a body. */
export function renderCheckoutResult(r: CheckoutResult): CheckoutResponse {
  switch (r.t) {
    case 'confirmed':
      return { statusCode: orderStatusCodes.confirmed, body: { orderId: r.orderId, status: 'confirmed', totals: r.totals } };
    case 'pending':
      return { statusCode: orderStatusCodes.pending, body: r.nextAction === undefined ? { orderId: r.orderId, status: 'pending' } : { orderId: r.orderId, status: 'pending', nextAction: r.nextAction } };
    case 'rejected':
      return { statusCode: errorStatus(r.code), body: errorBody(r.code, r.details, r.message) };
    case 'refused':
      return { statusCode: errorStatus(r.code), body: errorBody(r.code, r.details) };
    case 'recorded':
      return r.response;
  }
}

/**
 * What a stored answer says about its checkout's order: written confirmed, written pending, or none (a rejection).
 * The one place that reads a recorded status code back.
 */
export function recordedOrderStatus(response: CheckoutResponse): 'confirmed' | 'pending' | null {
  if (response.statusCode === orderStatusCodes.confirmed) return 'confirmed';
  if (response.statusCode === orderStatusCodes.pending) return 'pending';
  return null;
}

/**
 * A rejection journaled by an earlier version as its rendered answer (`{ response, retention }`), read back as the
 * rejection it was rendered from: `errorBody` put the code, the message and the details side by side.
 */
export function rejectionFromResponse(response: CheckoutResponse, retention: Retention): CheckoutRejection {
  const { code, message, ...details } = (response.body as { error: { code: ErrorCode; message: string } & Record<string, unknown> }).error;
  return rejected(code, retention, Object.keys(details).length > 0 ? details : undefined, message);
}
