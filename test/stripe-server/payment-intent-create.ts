import type Stripe from 'stripe';
import { invalidRequest, resourceMissing, returnUrlRequired } from './errors.js';
import type { StripeServerLimits } from './limits.js';
import { paymentIntentObject } from './objects.js';
import { readParams, type ParamReader } from './params.js';
import { confirmPaymentIntent, seconds } from './payment-intent-confirm.js';
import { present } from './payment-intents.js';
import { defineRoute, refused, type EventDraft } from './route.js';
import { testCards } from './test-cards.js';

/**
 * POST /v1/payment_intents, validated as Stripe does for a card payment:
 * - amount: required integer, 1 … amountMinorMax; currency: required, three letters (stored lower-case);
 * - payment_method: a known test PaymentMethod (else 400 resource_missing, param payment_method, and nothing is
 *   created), required when confirm=true;
 * - automatic_payment_methods and a list of payment method types exclude each other (parameters_exclusive); with
 *   neither, automatic payment methods are on, as in every API version since 2023-08-16. Confirming with
 *   automatic payment methods that allow redirects needs a return_url: set allow_redirects=never, or list 'card';
 * - the list is `payment_method_types` up to API version 2026-09-30.endive, which removed it from PaymentIntent
 *   create and confirm in favour of `allowed_payment_method_types` (stripe-node 23.0.0 CHANGELOG: "Remove support
 *   for payment_method_types on … PaymentIntentCreateParams", the release that pinned 2026-09-30.endive). So a
 *   request carrying Stripe-Version 2026-09-30 or later that sends payment_method_types is refused as an unknown
 *   parameter, as Stripe refuses a parameter its version does not have; allowed_payment_method_types is accepted
 *   in every version (leniently: older versions did not have it);
 * - capture_method: automatic, automatic_async or manual (default automatic_async); metadata within Stripe's limits.
 */
const allowed = [
  'amount',
  'currency',
  'payment_method',
  'confirm',
  'capture_method',
  'automatic_payment_methods',
  'payment_method_types',
  'allowed_payment_method_types',
  'metadata',
  'description',
  'return_url',
  'error_on_requires_action',
  'expand',
] as const;

const captureMethods = ['automatic', 'automatic_async', 'manual'] as const;
/** The first API version without payment_method_types on PaymentIntent create (see above); dates compare as text. */
export const paymentMethodTypesRemovedIn = '2026-09-30';

interface CreateInput {
  amount: number;
  currency: string;
  paymentMethod: string | null;
  confirm: boolean;
  captureMethod: Stripe.PaymentIntent.CaptureMethod;
  automaticPaymentMethods: Stripe.PaymentIntent.AutomaticPaymentMethods | null;
  allowedPaymentMethodTypes: string[] | null;
  metadata: Record<string, string>;
  description: string | null;
  errorOnRequiresAction: boolean;
  expand: string[];
}

export const createPaymentIntent = defineRoute<CreateInput>({
  method: 'POST',
  pattern: /^\/v1\/payment_intents$/,
  authenticated: true,
  validate: (params, { limits, apiVersion }) => {
    const removed = apiVersion !== null && apiVersion.slice(0, 10) >= paymentMethodTypesRemovedIn;
    return readParams(params, removed ? allowed.filter((p) => p !== 'payment_method_types') : allowed, (r) => readCreate(r, limits), limits);
  },
  execute(ctx, input) {
    if (ctx.store.paymentIntentCount() >= ctx.limits.paymentIntentsMax) {
      const message = `The Stripe test server holds at most ${ctx.limits.paymentIntentsMax} PaymentIntents (limits.paymentIntentsMax).`;
      return refused(invalidRequest(message, { code: 'test_server_capacity' }), false);
    }
    const id = ctx.ids.id('pi');
    const pi = paymentIntentObject({
      id,
      clientSecret: ctx.ids.clientSecret(id),
      createdSec: seconds(ctx.nowMs),
      amount: input.amount,
      currency: input.currency,
      captureMethod: input.captureMethod,
      automaticPaymentMethods: input.automaticPaymentMethods,
      allowedPaymentMethodTypes: input.allowedPaymentMethodTypes,
      metadata: input.metadata,
      description: input.description,
      paymentMethod: input.paymentMethod,
    });
    ctx.store.addPaymentIntent(pi, ctx.nowMs);
    const events: EventDraft[] = [{ type: 'payment_intent.created', object: structuredClone(pi) }];
    if (!input.confirm || input.paymentMethod === null) return { response: { status: 200, body: present(ctx, pi, input.expand) }, events };
    const confirmation = confirmPaymentIntent(ctx, pi, input.paymentMethod, { errorOnRequiresAction: input.errorOnRequiresAction });
    events.push(...confirmation.events);
    return { response: confirmation.declined ?? { status: 200, body: present(ctx, pi, input.expand) }, events };
  },
});

function readCreate(r: ParamReader, limits: StripeServerLimits): CreateInput {
  const amount = r.requiredInteger('amount', 1);
  if (amount > limits.amountMinorMax) {
    r.refuse(invalidRequest(`Amount must be no more than ${limits.amountMinorMax} in minor units.`, { param: 'amount', code: 'amount_too_large' }));
  }
  const currency = r.requiredString('currency');
  if (!/^[A-Za-z]{3}$/.test(currency)) r.refuse(invalidRequest(`Invalid currency: ${currency}.`, { param: 'currency' }));
  const paymentMethod = r.string('payment_method') ?? null;
  if (paymentMethod !== null && !testCards.has(paymentMethod)) r.refuse(resourceMissing('PaymentMethod', paymentMethod, 'payment_method', 400));
  const confirm = r.boolean('confirm') ?? false;
  if (confirm && paymentMethod === null) {
    r.refuse(invalidRequest('You cannot confirm this PaymentIntent because it is missing a payment method.', { param: 'payment_method', code: 'parameter_missing' }));
  }
  const { automaticPaymentMethods, allowedPaymentMethodTypes } = readPaymentMethodChoice(r);
  if (confirm && automaticPaymentMethods?.enabled === true && automaticPaymentMethods.allow_redirects !== 'never' && !r.has('return_url')) {
    r.refuse(returnUrlRequired());
  }
  return {
    amount,
    currency: currency.toLowerCase(),
    paymentMethod,
    confirm,
    captureMethod: r.oneOf('capture_method', captureMethods) ?? 'automatic_async',
    automaticPaymentMethods,
    allowedPaymentMethodTypes,
    metadata: r.metadata(),
    description: r.string('description') ?? null,
    errorOnRequiresAction: (r.boolean('error_on_requires_action') ?? false) && confirm,
    expand: r.expand(['latest_charge']),
  };
}

interface PaymentMethodChoice {
  automaticPaymentMethods: Stripe.PaymentIntent.AutomaticPaymentMethods | null;
  allowedPaymentMethodTypes: string[] | null;
}

/** automatic_payment_methods, a list of types, or neither (then automatic payment methods are on by default). */
function readPaymentMethodChoice(r: ParamReader): PaymentMethodChoice {
  const listName = r.has('allowed_payment_method_types') ? 'allowed_payment_method_types' : 'payment_method_types';
  const types = r.stringArray(listName);
  const apm = r.object('automatic_payment_methods', ['enabled', 'allow_redirects']);
  if (types !== undefined && (apm !== undefined || (listName === 'allowed_payment_method_types' && r.has('payment_method_types')))) {
    const message = `You may only specify one of these parameters: automatic_payment_methods, ${listName}.`;
    r.refuse(invalidRequest(message, { param: listName, code: 'parameters_exclusive' }));
  }
  if (types !== undefined) {
    const other = types.find((t) => t !== 'card');
    if (other !== undefined) r.refuse(invalidRequest(`The payment method type "${other}" is not supported by the Stripe test server.`, { param: listName }));
    if (types.length === 0) r.refuse(invalidRequest(`Invalid array`, { param: listName }));
    return { automaticPaymentMethods: null, allowedPaymentMethodTypes: listName === 'allowed_payment_method_types' ? types : null };
  }
  if (apm === undefined) return { automaticPaymentMethods: { enabled: true }, allowedPaymentMethodTypes: null };
  const enabled = apm.boolean('enabled');
  if (enabled === undefined) {
    r.refuse(invalidRequest('Missing required param: automatic_payment_methods[enabled].', { param: 'automatic_payment_methods[enabled]', code: 'parameter_missing' }));
  }
  const allowRedirects = apm.oneOf('allow_redirects', ['always', 'never'] as const);
  return { automaticPaymentMethods: allowRedirects === undefined ? { enabled } : { enabled, allow_redirects: allowRedirects }, allowedPaymentMethodTypes: null };
}
