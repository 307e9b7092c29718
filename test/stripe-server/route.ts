import type Stripe from 'stripe';
import type { ApiResponse } from './errors.js';
import type { FormObject } from './form.js';
import type { IdSource } from './ids.js';
import type { StripeServerLimits } from './limits.js';
import type { Validation } from './params.js';
import type { StripeStore } from './store.js';

/**
 * An endpoint is two plain functions of request data (STYLE.md habit 10), testable without sockets:
 * - `validate` reads the parameters and the path alone. A refusal here means the endpoint never began, so it is
 *   answered but never stored under the idempotency key (Stripe's rule: "If incoming parameters fail validation …
 *   we don't save the idempotent result").
 * - `execute` runs against the account without awaiting anything, so its decision and its changes are atomic.
 *   Its answer is stored under the key, errors included (a decline, a wrong state), unless it says `stored: false`
 *   for a refusal that, like validation, changed nothing and depends on nothing a retry could find different.
 */
export interface HandlerContext {
  store: StripeStore;
  ids: IdSource;
  /** The server clock's reading when the endpoint executes (ms). */
  nowMs: number;
  limits: StripeServerLimits;
  /** The server's own base URL, for links such as the 3-D Secure page. */
  baseUrl: string;
  searchLagMs: number;
}

export type WebhookObject = Stripe.PaymentIntent | Stripe.Charge;

/** A state change to announce: the webhook module snapshots `object` as it is now. */
export interface EventDraft {
  type: WebhookEventType;
  object: WebhookObject;
}

/** The events the server announces; `satisfies` holds each name to the SDK's list of Stripe event types. */
export const webhookEventTypes = [
  'payment_intent.created',
  'payment_intent.amount_capturable_updated',
  'payment_intent.requires_action',
  'payment_intent.succeeded',
  'payment_intent.payment_failed',
  'payment_intent.canceled',
  'charge.refunded',
] as const satisfies readonly Stripe.Event.Type[];

export type WebhookEventType = (typeof webhookEventTypes)[number];

export interface Outcome {
  response: ApiResponse;
  events: EventDraft[];
  /** False for a refusal that changed nothing and must not be replayed (see above). Default true. */
  stored?: boolean;
}

/** What validation may know besides the parameters. */
export interface RequestFacts {
  /** The path's capture groups (ids), URL-decoded. */
  path: string[];
  limits: StripeServerLimits;
  /** The request's Stripe-Version header; parameters differ between API versions. */
  apiVersion: string | null;
}

export interface Route<I> {
  method: 'GET' | 'POST';
  /** Matched against the path; capture groups are handed to `validate` as `path`. */
  pattern: RegExp;
  /** False only for the 3-D Secure helper, which stands for the page a customer's browser opens. */
  authenticated: boolean;
  validate(params: FormObject, request: RequestFacts): Validation<I>;
  execute(ctx: HandlerContext, input: I): Outcome;
}

/** Erases the input type for the route table; `validate` and `execute` of one route still agree. */
export function defineRoute<I>(route: Route<I>): Route<unknown> {
  return route as unknown as Route<unknown>;
}

export function ok(body: unknown, events: EventDraft[] = []): Outcome {
  return { response: { status: 200, body }, events };
}

export function refused(response: ApiResponse, stored = true): Outcome {
  return { response, events: [], stored };
}
