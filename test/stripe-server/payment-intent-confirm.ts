import type Stripe from 'stripe';
import { stripeError, type ApiResponse } from './errors.js';
import { chargeObject, paymentMethodObject } from './objects.js';
import type { EventDraft, HandlerContext } from './route.js';
import { testCards, type TestCard } from './test-cards.js';

/**
 * What confirming a PaymentIntent does with a test card, shared by create-with-confirm, /confirm and the 3-D Secure
 * helper. Every path changes the stored PaymentIntent in place and returns the events to announce and, for a
 * decline, the 402 to answer:
 *
 *   approve       → a charge; manual capture: requires_capture (amount_capturable = amount),
 *                   automatic: succeeded (amount_received = amount)
 *   decline       → a failed charge; requires_payment_method with last_payment_error; 402 card_error carrying
 *                   the PaymentIntent, as Stripe does
 *   authenticate  → requires_action with next_action use_stripe_sdk (or, with error_on_requires_action, a decline
 *                   with code authentication_required)
 */
export interface Confirmation {
  events: EventDraft[];
  /** Set for a decline: the answer instead of the PaymentIntent. */
  declined?: ApiResponse;
}

export interface ConfirmOptions {
  errorOnRequiresAction: boolean;
}

export function confirmPaymentIntent(ctx: HandlerContext, pi: Stripe.PaymentIntent, paymentMethodId: string, opts: ConfirmOptions): Confirmation {
  const card = testCards.get(paymentMethodId);
  // The caller checked the id against the table before anything changed.
  if (card === undefined) throw new Error(`confirmPaymentIntent: unknown payment method ${paymentMethodId}`);
  pi.payment_method = paymentMethodId;
  pi.last_payment_error = null;
  const b = card.behaviour;
  if (b.kind === 'approve') return authorize(ctx, pi, card);
  if (b.kind === 'decline') return decline(ctx, pi, card, { code: b.code, declineCode: b.declineCode, message: b.message });
  if (opts.errorOnRequiresAction) {
    const message = 'Your card was declined. This transaction requires authentication.';
    return decline(ctx, pi, card, { code: 'authentication_required', declineCode: 'authentication_required', message });
  }
  return requireAction(ctx, pi);
}

export function authorize(ctx: HandlerContext, pi: Stripe.PaymentIntent, card: TestCard): Confirmation {
  const manual = pi.capture_method === 'manual';
  const charge = chargeObject({
    id: ctx.ids.id('ch'),
    createdSec: seconds(ctx.nowMs),
    pi,
    paymentMethodId: pi.payment_method as string,
    card,
    state: manual ? 'authorized' : 'captured',
  });
  ctx.store.addCharge(charge);
  pi.latest_charge = charge.id;
  pi.next_action = null;
  if (manual) {
    pi.status = 'requires_capture';
    pi.amount_capturable = pi.amount;
    return { events: [{ type: 'payment_intent.amount_capturable_updated', object: pi }] };
  }
  pi.status = 'succeeded';
  pi.amount_received = pi.amount;
  return { events: [{ type: 'payment_intent.succeeded', object: pi }] };
}

interface Failure {
  code: string;
  declineCode: string;
  message: string;
}

function decline(ctx: HandlerContext, pi: Stripe.PaymentIntent, card: TestCard, failure: Failure): Confirmation {
  const pmId = pi.payment_method as string;
  const charge = chargeObject({ id: ctx.ids.id('ch'), createdSec: seconds(ctx.nowMs), pi, paymentMethodId: pmId, card, state: 'failed', failure });
  ctx.store.addCharge(charge);
  const paymentMethod = paymentMethodObject(pmId, card, seconds(ctx.nowMs));
  const error = {
    type: 'card_error' as const,
    code: failure.code,
    decline_code: failure.declineCode,
    message: failure.message,
    charge: charge.id,
    payment_method: paymentMethod,
  };
  pi.latest_charge = charge.id;
  pi.status = 'requires_payment_method';
  pi.payment_method = null;
  pi.next_action = null;
  pi.last_payment_error = { ...error, doc_url: `https://stripe.com/docs/error-codes/${failure.code.replace(/_/g, '-')}` };
  const declined = stripeError(402, { ...error, payment_intent: structuredClone(pi) });
  return { events: [{ type: 'payment_intent.payment_failed', object: pi }], declined };
}

function requireAction(ctx: HandlerContext, pi: Stripe.PaymentIntent): Confirmation {
  pi.status = 'requires_action';
  pi.next_action = {
    type: 'use_stripe_sdk',
    use_stripe_sdk: {
      type: 'three_d_secure_redirect',
      // Not Stripe.js: the page that stands for the issuer's challenge is this server's test helper.
      stripe_js: `${ctx.baseUrl}/test_helpers/boxoffice/payment_intents/${pi.id}/authenticate`,
      source: ctx.ids.id('src'),
    },
  };
  return { events: [{ type: 'payment_intent.requires_action', object: pi }] };
}

/** The issuer's 3-D Secure challenge answered: on to authorization, or back to requires_payment_method. */
export function completeAuthentication(ctx: HandlerContext, pi: Stripe.PaymentIntent, outcome: 'succeed' | 'fail'): Confirmation {
  const pmId = pi.payment_method as string;
  const card = testCards.get(pmId);
  if (card === undefined) throw new Error(`completeAuthentication: ${pi.id} has no known payment method`);
  if (outcome === 'succeed') return authorize(ctx, pi, card);
  pi.status = 'requires_payment_method';
  pi.next_action = null;
  pi.payment_method = null;
  pi.last_payment_error = {
    type: 'invalid_request_error',
    code: 'payment_intent_authentication_failure',
    doc_url: 'https://stripe.com/docs/error-codes/payment-intent-authentication-failure',
    message:
      'The provided PaymentMethod has failed authentication. You can provide payment_method_data or a new PaymentMethod ' +
      'to attempt to fulfill this PaymentIntent again.',
    payment_method: paymentMethodObject(pmId, card, seconds(ctx.nowMs)),
  };
  return { events: [{ type: 'payment_intent.payment_failed', object: pi }] };
}

export function seconds(ms: number): number {
  return Math.floor(ms / 1000);
}
