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
 * - the list depends on the Stripe-Version the request carries (Stripe's changelog):
 *   `allowed_payment_method_types` from 2026-07-29.dahlia ("Adds the allowed payment method types parameter":
 *   incompatible types are filtered out silently, the result shows in payment_method_types), and
 *   `payment_method_types` until 2026-09-30.endive, which removed it from create and confirm ("Passing
 *   payment_method_types on this API version returns a 400 error with the code
 *   payment_method_types_no_longer_supported"); stripe-node 23 pins 2026-11-18.endive, so through the SDK only
 *   allowed_payment_method_types or automatic_payment_methods work. A request without Stripe-Version (curl) may
 *   use either;
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
/** The API version that added allowed_payment_method_types (see above); Stripe's versions compare as text by date. */
export const allowedPaymentMethodTypesAddedIn = '2026-07-29';
/** The API version that removed payment_method_types from PaymentIntent create and confirm. */
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
    const before = (version: string) => apiVersion !== null && apiVersion.slice(0, 10) < version;
    // Before it existed, allowed_payment_method_types is an unknown parameter like any other.
    const names = before(allowedPaymentMethodTypesAddedIn) ? allowed.filter((p) => p !== 'allowed_payment_method_types') : allowed;
    const legacyTypes = apiVersion === null || before(paymentMethodTypesRemovedIn);
    return readParams(params, names, (r) => readCreate(r, limits, legacyTypes), limits);
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

function readCreate(r: ParamReader, limits: StripeServerLimits, legacyTypes: boolean): CreateInput {
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
  const { automaticPaymentMethods, allowedPaymentMethodTypes } = readPaymentMethodChoice(r, legacyTypes);
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
function readPaymentMethodChoice(r: ParamReader, legacyTypes: boolean): PaymentMethodChoice {
  if (r.has('payment_method_types') && !legacyTypes) {
    const message = 'payment_method_types is no longer supported on this API version. Use allowed_payment_method_types or automatic_payment_methods.';
    r.refuse(invalidRequest(message, { param: 'payment_method_types', code: 'payment_method_types_no_longer_supported' }));
  }
  const allowedTypes = r.stringArray('allowed_payment_method_types');
  const legacy = r.stringArray('payment_method_types');
  const apm = r.object('automatic_payment_methods', ['enabled', 'allow_redirects']);
  const given = [allowedTypes && 'allowed_payment_method_types', legacy && 'payment_method_types', apm && 'automatic_payment_methods'].filter(Boolean);
  if (given.length > 1) {
    r.refuse(invalidRequest(`You may only specify one of these parameters: ${given.join(', ')}.`, { param: given[1] as string, code: 'parameters_exclusive' }));
  }
  if (allowedTypes !== undefined) {
    // Incompatible types are filtered out silently; with no card among them nothing is left to pay with.
    if (!allowedTypes.includes('card')) r.refuse(invalidRequest('None of the allowed_payment_method_types can be used: the Stripe test server takes card only.', { param: 'allowed_payment_method_types' }));
    return { automaticPaymentMethods: null, allowedPaymentMethodTypes: allowedTypes };
  }
  if (legacy !== undefined) {
    const other = legacy.find((t) => t !== 'card');
    if (other !== undefined || legacy.length === 0) {
      r.refuse(invalidRequest(`The payment method type "${other ?? ''}" is invalid or not supported by the Stripe test server (card only).`, { param: 'payment_method_types' }));
    }
    return { automaticPaymentMethods: null, allowedPaymentMethodTypes: null };
  }
  if (apm === undefined) return { automaticPaymentMethods: { enabled: true }, allowedPaymentMethodTypes: null };
  const enabled = apm.boolean('enabled');
  if (enabled === undefined) {
    r.refuse(invalidRequest('Missing required param: automatic_payment_methods[enabled].', { param: 'automatic_payment_methods[enabled]', code: 'parameter_missing' }));
  }
  const allowRedirects = apm.oneOf('allow_redirects', ['always', 'never'] as const);
  return { automaticPaymentMethods: allowRedirects === undefined ? { enabled } : { enabled, allow_redirects: allowRedirects }, allowedPaymentMethodTypes: null };
}
