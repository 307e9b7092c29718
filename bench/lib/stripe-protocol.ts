import type { StripeServerLimits } from '../../test/stripe-server/server.js';

/**
 * Messages between the harness (parent) and the Stripe test server process (bench/lib/stripe-server-worker.ts, a
 * forked process, so the test server never shares an event loop with the harness). Sent with Node's 'advanced' IPC
 * serialization.
 */
export interface StartStripeServer {
  type: 'start';
  /** Added before every answer (the test server's `latencyMs`). */
  latencyMs: number;
  /** Overrides of the test server's limits.ts: its stores sized for the run's stock. */
  limits: Partial<StripeServerLimits>;
}

export type StripeParentMessage = StartStripeServer | { type: 'audit' } | { type: 'stop' };

/** One PaymentIntent as the audit needs it. */
export interface IntentRecord {
  id: string;
  status: string;
  amountMinor: number;
  /** As Stripe writes it: lower case. */
  currency: string;
  /** The `checkout_id` metadata boxoffice puts on every authorization; null when absent. */
  checkoutId: string | null;
}

/** A PaymentIntent's creation, from its `payment_intent.created` event: the Idempotency-Key of the call that made it. */
export interface IntentCreation {
  intentId: string;
  idempotencyKey: string | null;
}

/** What the test server saw during the run, read once after the load settled. */
export interface StripeServerReport {
  intents: IntentRecord[];
  creations: IntentCreation[];
  /** Requests by `<method> <path with ids replaced by :id> <status>` ('none' when no answer was sent). */
  calls: Record<string, number>;
  /** Requests in all (the wire log's last sequence number: it keeps only the last callsMax entries). */
  callsTotal: number;
  /** Answers that were idempotent replays of a stored answer (a retry with the same key). */
  replayed: number;
}

export type StripeWorkerMessage =
  | { type: 'listening'; url: string; apiKey: string }
  | { type: 'report'; report: StripeServerReport }
  | { type: 'failed'; error: string };
