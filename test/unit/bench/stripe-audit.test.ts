import { describe, expect, it } from 'vitest';
import { auditStripe, callKey, type OrderPaymentRow } from '../../../bench/lib/stripe-audit.js';
import type { IntentRecord, StripeServerReport } from '../../../bench/lib/stripe-protocol.js';
import { stripeServerLimitsFor } from '../../../bench/lib/stripe-sidecar.js';
import { stripeServerLimits } from '../../../test/stripe-server/limits.js';

/** Two checkouts, each authorized once under its own key, each with a confirmed order for 3,099 USD. */
function intent(n: number, over: Partial<IntentRecord> = {}): IntentRecord {
  return { id: `pi_${n}`, status: 'requires_capture', amountMinor: 3_099, currency: 'usd', checkoutId: `co_${n}`, ...over };
}

function order(n: number, over: Partial<OrderPaymentRow> = {}): OrderPaymentRow {
  return { orderId: `ord_${n}`, orderStatus: 'confirmed', totalMinor: 3_099, currency: 'USD', provider: 'stripe', authId: `pi_${n}`, amountMinor: 3_099, ...over };
}

function report(intents: IntentRecord[], keys: Record<string, string | null> = {}): StripeServerReport {
  return {
    intents,
    creations: intents.map((pi) => ({ intentId: pi.id, idempotencyKey: pi.id in keys ? keys[pi.id]! : `${pi.checkoutId}:authorize` })),
    calls: { 'POST /v1/payment_intents 200': intents.length, 'GET /v1/payment_intents/search 200': 2 },
    callsTotal: intents.length + 2,
    replayed: 0,
  };
}

const checkNamed = (checks: Array<{ name: string; ok: boolean; detail: string }>, part: string) => checks.find((c) => c.name.includes(part))!;

describe('auditStripe', () => {
  it('passes one PaymentIntent per key and per checkout, each confirmed order authorized for its total', () => {
    const audit = auditStripe(report([intent(1), intent(2)]), [order(1), order(2)]);
    expect(audit.checks.map((c) => [c.name, c.ok])).toEqual([
      ['stripe: at most one PaymentIntent per idempotency key', true],
      ['stripe: at most one PaymentIntent per checkout (metadata checkout_id)', true],
      ['stripe: every confirmed order has a PaymentIntent in requires_capture', true],
    ]);
    expect(audit.metrics).toEqual({ stripePaymentIntents: 2, stripeRequests: 4, stripeReplays: 0, stripeAuthorizationsWithoutOrder: 0 });
    expect(audit.notes[0]).toContain('2 PaymentIntents (requires_capture ×2); 4 requests (POST /v1/payment_intents 200 ×2, GET /v1/payment_intents/search 200 ×2)');
  });

  it('fails when one key created two PaymentIntents, naming the key', () => {
    const r = report([intent(1), intent(2, { checkoutId: 'co_2' }), intent(3, { checkoutId: 'co_3' })], { pi_3: 'co_2:authorize' });
    const c = checkNamed(auditStripe(r, [order(1), order(2)]).checks, 'per idempotency key');
    expect(c.ok).toBe(false);
    expect(c.detail).toContain('1 keys with more than one, e.g. co_2:authorize → pi_2, pi_3');
  });

  it.each([
    ['no creation event', (r: StripeServerReport) => void r.creations.pop(), 'without a payment_intent.created event, e.g. pi_2'],
    ['a key the SDK made up', (r: StripeServerReport) => void (r.creations[1]!.idempotencyKey = 'stripe-node-retry-0f8c4c3e-1d2b-4c5e-9f00-123456789abc'), "created without boxoffice's own key, e.g. pi_2"],
    ['no key at all', (r: StripeServerReport) => void (r.creations[1]!.idempotencyKey = null), "created without boxoffice's own key, e.g. pi_2"],
  ])('fails the per-key check for a PaymentIntent with %s', (_what, spoil, detail) => {
    const r = report([intent(1), intent(2)]);
    spoil(r);
    const c = checkNamed(auditStripe(r, [order(1), order(2)]).checks, 'per idempotency key');
    expect(c.ok).toBe(false);
    expect(c.detail).toContain(detail);
  });

  it('fails when one checkout has two PaymentIntents, even under two keys', () => {
    const r = report([intent(1), intent(2, { checkoutId: 'co_1' })], { pi_2: 'co_1:authorize-again' });
    const audit = auditStripe(r, [order(1)]);
    expect(checkNamed(audit.checks, 'per idempotency key').ok).toBe(true);
    expect(checkNamed(audit.checks, 'per checkout').detail).toContain('co_1 → pi_1, pi_2');
    expect(audit.metrics['stripeAuthorizationsWithoutOrder']).toBe(1);
  });

  it.each([
    ['canceled', [intent(1), intent(2, { status: 'canceled' })], [order(1), order(2)], '1 PaymentIntent in canceled (e.g. ord_2)'],
    ['unknown to the server', [intent(1)], [order(1), order(2)], '1 PaymentIntent unknown to the test server (e.g. ord_2)'],
    ['for another amount', [intent(1), intent(2, { amountMinor: 100 })], [order(1), order(2)], '1 PaymentIntent for another amount or currency than the order (e.g. ord_2)'],
    ['for another currency', [intent(1), intent(2, { currency: 'eur' })], [order(1), order(2)], '1 PaymentIntent for another amount or currency'],
    ['without a payment row', [intent(1)], [order(1), order(2, { provider: null, authId: null, amountMinor: null })], '1 no Stripe authorization on its payment row (e.g. ord_2)'],
    ['paid by the simulated provider', [intent(1)], [order(1), order(2, { provider: 'simulated', authId: 'sim_2' })], '1 no Stripe authorization'],
  ])('fails a confirmed order whose PaymentIntent is %s', (_what, intents, orders, detail) => {
    const c = checkNamed(auditStripe(report(intents), orders).checks, 'every confirmed order');
    expect(c.ok).toBe(false);
    expect(c.detail).toContain(`2 confirmed orders: ${detail}`);
  });

  it('holds only confirmed orders to requires_capture, and counts authorizations no order names', () => {
    const intents = [intent(1), intent(2, { status: 'canceled' }), intent(3)];
    const orders = [order(1), order(2, { orderStatus: 'failed' })];
    const audit = auditStripe(report(intents), orders);
    expect(checkNamed(audit.checks, 'every confirmed order').ok).toBe(true);
    expect(audit.metrics['stripeAuthorizationsWithoutOrder']).toBe(1);
    expect(audit.notes[1]).toContain('1 PaymentIntents in requires_capture that no order names, e.g. pi_3');
  });
});

describe('callKey', () => {
  it('groups calls by endpoint, object ids replaced', () => {
    expect(callKey('POST', '/v1/payment_intents/pi_3PgafyB7WZ01zgkWSjxsAJo3/capture', 200)).toBe('POST /v1/payment_intents/:id/capture 200');
    expect(callKey('GET', '/v1/payment_intents/search', null)).toBe('GET /v1/payment_intents/search none');
  });
});

describe('stripeServerLimitsFor', () => {
  it('keeps the test-suite sizes for a small sale and grows the stores with the stock', () => {
    expect(stripeServerLimitsFor(2_000)).toEqual({
      paymentIntentsMax: stripeServerLimits.paymentIntentsMax,
      idempotencyEntriesMax: stripeServerLimits.idempotencyEntriesMax,
      webhookEventsMax: 3 * stripeServerLimits.paymentIntentsMax,
      callsMax: stripeServerLimits.callsMax,
    });
    const big = stripeServerLimitsFor(100_000);
    expect(big.paymentIntentsMax).toBe(201_000);
    expect(big.webhookEventsMax).toBe(603_000);
    expect(big.idempotencyEntriesMax).toBeGreaterThanOrEqual(201_000);
    expect(big.callsMax).toBeGreaterThanOrEqual(201_000);
  });
});
