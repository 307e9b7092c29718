import type { CheckoutPlan } from '../domain/checkout.js';
import type { KeyRecord } from '../domain/checkout-key.js';
import type { CheckoutRejection, CheckoutResponse, Retention } from '../domain/checkout-result.js';

/** Journal events of a checkout entity (`co:<key>`), in the key's partition. */
export type CheckoutEvent =
  | { t: 'started'; plan: CheckoutPlan }
  /**
   * Recorded before compensation starts, so a re-run repeats the compensation instead of the checkout. Versions
   * before the CheckoutResult union wrote only `outcome` (the rejection rendered as its answer) and read only it:
   * it is written too, so a partition moved to a node of the earlier version, or a rollback, still recovers.
   */
  | { t: 'compensating'; rejection?: CheckoutRejection; outcome: LegacyOutcome; authId: string | null }
  | { t: 'finished'; statusCode: number };

/** How versions before the CheckoutResult union journaled a rejection: its rendered answer and its retention. */
export interface LegacyOutcome {
  response: CheckoutResponse;
  retention: Retention;
}

/** A journaled compensation: the rejection the saga compensates for, and the authorization it may have to void. */
export interface Compensation {
  rejection: CheckoutRejection;
  authId: string | null;
}

/** What a re-run knows: the journaled compensation, if compensation had started. */
export interface SagaResume {
  compensating: Compensation | null;
}

/** A key's stored record as the idempotency store returns it (`statusCode` null: no final answer yet). */
export interface StoredResponse {
  fingerprint: string;
  statusCode: number | null;
  body: unknown;
}

export function keyRecordOf(record: StoredResponse | null): KeyRecord | null {
  if (record === null) return null;
  return { fingerprint: record.fingerprint, response: record.statusCode === null ? null : { statusCode: record.statusCode, body: record.body } };
}
