import type Stripe from 'stripe';
import { invalidRequest, parameterMissing, resourceMissing } from './errors.js';
import { refundObject } from './objects.js';
import { readParams, type ParamReader } from './params.js';
import { seconds } from './payment-intent-confirm.js';
import { defineRoute, ok, refused, type HandlerContext } from './route.js';

/**
 * POST /v1/refunds and reading charges and refunds back.
 *
 * A refund names a PaymentIntent (or its charge) and an amount, by default all that is left. What can be refunded
 * is what was captured minus what was refunded before: nothing left → 400 code charge_already_refunded; more
 * than is left → 400 code amount_too_large, param amount. Each refund succeeds at once and raises the charge's
 * amount_refunded; the charge shows refunded=true once all of it is refunded, and charge.refunded is announced
 * for every refund, partial ones included, as Stripe does.
 */
const refundReasons = ['duplicate', 'fraudulent', 'requested_by_customer'] as const;

interface RefundInput {
  paymentIntent: string | undefined;
  charge: string | undefined;
  amount: number | undefined;
  reason: Stripe.Refund.Reason | null;
  metadata: Record<string, string>;
}

export const createRefund = defineRoute<RefundInput>({
  method: 'POST',
  pattern: /^\/v1\/refunds$/,
  authenticated: true,
  validate: (params, { limits }) =>
    readParams(
      params,
      ['payment_intent', 'charge', 'amount', 'reason', 'metadata', 'expand'],
      (r: ParamReader) => {
        const paymentIntent = r.string('payment_intent');
        const charge = r.string('charge');
        if (paymentIntent === undefined && charge === undefined) r.refuse(parameterMissing('payment_intent'));
        if (paymentIntent !== undefined && charge !== undefined) {
          r.refuse(invalidRequest('You may only specify one of these parameters: charge, payment_intent.', { param: 'charge', code: 'parameters_exclusive' }));
        }
        r.expand([]);
        return { paymentIntent, charge, amount: r.integer('amount', 1), reason: r.oneOf('reason', refundReasons) ?? null, metadata: r.metadata() };
      },
      limits,
    ),
  execute(ctx, input) {
    const found = refundableCharge(ctx, input);
    if ('refusal' in found) return refused(found.refusal);
    const charge = found.charge;
    const left = charge.amount_captured - charge.amount_refunded;
    if (left <= 0) return refused(invalidRequest(`Charge ${charge.id} has already been refunded.`, { code: 'charge_already_refunded' }));
    const amount = input.amount ?? left;
    if (amount > left) {
      const message = `Refund amount (${amount} ${charge.currency}) is greater than unrefunded amount on charge (${left} ${charge.currency})`;
      return refused(invalidRequest(message, { param: 'amount', code: 'amount_too_large' }));
    }
    const refund = refundObject({ id: ctx.ids.id('re'), createdSec: seconds(ctx.nowMs), charge, amount, reason: input.reason, metadata: input.metadata });
    ctx.store.addRefund(refund);
    charge.amount_refunded += amount;
    charge.refunded = charge.amount_refunded === charge.amount_captured;
    return ok(structuredClone(refund), [{ type: 'charge.refunded', object: charge }]);
  },
});

function refundableCharge(ctx: HandlerContext, input: RefundInput): { charge: Stripe.Charge } | { refusal: ReturnType<typeof invalidRequest> } {
  if (input.charge !== undefined) {
    const charge = ctx.store.charge(input.charge);
    if (charge === undefined) return { refusal: resourceMissing('charge', input.charge, 'charge', 400) };
    if (!charge.captured) return { refusal: invalidRequest(`Charge ${charge.id} has not been captured; cancel its PaymentIntent instead.`, { param: 'charge', code: 'charge_not_refundable' }) };
    return { charge };
  }
  const id = input.paymentIntent!;
  const pi = ctx.store.paymentIntent(id);
  if (pi === undefined) return { refusal: resourceMissing('payment_intent', id, 'payment_intent', 400) };
  const charge = pi.status === 'succeeded' && typeof pi.latest_charge === 'string' ? ctx.store.charge(pi.latest_charge) : undefined;
  if (charge === undefined) {
    const message = `This PaymentIntent (${id}) does not have a successful charge to refund.`;
    return { refusal: invalidRequest(message, { param: 'payment_intent', code: 'payment_intent_unexpected_state' }) };
  }
  return { charge };
}

export const retrieveCharge = defineRoute<{ id: string; expand: string[] }>({
  method: 'GET',
  pattern: /^\/v1\/charges\/([^/]+)$/,
  authenticated: true,
  validate: (params, { path, limits }) => readParams(params, ['expand'], (r: ParamReader) => ({ id: path[0]!, expand: r.expand([]) }), limits),
  execute(ctx, input) {
    const charge = ctx.store.charge(input.id);
    return charge === undefined ? refused(resourceMissing('charge', input.id, 'id')) : ok(structuredClone(charge));
  },
});

export const retrieveRefund = defineRoute<{ id: string; expand: string[] }>({
  method: 'GET',
  pattern: /^\/v1\/refunds\/([^/]+)$/,
  authenticated: true,
  validate: (params, { path, limits }) => readParams(params, ['expand'], (r: ParamReader) => ({ id: path[0]!, expand: r.expand([]) }), limits),
  execute(ctx, input) {
    const refund = ctx.store.refund(input.id);
    return refund === undefined ? refused(resourceMissing('refund', input.id, 'refund')) : ok(structuredClone(refund));
  },
});
