import type { CheckoutPlan } from '../domain/checkout.js';
import type { CheckoutRejection, CheckoutResponse, Retention } from '../domain/checkout-result.js';

/** Journal events of a checkout entity (`co:<key>`), in the key's partition. */
export type CheckoutEvent =
  | { t: 'started'; plan: CheckoutPlan }
  /** Recorded before compensation starts, so a re-run repeats the compensation instead of the checkout. */
  | { t: 'compensating'; rejection: CheckoutRejection; authId: string | null }
  /** The same, as versions before the CheckoutResult union journaled it: the rejection rendered as its answer. */
  | { t: 'compensating'; outcome: { response: CheckoutResponse; retention: Retention }; authId: string | null }
  | { t: 'finished'; statusCode: number };

/** A journaled compensation: the rejection the saga compensates for, and the authorization it may have to void. */
export interface Compensation {
  rejection: CheckoutRejection;
  authId: string | null;
}

/** What a re-run knows: the journaled compensation, if compensation had started. */
export interface SagaResume {
  compensating: Compensation | null;
}
