import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStripeTestServer, type StripeTestServer } from '../../stripe-server/server.js';
import { authorizeParams, rejectionOf, sdkFor } from '../../support/stripe-sdk.js';

/**
 * Stripe's idempotency keys through the real SDK: what is replayed, what is refused, what is never stored, and how
 * stripe-node reports each case.
 */
describe('Stripe test server: idempotency keys', () => {
  let server: StripeTestServer;
  let stripe: Stripe;
  beforeAll(async () => {
    server = await startStripeTestServer();
    stripe = sdkFor(server);
  });
  afterAll(async () => {
    await server.close();
  });

  const withKey = (key: string) => ({ idempotencyKey: key });
  const intentsWith = (checkoutId: string) => server.paymentIntents().filter((pi) => pi.metadata.checkout_id === checkoutId);

  it('replays the stored answer for the same key and parameters: the same PaymentIntent, marked Idempotent-Replayed', async () => {
    const params = authorizeParams('pm_card_visa', { metadata: { checkout_id: 'idem-replay' } });
    const first = await stripe.paymentIntents.create(params, withKey('idem-replay:authorize'));
    const second = await stripe.paymentIntents.create(params, withKey('idem-replay:authorize'));
    expect(second.id).toBe(first.id);
    expect(second.lastResponse.headers['idempotent-replayed']).toBe('true');
    expect(first.lastResponse.headers['idempotent-replayed']).toBeUndefined();
    expect(intentsWith('idem-replay')).toHaveLength(1);
    expect(server.calls.slice(-2).map((c) => c.replayed)).toEqual([false, true]);
  });

  it('replays the answer as it was, even after the PaymentIntent changed', async () => {
    const params = authorizeParams('pm_card_visa', { metadata: { checkout_id: 'idem-stale' } });
    const first = await stripe.paymentIntents.create(params, withKey('idem-stale:authorize'));
    await stripe.paymentIntents.capture(first.id);
    const replay = await stripe.paymentIntents.create(params, withKey('idem-stale:authorize'));
    expect(replay.status).toBe('requires_capture');
  });

  it('refuses the same key with different parameters as StripeIdempotencyError (400 idempotency_error)', async () => {
    await stripe.paymentIntents.create(authorizeParams('pm_card_visa', { amount: 1_000 }), withKey('idem-mismatch'));
    const err = await rejectionOf(stripe.paymentIntents.create(authorizeParams('pm_card_visa', { amount: 1_001 }), withKey('idem-mismatch')));
    expect(err).toBeInstanceOf(Stripe.errors.StripeIdempotencyError);
    expect(err).toMatchObject({ statusCode: 400, rawType: 'idempotency_error' });
  });

  it('refuses the same key on another endpoint', async () => {
    const pi = await stripe.paymentIntents.create(authorizeParams('pm_card_visa'), withKey('idem-endpoint'));
    const err = await rejectionOf(stripe.paymentIntents.capture(pi.id, {}, withKey('idem-endpoint')));
    expect(err).toBeInstanceOf(Stripe.errors.StripeIdempotencyError);
  });

  it('answers 409 idempotency_key_in_use while the first request with the key executes; stripe-node reports it as StripeAPIError', async () => {
    const hold = server.faults.next({ match: { idempotencyKey: 'idem-concurrent' }, fault: { t: 'hold', when: 'before' } });
    const params = authorizeParams('pm_card_visa', { metadata: { checkout_id: 'idem-concurrent' } });
    const first = stripe.paymentIntents.create(params, withKey('idem-concurrent'));
    await hold.reached;
    const err = await rejectionOf(stripe.paymentIntents.create(params, withKey('idem-concurrent')));
    expect(err).toBeInstanceOf(Stripe.errors.StripeAPIError);
    expect(err).not.toBeInstanceOf(Stripe.errors.StripeIdempotencyError);
    expect(err).toMatchObject({ statusCode: 409, rawType: 'idempotency_error', code: 'idempotency_key_in_use' });
    hold.release();
    expect((await first).status).toBe('requires_capture');
    expect(intentsWith('idem-concurrent')).toHaveLength(1);
  });

  it('replays a decline as the same decline, without a second charge', async () => {
    const params = authorizeParams('pm_card_chargeDeclined', { metadata: { checkout_id: 'idem-decline' } });
    const first = await rejectionOf(stripe.paymentIntents.create(params, withKey('idem-decline')));
    const chargesBefore = server.charges().length;
    const second = await rejectionOf(stripe.paymentIntents.create(params, withKey('idem-decline')));
    expect(second).toBeInstanceOf(Stripe.errors.StripeCardError);
    expect(second.payment_intent?.id).toBe(first.payment_intent?.id);
    expect(second.headers?.['idempotent-replayed']).toBe('true');
    expect(server.charges()).toHaveLength(chargesBefore);
  });

  it('does not store a refusal by validation: the corrected request with the same key is processed', async () => {
    const bad = await rejectionOf(stripe.paymentIntents.create(authorizeParams('pm_card_visa', { amount: -5 }), withKey('idem-validation')));
    expect(bad).toMatchObject({ type: 'StripeInvalidRequestError', param: 'amount' });
    const good = await stripe.paymentIntents.create(authorizeParams('pm_card_visa', { amount: 500 }), withKey('idem-validation'));
    expect(good).toMatchObject({ status: 'requires_capture', amount: 500 });
  });

  it('stores a refusal by the endpoint (a wrong state) and replays it', async () => {
    const pi = await stripe.paymentIntents.create(authorizeParams('pm_card_visa'));
    await stripe.paymentIntents.cancel(pi.id);
    const first = await rejectionOf(stripe.paymentIntents.capture(pi.id, {}, withKey('idem-state')));
    const again = await rejectionOf(stripe.paymentIntents.capture(pi.id, {}, withKey('idem-state')));
    expect(first.code).toBe('payment_intent_unexpected_state');
    expect(again.headers?.['idempotent-replayed']).toBe('true');
  });

  it('refuses a key longer than 255 characters before processing', async () => {
    const err = await rejectionOf(stripe.paymentIntents.create(authorizeParams('pm_card_visa'), withKey('k'.repeat(256))));
    expect(err).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
  });

  it('processes a POST without a key (Stripe allows it) and logs it without one; the SDK itself always sends one', async () => {
    const res = await fetch(`${server.url}/v1/payment_intents`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.apiKey}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'amount=100&currency=usd&metadata[checkout_id]=idem-keyless',
    });
    expect(res.status).toBe(200);
    expect(server.calls.at(-1)).toMatchObject({ idempotencyKey: null, idempotencyKeySource: null, status: 200 });
    await stripe.paymentIntents.create({ amount: 100, currency: 'usd' });
    expect(server.calls.at(-1)!.idempotencyKeySource).toBe('sdk');
  });
});
