import type Stripe from 'stripe';

/**
 * The server's account: PaymentIntents, charges and refunds by id, in creation order. Handlers change the stored
 * objects in place between two awaits, so every decision sees one consistent state (the server is one thread).
 * Snapshots handed to tests are deep copies: a test cannot change the account by editing what it was given.
 */
export class StripeStore {
  private readonly intents = new Map<string, { object: Stripe.PaymentIntent; createdAtMs: number }>();
  private readonly chargesById = new Map<string, Stripe.Charge>();
  private readonly refundsById = new Map<string, Stripe.Refund>();

  paymentIntentCount(): number {
    return this.intents.size;
  }

  addPaymentIntent(pi: Stripe.PaymentIntent, createdAtMs: number): void {
    this.intents.set(pi.id, { object: pi, createdAtMs });
  }

  paymentIntent(id: string): Stripe.PaymentIntent | undefined {
    return this.intents.get(id)?.object;
  }

  /** PaymentIntents with the clock time of their creation, newest first (the order of Stripe's lists). */
  paymentIntentsNewestFirst(): { object: Stripe.PaymentIntent; createdAtMs: number }[] {
    return [...this.intents.values()].reverse();
  }

  addCharge(charge: Stripe.Charge): void {
    this.chargesById.set(charge.id, charge);
  }

  charge(id: string): Stripe.Charge | undefined {
    return this.chargesById.get(id);
  }

  addRefund(refund: Stripe.Refund): void {
    this.refundsById.set(refund.id, refund);
  }

  refund(id: string): Stripe.Refund | undefined {
    return this.refundsById.get(id);
  }

  snapshot(): { paymentIntents: Stripe.PaymentIntent[]; charges: Stripe.Charge[]; refunds: Stripe.Refund[] } {
    return structuredClone({
      paymentIntents: [...this.intents.values()].map((e) => e.object),
      charges: [...this.chargesById.values()],
      refunds: [...this.refundsById.values()],
    });
  }
}
