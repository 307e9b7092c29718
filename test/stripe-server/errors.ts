import type Stripe from 'stripe';

/**
 * Every error the server answers, in one place, shaped like Stripe's `error` object (the spec's `api_errors`:
 * type, code, message, param, decline_code, doc_url, payment_intent, …). The status and type decide which class
 * stripe-node throws (cjs/Error.js generateV1Error): 402 → StripeCardError; 400/404 with type idempotency_error →
 * StripeIdempotencyError, else StripeInvalidRequestError; 401 → StripeAuthenticationError; 429 → StripeRateLimitError;
 * anything else (409, 500, 503) → StripeAPIError.
 */

/** What a handler answers: a status and a JSON body. */
export interface ApiResponse {
  status: number;
  body: unknown;
}

/** The `type` values of the spec's api_errors enum. */
export type StripeErrorType = 'api_error' | 'card_error' | 'idempotency_error' | 'invalid_request_error';

export interface StripeErrorFields {
  type: StripeErrorType;
  message: string;
  code?: string;
  param?: string;
  decline_code?: string;
  charge?: string;
  payment_intent?: Stripe.PaymentIntent;
  payment_method?: Stripe.PaymentMethod;
}

export function stripeError(status: number, fields: StripeErrorFields): ApiResponse {
  const docUrl = fields.code === undefined ? {} : { doc_url: `https://stripe.com/docs/error-codes/${fields.code.replace(/_/g, '-')}` };
  return { status, body: { error: { ...fields, ...docUrl } } };
}

export function invalidRequest(message: string, extra: { param?: string; code?: string; payment_intent?: Stripe.PaymentIntent } = {}): ApiResponse {
  return stripeError(400, { type: 'invalid_request_error', message, ...extra });
}

export function parameterMissing(param: string): ApiResponse {
  return invalidRequest(`Missing required param: ${param}.`, { param, code: 'parameter_missing' });
}

export function parameterUnknown(param: string): ApiResponse {
  return invalidRequest(`Received unknown parameter: ${param}`, { param, code: 'parameter_unknown' });
}

/** 404 for an id that names nothing, e.g. `No such payment_intent: 'pi_123'` with param `intent`. */
export function resourceMissing(objectName: string, id: string, param: string, status = 404): ApiResponse {
  return stripeError(status, { type: 'invalid_request_error', message: `No such ${objectName}: '${id}'`, param, code: 'resource_missing' });
}

/** The PaymentIntent is in a status that does not allow the action; Stripe puts the PaymentIntent in the error. */
export function unexpectedState(pi: Stripe.PaymentIntent, action: string, allowed: readonly string[]): ApiResponse {
  const message =
    `This PaymentIntent could not be ${action} because it has a status of ${pi.status}. ` +
    `Only a PaymentIntent with one of the following statuses may be ${action}: ${allowed.join(', ')}.`;
  return invalidRequest(message, { code: 'payment_intent_unexpected_state', payment_intent: pi });
}

export function unauthorized(message: string): ApiResponse {
  return stripeError(401, { type: 'invalid_request_error', message });
}

export function unknownRoute(method: string, path: string): ApiResponse {
  return stripeError(404, {
    type: 'invalid_request_error',
    message: `Unrecognized request URL (${method}: ${path}). This Stripe test server implements PaymentIntents, refunds and charges only; see test/stripe-server/README.md.`,
  });
}

export function idempotencyMismatch(key: string): ApiResponse {
  return stripeError(400, {
    type: 'idempotency_error',
    message:
      `Keys for idempotent requests can only be used with the same parameters they were first used with. ` +
      `Try using a key other than '${key}' if you meant to execute a different request.`,
  });
}

/** The same key while its first request is still being processed. stripe-node maps 409 to StripeAPIError. */
export function idempotencyKeyInUse(key: string): ApiResponse {
  return stripeError(409, {
    type: 'idempotency_error',
    code: 'idempotency_key_in_use',
    message: `There is currently another in-progress request using this idempotency key ('${key}'); please try again later.`,
  });
}

/** Confirming with automatic payment methods that may redirect, without a return_url (Stripe's wording). */
export function returnUrlRequired(): ApiResponse {
  return stripeError(400, {
    type: 'invalid_request_error',
    message:
      'This PaymentIntent is configured to accept payment methods enabled in your Dashboard. Because some of these payment ' +
      'methods might redirect your customer off of your page, you must provide a `return_url`. If you don\'t want to accept ' +
      'redirect-based payment methods, set `automatic_payment_methods[enabled]` to `true` and ' +
      '`automatic_payment_methods[allow_redirects]` to `never` when creating Setup Intents and Payment Intents.',
  });
}

/** A scripted failure answered before anything happened: 429 rate limit, 500 or 503 API error. */
export function scriptedStatus(status: 429 | 500 | 503): ApiResponse {
  if (status === 429) {
    // The spec's error type enum has no rate_limit_error; Stripe sends code rate_limit and the SDK keys on the status.
    return stripeError(429, {
      type: 'invalid_request_error',
      code: 'rate_limit',
      message: 'Too many requests hit the API too quickly (scripted fault). Nothing was processed; retry with exponential backoff.',
    });
  }
  return stripeError(status, {
    type: 'api_error',
    message: `Stripe test server: scripted ${status} before processing. Nothing was processed.`,
  });
}

/** A handler threw: a bug in the server. The answer is stored under the key, as Stripe stores its 500s. */
export function internalError(err: unknown): ApiResponse {
  return stripeError(500, { type: 'api_error', message: `Stripe test server bug: ${err instanceof Error ? err.message : String(err)}` });
}
