import Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { webhookSignatureHeader } from '../../stripe-server/webhooks.js';

/** The Stripe-Signature header, held to stripe-node's own reference implementation. */
describe('webhookSignatureHeader', () => {
  const stripe = new Stripe('sk_test_unused');
  const payload = JSON.stringify({ id: 'evt_1', object: 'event', type: 'payment_intent.succeeded' }, null, 2);
  const secret = 'whsec_test_secret';

  it('equals stripe.webhooks.generateTestHeaderString for the same payload, secret and timestamp', () => {
    const timestamp = 1_700_000_123;
    expect(webhookSignatureHeader(payload, secret, timestamp)).toBe(stripe.webhooks.generateTestHeaderString({ payload, secret, timestamp }));
  });

  it('is accepted by stripe.webhooks.constructEvent, and refused with another secret or another body', () => {
    const header = webhookSignatureHeader(payload, secret, Math.floor(Date.now() / 1000));
    expect(stripe.webhooks.constructEvent(payload, header, secret).id).toBe('evt_1');
    expect(() => stripe.webhooks.constructEvent(payload, header, 'whsec_other')).toThrow(Stripe.errors.StripeSignatureVerificationError);
    expect(() => stripe.webhooks.constructEvent(payload.replace('evt_1', 'evt_2'), header, secret)).toThrow(Stripe.errors.StripeSignatureVerificationError);
  });
});
