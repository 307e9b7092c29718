import { systemClock, type Clock } from '../clock.js';
import { limits } from '../config/limits.js';
import { PaymentTimeoutError, withTimeout, type AuthorizeRequest, type PaymentOutcome, type PaymentProvider } from '../payments/provider.js';

/**
 * A checkout's payment authorization, as the saga sends it and the pending sweeper asks again: always the same
 * request under the same key, so the provider answers a retry with the first result.
 */

/** What is authorized, and the checkout it is for. */
export interface AuthorizeTarget {
  checkoutId: string;
  orderId: string;
  /** The checkout's Idempotency-Key (absent for orders stored before it was sent along). */
  checkoutKey?: string;
  amountMinor: number;
  currency: string;
  paymentMethod: string;
}

/**
 * Sends the authorization, with the same key each time, until the provider gives an answer that stands: authorized
 * or declined; an error that means nothing happened is retried, then returned. Once an attempt's outcome was unknown
 * (a timeout, a lost connection, a provider that threw), a later error does not settle it: the first attempt may
 * have authorized, so the result stays 'unknown' (the order is pending and the sweeper asks again), never an error
 * that would free the key for a second authorization.
 */
export async function authorizeWithRetries(payments: PaymentProvider, t: AuthorizeTarget, clock: Clock = systemClock): Promise<PaymentOutcome | 'unknown'> {
  let unknown = false;
  let lastError: PaymentOutcome | null = null;
  for (let attempt = 0; attempt <= limits.paymentRetriesMax; attempt++) {
    try {
      const outcome = await withTimeout(payments.authorize(authorizeRequest(t)), limits.paymentCallTimeoutMs, clock);
      if (outcome.kind !== 'error') return outcome;
      lastError = outcome;
      if (!outcome.retryable) break;
    } catch (err) {
      // A timeout, or a provider that threw for a reason it did not say: it may have acted.
      unknown = true;
      if (!(err instanceof PaymentTimeoutError)) lastError = { kind: 'error', retryable: true, message: String(err) };
    }
  }
  return unknown || lastError === null ? 'unknown' : lastError;
}

/**
 * The authorization request of a checkout, always built the same way (a provider compares a repeat with the first
 * request of its key). Its metadata names the checkout, its order and its Idempotency-Key, so reconciliation can
 * tell, from the provider's side, which checkout an authorization belongs to and whether its saga is over.
 */
export function authorizeRequest(t: AuthorizeTarget): AuthorizeRequest {
  const metadata: Record<string, string> = { checkoutId: t.checkoutId, orderId: t.orderId };
  if (t.checkoutKey !== undefined) metadata['checkoutKey'] = t.checkoutKey;
  return { idempotencyKey: `${t.checkoutId}:authorize`, amountMinor: t.amountMinor, currency: t.currency, paymentMethod: t.paymentMethod, metadata };
}
