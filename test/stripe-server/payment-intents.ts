import type Stripe from 'stripe';
import { invalidRequest, resourceMissing, returnUrlRequired, unexpectedState } from './errors.js';
import { readParams, type ParamReader } from './params.js';
import { completeAuthentication, confirmPaymentIntent, seconds } from './payment-intent-confirm.js';
import { defineRoute, ok, refused, type HandlerContext, type Outcome } from './route.js';
import { testCards } from './test-cards.js';

/**
 * Retrieve, confirm, capture and cancel a PaymentIntent, and the 3-D Secure test helper. The statuses each action
 * accepts are Stripe's (the API reference of each endpoint); any other status is 400 invalid_request_error with
 * code payment_intent_unexpected_state and the PaymentIntent in the error.
 */
export const cancelableStatuses = ['requires_payment_method', 'requires_capture', 'requires_confirmation', 'requires_action', 'processing'] as const;
const confirmableStatuses = ['requires_payment_method', 'requires_confirmation'] as const;
const cancellationReasons = ['duplicate', 'fraudulent', 'requested_by_customer', 'abandoned'] as const;

/** The answer's copy of a PaymentIntent, with `latest_charge` expanded when asked (`expand[]=latest_charge`). */
export function present(ctx: HandlerContext, pi: Stripe.PaymentIntent, expand: readonly string[]): Stripe.PaymentIntent {
  const copy = structuredClone(pi);
  if (expand.includes('latest_charge') && typeof pi.latest_charge === 'string') {
    const charge = ctx.store.charge(pi.latest_charge);
    if (charge !== undefined) copy.latest_charge = structuredClone(charge);
  }
  return copy;
}

/** Runs `act` on the PaymentIntent named in the path, or answers 404 resource_missing (param intent). */
function withIntent(ctx: HandlerContext, id: string, act: (pi: Stripe.PaymentIntent) => Outcome): Outcome {
  const pi = ctx.store.paymentIntent(id);
  return pi === undefined ? refused(resourceMissing('payment_intent', id, 'intent')) : act(pi);
}

interface ById {
  id: string;
  expand: string[];
}

export const retrievePaymentIntent = defineRoute<ById>({
  method: 'GET',
  pattern: /^\/v1\/payment_intents\/([^/]+)$/,
  authenticated: true,
  validate: (params, { path, limits }) => readParams(params, ['expand', 'client_secret'], (r) => ({ id: path[0]!, expand: r.expand(['latest_charge']) }), limits),
  execute: (ctx, input) => withIntent(ctx, input.id, (pi) => ok(present(ctx, pi, input.expand))),
});

interface ConfirmInput extends ById {
  paymentMethod: string | undefined;
  hasReturnUrl: boolean;
  errorOnRequiresAction: boolean;
}

export const confirmPaymentIntentRoute = defineRoute<ConfirmInput>({
  method: 'POST',
  pattern: /^\/v1\/payment_intents\/([^/]+)\/confirm$/,
  authenticated: true,
  validate: (params, { path, limits }) =>
    readParams(
      params,
      ['payment_method', 'return_url', 'error_on_requires_action', 'expand'],
      (r: ParamReader) => {
        const paymentMethod = r.string('payment_method');
        if (paymentMethod !== undefined && !testCards.has(paymentMethod)) r.refuse(resourceMissing('PaymentMethod', paymentMethod, 'payment_method', 400));
        return {
          id: path[0]!,
          paymentMethod,
          hasReturnUrl: r.has('return_url'),
          errorOnRequiresAction: r.boolean('error_on_requires_action') ?? false,
          expand: r.expand(['latest_charge']),
        };
      },
      limits,
    ),
  execute: (ctx, input) =>
    withIntent(ctx, input.id, (pi) => {
      if (!(confirmableStatuses as readonly string[]).includes(pi.status)) return refused(unexpectedState(structuredClone(pi), 'confirmed', confirmableStatuses));
      const pm = input.paymentMethod ?? (typeof pi.payment_method === 'string' ? pi.payment_method : undefined);
      if (pm === undefined) return refused(invalidRequest('You cannot confirm this PaymentIntent because it is missing a payment method.', { code: 'payment_intent_unexpected_state' }));
      const apm = pi.automatic_payment_methods;
      if (apm?.enabled === true && apm.allow_redirects !== 'never' && !input.hasReturnUrl) return refused(returnUrlRequired(), false);
      const confirmation = confirmPaymentIntent(ctx, pi, pm, { errorOnRequiresAction: input.errorOnRequiresAction });
      return { response: confirmation.declined ?? { status: 200, body: present(ctx, pi, input.expand) }, events: confirmation.events };
    }),
});

interface CaptureInput extends ById {
  amountToCapture: number | undefined;
  metadata: Record<string, string>;
}

export const capturePaymentIntent = defineRoute<CaptureInput>({
  method: 'POST',
  pattern: /^\/v1\/payment_intents\/([^/]+)\/capture$/,
  authenticated: true,
  validate: (params, { path, limits }) =>
    readParams(
      params,
      ['amount_to_capture', 'metadata', 'expand'],
      (r) => ({ id: path[0]!, amountToCapture: r.integer('amount_to_capture', 1), metadata: r.metadata(), expand: r.expand(['latest_charge']) }),
      limits,
    ),
  execute: (ctx, input) =>
    withIntent(ctx, input.id, (pi) => {
      if (pi.status !== 'requires_capture') return refused(unexpectedState(structuredClone(pi), 'captured', ['requires_capture']));
      const amount = input.amountToCapture ?? pi.amount_capturable;
      if (amount > pi.amount_capturable) {
        const message = `The amount_to_capture (${amount}) must be less than or equal to the amount_capturable (${pi.amount_capturable}).`;
        return refused(invalidRequest(message, { param: 'amount_to_capture', code: 'amount_too_large' }));
      }
      const charge = ctx.store.charge(pi.latest_charge as string)!;
      charge.captured = true;
      charge.amount_captured = amount;
      pi.status = 'succeeded';
      pi.amount_received = amount;
      pi.amount_capturable = 0;
      Object.assign(pi.metadata, input.metadata);
      return ok(present(ctx, pi, input.expand), [{ type: 'payment_intent.succeeded', object: pi }]);
    }),
});

interface CancelInput extends ById {
  reason: Stripe.PaymentIntent.CancellationReason | null;
}

export const cancelPaymentIntent = defineRoute<CancelInput>({
  method: 'POST',
  pattern: /^\/v1\/payment_intents\/([^/]+)\/cancel$/,
  authenticated: true,
  validate: (params, { path, limits }) =>
    readParams(params, ['cancellation_reason', 'expand'], (r) => ({ id: path[0]!, reason: r.oneOf('cancellation_reason', cancellationReasons) ?? null, expand: r.expand(['latest_charge']) }), limits),
  execute: (ctx, input) =>
    withIntent(ctx, input.id, (pi) => {
      if (!(cancelableStatuses as readonly string[]).includes(pi.status)) return refused(unexpectedState(structuredClone(pi), 'canceled', cancelableStatuses));
      // Canceling releases an uncaptured authorization: Stripe shows its charge as refunded in full.
      const charge = typeof pi.latest_charge === 'string' ? ctx.store.charge(pi.latest_charge) : undefined;
      if (charge !== undefined && charge.status === 'succeeded' && !charge.captured) {
        charge.refunded = true;
        charge.amount_refunded = charge.amount;
      }
      pi.status = 'canceled';
      pi.canceled_at = seconds(ctx.nowMs);
      pi.cancellation_reason = input.reason;
      pi.amount_capturable = 0;
      pi.next_action = null;
      return ok(present(ctx, pi, input.expand), [{ type: 'payment_intent.canceled', object: pi }]);
    }),
});

interface AuthenticateInput {
  id: string;
  outcome: 'succeed' | 'fail';
}

/**
 * POST /test_helpers/boxoffice/payment_intents/:id/authenticate with outcome=succeed|fail: the customer answers
 * the issuer's 3-D Secure challenge. Not a Stripe endpoint; it needs no API key because it stands for a page the
 * customer's browser opens (a browser test or another process can drive it).
 */
export const authenticatePaymentIntent = defineRoute<AuthenticateInput>({
  method: 'POST',
  pattern: /^\/test_helpers\/boxoffice\/payment_intents\/([^/]+)\/authenticate$/,
  authenticated: false,
  validate: (params, { path, limits }) =>
    readParams(params, ['outcome'], (r: ParamReader) => {
      const outcome = r.oneOf('outcome', ['succeed', 'fail'] as const);
      if (outcome === undefined) r.refuse(invalidRequest('Missing required param: outcome.', { param: 'outcome', code: 'parameter_missing' }));
      return { id: path[0]!, outcome };
    }, limits),
  execute: (ctx, input) => authenticate(ctx, input.id, input.outcome),
});

export function authenticate(ctx: HandlerContext, id: string, outcome: 'succeed' | 'fail'): Outcome {
  return withIntent(ctx, id, (pi) => {
    if (pi.status !== 'requires_action') return refused(unexpectedState(structuredClone(pi), 'authenticated', ['requires_action']));
    const confirmation = completeAuthentication(ctx, pi, outcome);
    return ok(present(ctx, pi, []), confirmation.events);
  });
}
