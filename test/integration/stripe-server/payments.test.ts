import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStripeTestServer, type StripeTestServer } from '../../stripe-server/server.js';
import { authorizeParams, rejectionOf, sdkFor } from '../../support/stripe-sdk.js';

/**
 * PaymentIntents through the real stripe SDK (23.2.0) against the Stripe test server, over a real socket:
 * authorization with Stripe's test cards, capture, refunds, declines, 3-D Secure and cancel.
 */
describe('Stripe test server: payments through the real SDK', () => {
  let server: StripeTestServer;
  let stripe: Stripe;
  beforeAll(async () => {
    server = await startStripeTestServer();
    stripe = sdkFor(server);
  });
  afterAll(async () => {
    await server.close();
  });

  const charge = async (pi: Stripe.PaymentIntent) => stripe.charges.retrieve(pi.latest_charge as string);

  it('authorizes, captures, refunds part and then the rest, and refuses a refund past what was captured', async () => {
    const pi = await stripe.paymentIntents.create(authorizeParams('pm_card_visa', { amount: 1_000, metadata: { checkout_id: 'co-life' } }));
    expect(pi).toMatchObject({ object: 'payment_intent', status: 'requires_capture', amount: 1_000, amount_capturable: 1_000, amount_received: 0, capture_method: 'manual', currency: 'usd' });
    expect(pi.id).toMatch(/^pi_[0-9A-Za-z]{24}$/);
    expect(pi.latest_charge).toMatch(/^ch_[0-9A-Za-z]{24}$/);
    expect(await charge(pi)).toMatchObject({ captured: false, amount: 1_000, amount_captured: 0, status: 'succeeded' });

    const captured = await stripe.paymentIntents.capture(pi.id);
    expect(captured).toMatchObject({ status: 'succeeded', amount_received: 1_000, amount_capturable: 0, latest_charge: pi.latest_charge });
    expect(await charge(pi)).toMatchObject({ captured: true, amount_captured: 1_000, amount_refunded: 0 });

    const first = await stripe.refunds.create({ payment_intent: pi.id, amount: 300 });
    expect(first).toMatchObject({ object: 'refund', status: 'succeeded', amount: 300, charge: pi.latest_charge, payment_intent: pi.id });
    expect(first.id).toMatch(/^re_/);
    expect(await charge(pi)).toMatchObject({ amount_refunded: 300, refunded: false });

    const tooMuch = await rejectionOf(stripe.refunds.create({ payment_intent: pi.id, amount: 701 }));
    expect(tooMuch).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(tooMuch).toMatchObject({ statusCode: 400, code: 'amount_too_large', param: 'amount' });

    const rest = await stripe.refunds.create({ payment_intent: pi.id });
    expect(rest.amount).toBe(700);
    expect(await charge(pi)).toMatchObject({ amount_refunded: 1_000, refunded: true });

    const again = await rejectionOf(stripe.refunds.create({ payment_intent: pi.id, amount: 1 }));
    expect(again).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(again.code).toBe('charge_already_refunded');
  });

  it('captures less than authorized, and then refunds at most what was captured', async () => {
    const pi = await stripe.paymentIntents.create(authorizeParams('pm_card_mastercard', { amount: 1_000 }));
    const over = await rejectionOf(stripe.paymentIntents.capture(pi.id, { amount_to_capture: 1_001 }));
    expect(over).toMatchObject({ type: 'StripeInvalidRequestError', param: 'amount_to_capture' });
    const captured = await stripe.paymentIntents.capture(pi.id, { amount_to_capture: 600 });
    expect(captured).toMatchObject({ status: 'succeeded', amount_received: 600, amount_capturable: 0 });
    const tooMuch = await rejectionOf(stripe.refunds.create({ payment_intent: pi.id, amount: 601 }));
    expect(tooMuch.code).toBe('amount_too_large');
    expect((await stripe.refunds.create({ payment_intent: pi.id })).amount).toBe(600);
  });

  it('captures at once with automatic capture', async () => {
    const pi = await stripe.paymentIntents.create(authorizeParams('pm_card_visa', { capture_method: 'automatic' }));
    expect(pi).toMatchObject({ status: 'succeeded', amount_received: 1_000, amount_capturable: 0 });
  });

  it.each([
    ['pm_card_chargeDeclined', 'card_declined', 'generic_decline'],
    ['pm_card_chargeDeclinedInsufficientFunds', 'card_declined', 'insufficient_funds'],
    ['pm_card_chargeDeclinedExpiredCard', 'expired_card', 'expired_card'],
    ['pm_card_chargeDeclinedIncorrectCvc', 'incorrect_cvc', 'incorrect_cvc'],
    ['pm_card_chargeDeclinedFraudulent', 'card_declined', 'fraudulent'],
  ])('declines %s as StripeCardError %s / %s, leaving the PaymentIntent in requires_payment_method', async (pm, code, declineCode) => {
    const err = await rejectionOf(stripe.paymentIntents.create(authorizeParams(pm)));
    expect(err).toBeInstanceOf(Stripe.errors.StripeCardError);
    expect(err).toMatchObject({ statusCode: 402, rawType: 'card_error', code, decline_code: declineCode });
    expect(err.charge).toMatch(/^ch_/);
    const pi = err.payment_intent!;
    expect(pi).toMatchObject({ status: 'requires_payment_method', payment_method: null, last_payment_error: { type: 'card_error', code, decline_code: declineCode } });
    expect(await stripe.paymentIntents.retrieve(pi.id)).toMatchObject({ status: 'requires_payment_method', last_payment_error: { decline_code: declineCode } });
    expect(await stripe.charges.retrieve(err.charge!)).toMatchObject({ status: 'failed', failure_code: code, paid: false });
  });

  it('refuses an unknown payment method with 400 resource_missing and creates nothing', async () => {
    const before = server.paymentIntents().length;
    const err = await rejectionOf(stripe.paymentIntents.create(authorizeParams('pm_card_unknown')));
    expect(err).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(err).toMatchObject({ statusCode: 400, code: 'resource_missing', param: 'payment_method' });
    expect(server.paymentIntents()).toHaveLength(before);
  });

  describe('3-D Secure', () => {
    it.each(['pm_card_authenticationRequired', 'pm_card_threeDSecure2Required'])('asks for authentication with %s, and a success leads to requires_capture', async (pm) => {
      const pi = await stripe.paymentIntents.create(authorizeParams(pm));
      expect(pi).toMatchObject({ status: 'requires_action', next_action: { type: 'use_stripe_sdk' }, latest_charge: null });
      expect(pi.client_secret).toMatch(new RegExp(`^${pi.id}_secret_[0-9A-Za-z]{25}$`));
      expect(server.authenticate(pi.id, 'succeed')).toMatchObject({ status: 'requires_capture', amount_capturable: 1_000 });
      expect((await stripe.paymentIntents.capture(pi.id)).status).toBe('succeeded');
    });

    it('returns a failed authentication to requires_payment_method with payment_intent_authentication_failure', async () => {
      const pi = await stripe.paymentIntents.create(authorizeParams('pm_card_authenticationRequired'));
      server.authenticate(pi.id, 'fail');
      expect(await stripe.paymentIntents.retrieve(pi.id)).toMatchObject({
        status: 'requires_payment_method',
        next_action: null,
        last_payment_error: { code: 'payment_intent_authentication_failure' },
      });
      expect(() => server.authenticate(pi.id, 'succeed')).toThrow(/payment_intent_unexpected_state/);
    });

    it('is driven over HTTP by POST /test_helpers/boxoffice/payment_intents/:id/authenticate, without an API key', async () => {
      const pi = await stripe.paymentIntents.create(authorizeParams('pm_card_authenticationRequired'));
      const res = await fetch(`${server.url}/test_helpers/boxoffice/payment_intents/${pi.id}/authenticate`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'outcome=succeed',
      });
      expect(res.status).toBe(200);
      expect(((await res.json()) as Stripe.PaymentIntent).status).toBe('requires_capture');
    });

    it('declines with authentication_required instead when error_on_requires_action is set', async () => {
      const err = await rejectionOf(stripe.paymentIntents.create(authorizeParams('pm_card_authenticationRequired', { error_on_requires_action: true })));
      expect(err).toBeInstanceOf(Stripe.errors.StripeCardError);
      expect(err).toMatchObject({ code: 'authentication_required', decline_code: 'authentication_required' });
    });
  });

  describe('cancel', () => {
    const setups: [string, () => Promise<Stripe.PaymentIntent>][] = [
      ['requires_payment_method', () => stripe.paymentIntents.create({ amount: 500, currency: 'usd' })],
      ['requires_confirmation', () => stripe.paymentIntents.create({ amount: 500, currency: 'usd', payment_method: 'pm_card_visa' })],
      ['requires_action', () => stripe.paymentIntents.create(authorizeParams('pm_card_authenticationRequired'))],
      ['requires_capture', () => stripe.paymentIntents.create(authorizeParams('pm_card_visa'))],
    ];

    it.each(setups)('cancels from %s', async (status, setup) => {
      const pi = await setup();
      expect(pi.status).toBe(status);
      const canceled = await stripe.paymentIntents.cancel(pi.id, { cancellation_reason: 'abandoned' });
      expect(canceled).toMatchObject({ status: 'canceled', cancellation_reason: 'abandoned', amount_capturable: 0 });
      expect(canceled.canceled_at).toEqual(expect.any(Number));
    });

    it('releases an uncaptured authorization: its charge shows refunded in full', async () => {
      const pi = await stripe.paymentIntents.create(authorizeParams('pm_card_visa'));
      await stripe.paymentIntents.cancel(pi.id);
      expect(await charge(pi)).toMatchObject({ captured: false, refunded: true, amount_refunded: 1_000 });
    });

    it.each([
      ['succeeded', (id: string) => stripe.paymentIntents.capture(id)],
      ['canceled', (id: string) => stripe.paymentIntents.cancel(id)],
    ])('refuses from %s with payment_intent_unexpected_state', async (status, reach) => {
      const pi = await stripe.paymentIntents.create(authorizeParams('pm_card_visa'));
      await reach(pi.id);
      const err = await rejectionOf(stripe.paymentIntents.cancel(pi.id));
      expect(err).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
      expect(err).toMatchObject({ statusCode: 400, code: 'payment_intent_unexpected_state' });
      expect(err.payment_intent?.status).toBe(status);
    });
  });

  it('refuses to capture outside requires_capture, and to refund what was not captured', async () => {
    const pi = await stripe.paymentIntents.create(authorizeParams('pm_card_visa'));
    const refund = await rejectionOf(stripe.refunds.create({ payment_intent: pi.id }));
    expect(refund).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    await stripe.paymentIntents.cancel(pi.id);
    const capture = await rejectionOf(stripe.paymentIntents.capture(pi.id));
    expect(capture).toMatchObject({ type: 'StripeInvalidRequestError', code: 'payment_intent_unexpected_state' });
  });

  it('confirms an unconfirmed PaymentIntent through /confirm', async () => {
    const pi = await stripe.paymentIntents.create({ amount: 700, currency: 'eur', payment_method: 'pm_card_visa', capture_method: 'manual', allowed_payment_method_types: ['card'] });
    expect(pi.status).toBe('requires_confirmation');
    expect(await stripe.paymentIntents.confirm(pi.id)).toMatchObject({ status: 'requires_capture', amount_capturable: 700, currency: 'eur' });
  });

  it('expands latest_charge on request', async () => {
    const pi = await stripe.paymentIntents.create(authorizeParams('pm_card_visa'));
    const got = await stripe.paymentIntents.retrieve(pi.id, { expand: ['latest_charge'] });
    expect(got.latest_charge).toMatchObject({ object: 'charge', id: pi.latest_charge, payment_intent: pi.id });
  });

  it('answers 404 resource_missing for an unknown PaymentIntent, and 401 for another API key', async () => {
    const missing = await rejectionOf(stripe.paymentIntents.retrieve('pi_doesnotexist'));
    expect(missing).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(missing).toMatchObject({ statusCode: 404, code: 'resource_missing', param: 'intent' });
    const stranger = new Stripe('sk_test_someone_else', { ...server.sdkOptions(), maxNetworkRetries: 0 });
    const denied = await rejectionOf(stranger.paymentIntents.create(authorizeParams('pm_card_visa')));
    expect(denied).toBeInstanceOf(Stripe.errors.StripeAuthenticationError);
    expect(denied.statusCode).toBe(401);
  });

  it("refuses payment_method_types on the SDK's API version, which replaced it with allowed_payment_method_types", async () => {
    const err = await rejectionOf(stripe.paymentIntents.create({ ...authorizeParams('pm_card_visa'), automatic_payment_methods: undefined, payment_method_types: ['card'] } as never));
    expect(err).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(err).toMatchObject({ statusCode: 400, code: 'payment_method_types_no_longer_supported', param: 'payment_method_types' });
    const pi = await stripe.paymentIntents.create({ ...authorizeParams('pm_card_visa'), automatic_payment_methods: undefined, allowed_payment_method_types: ['card'] });
    expect(pi).toMatchObject({ status: 'requires_capture', allowed_payment_method_types: ['card'], payment_method_types: ['card'] });
  });

  it('logs every call on the wire: method, path, key, Stripe-Version, capture_method, amount, currency and the status answered', async () => {
    const pi = await stripe.paymentIntents.create(authorizeParams('pm_card_visa', { amount: 4_200, currency: 'gbp' }), { idempotencyKey: 'co-wire:authorize' });
    await stripe.paymentIntents.capture(pi.id, { amount_to_capture: 4_000 });
    const [create, capture] = server.calls.slice(-2);
    expect(create).toMatchObject({
      method: 'POST',
      path: '/v1/payment_intents',
      idempotencyKey: 'co-wire:authorize',
      idempotencyKeySource: 'caller',
      stripeVersion: Stripe.API_VERSION,
      params: { amount: '4200', currency: 'gbp', capture_method: 'manual', confirm: 'true', payment_method: 'pm_card_visa' },
      status: 200,
      outcome: 'answered',
      replayed: false,
    });
    expect(create!.headers['authorization']).not.toContain(server.apiKey);
    expect(capture).toMatchObject({ path: `/v1/payment_intents/${pi.id}/capture`, idempotencyKeySource: 'sdk', params: { amount_to_capture: '4000' }, status: 200 });
    expect(capture!.idempotencyKey).toMatch(/^stripe-node-retry-/);
  });
});
