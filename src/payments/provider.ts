import { systemClock, type Clock } from '../clock.js';

/**
 * The payment provider interface. It is shaped after Stripe's PaymentIntents with manual capture, so the real adapter
 * is a thin mapping:
 *
 *   authorize → paymentIntents.create({ amount, currency, payment_method, capture_method: 'manual', confirm: true,
 *                                       metadata }, { idempotencyKey })
 *               status 'requires_capture' → authorized (authId = the PaymentIntent id);
 *               StripeCardError → declined (declineCode = err.decline_code ?? err.code);
 *               StripeInvalidRequestError / StripeAuthenticationError / StripeIdempotencyError → error, not retryable;
 *               StripeRateLimitError → retried with backoff, then error, retryable;
 *               StripeAPIError 5xx → retried with backoff, then PaymentTimeoutError (Stripe may have acted), as a 409
 *               (the same key still in flight), a StripeConnectionError or our own deadline: outcome unknown.
 *   capture   → paymentIntents.capture(authId, { amount_to_capture }, { idempotencyKey })
 *   void      → paymentIntents.cancel(authId, {}, { idempotencyKey })
 *   refund    → refunds.create({ payment_intent: authId, amount }, { idempotencyKey })
 *   lookup    → the create sent again with the same key and parameters: Stripe answers with the stored result of
 *               the first request (or, had it never arrived, authorizes now, and the caller voids it).
 *   retrieve, findByCheckout, listOpen → paymentIntents.retrieve and paymentIntents.search (on metadata and status).
 *
 * Every call carries a deterministic idempotency key (DESIGN.md invariant 3), so a retry after a timeout can never
 * charge twice: the provider answers the retry with the stored result of the first attempt.
 */

/** One page of open authorizations (listOpen). */
export interface OpenPage {
  open: PaymentState[];
  next: string | null;
}

export type PaymentOutcome =
  | { kind: 'authorized'; authId: string; amountMinor: number; currency: string }
  /**
   * The card needs the customer (3-D Secure): the storefront completes it in the browser with `clientSecret`; the
   * authorization exists and is confirmed, or fails, later (a webhook or a retrieve tells).
   */
  | { kind: 'requires_action'; authId: string; clientSecret: string; amountMinor: number; currency: string }
  | { kind: 'declined'; declineCode: string; message: string }
  /** The provider said no for a reason that is not the card: bad request, authentication, rate limit, outage. */
  | { kind: 'error'; retryable: boolean; message: string };

/**
 * The call did not answer in time. The outcome is unknown: the provider may have acted and the response was lost.
 * Retry with the same idempotency key, or ask `lookup`, before deciding anything.
 */
export class PaymentTimeoutError extends Error {
  override readonly name = 'PaymentTimeoutError';
  constructor(message = 'The payment provider did not answer in time; the outcome is unknown.') {
    super(message);
  }
}

export interface AuthorizeRequest {
  /** `<checkoutId>:authorize`; at most providerLimits.idempotencyKeyLengthMax characters (Stripe's limit). */
  idempotencyKey: string;
  /** Positive integer in minor units of `currency`. */
  amountMinor: number;
  /** ISO 4217 code. */
  currency: string;
  /** A payment method id, e.g. Stripe's test method `pm_card_visa`. */
  paymentMethod: string;
  metadata: Record<string, string>;
}

export interface CaptureRequest {
  idempotencyKey: string;
  authId: string;
  /** At most the authorized amount; capturing less releases the rest (Stripe's amount_to_capture). */
  amountMinor: number;
}

export interface VoidRequest {
  idempotencyKey: string;
  authId: string;
}

export interface RefundRequest {
  idempotencyKey: string;
  authId: string;
  /** At most what was captured minus what was already refunded. */
  amountMinor: number;
}

/**
 * A capture, void or refund: done, or refused. `retryable` says the refusal is no verdict on the key: nothing was
 * done this time (the circuit was open, every call slot taken, rate-limited past the retries), so the same key may
 * be sent again and an earlier attempt's outcome still stands. Without it, the provider refused this key for good.
 */
export type SettleResult = { ok: true } | { ok: false; message: string; retryable?: boolean };

/** An authorization as the provider holds it now. */
export interface PaymentState {
  authId: string;
  status: 'requires_action' | 'authorized' | 'captured' | 'voided' | 'refunded' | 'failed';
  amountMinor: number;
  capturedMinor: number;
  refundedMinor: number;
  /** The checkout it was made for (the authorize request's metadata), when the provider keeps it. */
  checkoutId: string | null;
  orderId: string | null;
  checkoutKey: string | null;
  /** When the provider created it (ms since the epoch). */
  createdMs: number;
}

export interface PaymentProvider {
  /** 'simulated' | 'stripe' */
  readonly name: string;
  authorize(req: AuthorizeRequest): Promise<PaymentOutcome>;
  capture(req: CaptureRequest): Promise<SettleResult>;
  void(req: VoidRequest): Promise<SettleResult>;
  refund(req: RefundRequest): Promise<SettleResult>;
  /**
   * What became of this exact authorization request (same key, same parameters): its result, or null when the
   * provider never saw it. A provider that cannot look a key up sends the request again with the same key (the
   * first result comes back; had it never arrived, it is made now), so the answer is never a guess.
   */
  lookup(req: AuthorizeRequest): Promise<PaymentOutcome | null>;
  /** The authorization's state now, read back from the provider (the truth); null for an id it does not know. */
  retrieve(authId: string): Promise<PaymentState | null>;
  /** The authorizations made for a checkout (by the metadata of their request); may trail recent ones. */
  findByCheckout(checkoutId: string): Promise<PaymentState[]>;
  /**
   * Authorizations neither captured nor voided (authorized, or waiting for the customer), made before
   * `createdBeforeMs`: one page of at most `limit`, from `cursor` (null: the first page). `next` continues the same
   * listing (same cutoff) and is null after the last page.
   */
  listOpen(createdBeforeMs: number, limit: number, cursor: string | null): Promise<OpenPage>;
  /**
   * False while the provider should not be asked (its circuit is open, every call slot taken): checkouts answer 503
   * PAYMENT_PROVIDER_UNAVAILABLE with Retry-After `retryAfterS()` before reserving anything. Absent: always available.
   */
  available?(): boolean;
  retryAfterS?(): number;
}

/**
 * Bounds a provider call. Rejects with PaymentTimeoutError after `ms` on `clock` (the system clock by default; a
 * simulated one in seeded runs); the timer never keeps the process alive, and it is cancelled as soon as the call
 * settles. A late answer from `p` is ignored (and a late rejection is handled here, so it never surfaces as an
 * unhandled rejection).
 */
export function withTimeout<T>(p: Promise<T>, ms: number, clock: Clock = systemClock): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = clock.setTimer(clock.now() + ms, () => {
      reject(new PaymentTimeoutError(`The payment provider did not answer within ${ms} ms; the outcome is unknown.`));
    });
    p.then(
      (value) => {
        timer.cancel();
        resolve(value);
      },
      (err: unknown) => {
        timer.cancel();
        reject(err);
      },
    );
  });
}
