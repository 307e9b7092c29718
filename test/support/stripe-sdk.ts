import Stripe from 'stripe';
import type { StripeTestServer } from '../stripe-server/server.js';

/**
 * The real stripe SDK pointed at a Stripe test server. Retries are off unless a test turns them on, so every
 * retry seen on the wire is one the SDK makes on its own (a closed connection is retried once regardless).
 */
export function sdkFor(server: StripeTestServer, opts: { timeout?: number; maxNetworkRetries?: number } = {}): Stripe {
  return new Stripe(server.apiKey, { ...server.sdkOptions(), maxNetworkRetries: opts.maxNetworkRetries ?? 0, timeout: opts.timeout ?? 2_000 });
}

/** A manual-capture card authorization, the call boxoffice's adapter makes (issue 10). */
export function authorizeParams(paymentMethod: string, extra: Partial<Stripe.PaymentIntentCreateParams> = {}): Stripe.PaymentIntentCreateParams {
  return {
    amount: 1_000,
    currency: 'usd',
    payment_method: paymentMethod,
    confirm: true,
    capture_method: 'manual',
    automatic_payment_methods: { enabled: true, allow_redirects: 'never' },
    ...extra,
  };
}

/** The rejection of `p`, which must reject. */
export async function rejectionOf(p: Promise<unknown>): Promise<Stripe.errors.StripeError> {
  try {
    await p;
  } catch (err) {
    return err as Stripe.errors.StripeError;
  }
  throw new Error('expected the call to fail, and it succeeded');
}
