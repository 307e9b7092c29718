import type { CheckoutPlan } from '../domain/checkout.js';

export interface CheckoutResponse {
  statusCode: number;
  body: unknown;
}

/**
 * How long a checkout's response is kept for replays of its key:
 * - durable: stored in idempotency_keys (anything after a side effect: a hold, a charge, an order);
 * - memory: replayed from this node's memory only (rejected before any side effect, e.g. sold out from memory);
 * - forget: the key is free again (the request failed in a way that charged nothing and should be retried).
 */
export type Retention = 'durable' | 'memory' | 'forget';

export interface CheckoutOutcome {
  response: CheckoutResponse;
  retention: Retention;
}

/** Journal events of a checkout entity (`co:<key>`), in the key's partition. */
export type CheckoutEvent =
  | { t: 'started'; plan: CheckoutPlan }
  /** Recorded before compensation starts, so a re-run repeats the compensation instead of the checkout. */
  | { t: 'compensating'; outcome: CheckoutOutcome; authId: string | null }
  | { t: 'finished'; statusCode: number };

/** What a re-run knows: the journaled compensation, if compensation had started. */
export interface SagaResume {
  compensating: { outcome: CheckoutOutcome; authId: string | null } | null;
}
