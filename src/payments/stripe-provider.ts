import Stripe from 'stripe';
import { systemClock, type Clock } from '../clock.js';
import { stripeLimits } from '../config/limits.js';
import { CircuitBreaker } from './circuit-breaker.js';
import {
  PaymentTimeoutError,
  type AuthorizeRequest,
  type CaptureRequest,
  type OpenPage,
  type PaymentOutcome,
  type PaymentProvider,
  type PaymentState,
  type RefundRequest,
  type SettleResult,
  type VoidRequest,
} from './provider.js';

export interface StripeProviderOptions {
  apiKey: string;
  /** STRIPE_API_BASE: a Stripe-compatible server (its host, port and protocol); null for Stripe itself. */
  apiBase: URL | null;
  clock?: Clock;
  /** Jitter of the retry backoff, in [0, 1). */
  random?: () => number;
  /** The SDK's deadline per request; default stripeLimits.requestTimeoutMs. Past it the outcome is unknown (PaymentTimeoutError). */
  timeoutMs?: number;
}

/** The metadata keys an authorization carries at Stripe (the request's camelCase names, in Stripe's style). */
const metadataKeys = { checkoutId: 'checkout_id', orderId: 'order_id', checkoutKey: 'checkout_key' } as const;

/**
 * The real payment provider (DESIGN.md, "Money, exactly once"), on the `stripe` SDK: PaymentIntents with manual
 * capture. Every call carries our own idempotency key (the SDK's generated ones are never relied on). 429 and 5xx
 * answers are retried here with the same key, with exponential backoff and jitter (stripeLimits); a connection
 * error, a timeout, a 5xx past the retries or a 409 (the same key still in flight at Stripe) is an unknown outcome
 * (PaymentTimeoutError), which the saga resolves with the same key, then as a pending order. A circuit breaker and a
 * concurrency limit surround every call: while it is open, or every slot is taken, `available()` is false and a
 * checkout answers 503 PAYMENT_PROVIDER_UNAVAILABLE before it reserves anything.
 */
export class StripePaymentProvider implements PaymentProvider {
  readonly name = 'stripe';
  readonly stripe: Stripe;
  private readonly breaker: CircuitBreaker;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly timeoutMs: number;
  private inFlight = 0;

  constructor(opts: StripeProviderOptions) {
    this.timeoutMs = opts.timeoutMs ?? stripeLimits.requestTimeoutMs;
    const base = opts.apiBase;
    const port = base ? Number(base.port || (base.protocol === 'https:' ? 443 : 80)) : undefined;
    this.stripe = new Stripe(opts.apiKey, {
      ...(base ? { host: base.hostname, port, protocol: base.protocol === 'http:' ? 'http' : 'https' } : {}),
      // Our retries, with our keys and our bounds; the SDK still resends once on a reset connection, same key.
      maxNetworkRetries: 0,
      timeout: this.timeoutMs,
      telemetry: false,
    });
    this.clock = opts.clock ?? systemClock;
    this.random = opts.random ?? Math.random;
    this.breaker = new CircuitBreaker(this.clock, stripeLimits.breakerFailuresMax, stripeLimits.breakerOpenMs);
  }

  /** A webhook's event, its signature checked over the exact bytes with the endpoint's secret; throws otherwise. */
  verifyWebhook(rawBody: Buffer, signature: string, secret: string): Stripe.Event {
    return this.stripe.webhooks.constructEvent(rawBody, signature, secret);
  }

  /** False while the breaker is open or every call slot is taken: checkouts answer 503 before reserving. */
  available(): boolean {
    return this.breaker.allows() && this.inFlight < stripeLimits.callsInFlightMax;
  }

  /** Seconds a refused checkout should wait (Retry-After). */
  retryAfterS(): number {
    return Math.max(1, Math.ceil(this.breaker.remainingOpenMs() / 1000));
  }

  async authorize(req: AuthorizeRequest): Promise<PaymentOutcome> {
    try {
      const pi = await this.call(req.idempotencyKey, (timeout) => this.stripe.paymentIntents.create(createParams(req), { idempotencyKey: req.idempotencyKey, timeout }));
      return outcomeOf(pi);
    } catch (err) {
      if (err instanceof Stripe.errors.StripeIdempotencyError) return this.authorizedUnder(req, err);
      return authorizeFailure(err);
    }
  }

  /**
   * Stripe refused the key because it was used with other parameters: a PaymentIntent was made under it, and this
   * request cannot have its answer. It is found by its checkout (the metadata every authorization carries); until
   * Stripe's search shows it (its index trails writes by up to a minute) the outcome is unknown, never "nothing".
   */
  private async authorizedUnder(req: AuthorizeRequest, err: Stripe.errors.StripeIdempotencyError): Promise<PaymentOutcome> {
    const checkoutId = req.metadata['checkoutId'];
    const found = checkoutId === undefined ? [] : await this.findByCheckout(checkoutId);
    const open = found.find((s) => s.status === 'authorized' || s.status === 'requires_action');
    if (open === undefined) {
      if (found.length === 0) throw new PaymentTimeoutError(`the key ${req.idempotencyKey} was used with other parameters and its PaymentIntent is not found yet: ${stripeMessage(err)}`);
      // Found, and no longer open: declined, cancelled or settled. Nothing authorizes under this key any more.
      if (found.some((s) => s.status === 'failed')) return { kind: 'declined', declineCode: 'card_declined', message: 'The payment of this checkout was declined.' };
      return { kind: 'error', retryable: false, message: `the PaymentIntent of ${req.idempotencyKey} is ${found.map((s) => s.status).join(', ')}` };
    }
    const pi = await this.call(`retrieve:${open.authId}`, (timeout) => this.stripe.paymentIntents.retrieve(open.authId, {}, { timeout }));
    return outcomeOf(pi);
  }

  capture(req: CaptureRequest): Promise<SettleResult> {
    return this.settle(req.authId, 'captured', req.idempotencyKey, (timeout) => this.stripe.paymentIntents.capture(req.authId, { amount_to_capture: req.amountMinor }, { idempotencyKey: req.idempotencyKey, timeout }));
  }

  void(req: VoidRequest): Promise<SettleResult> {
    return this.settle(req.authId, 'voided', req.idempotencyKey, (timeout) => this.stripe.paymentIntents.cancel(req.authId, {}, { idempotencyKey: req.idempotencyKey, timeout }));
  }

  refund(req: RefundRequest): Promise<SettleResult> {
    return this.settle(req.authId, null, req.idempotencyKey, (timeout) => this.stripe.refunds.create({ payment_intent: req.authId, amount: req.amountMinor }, { idempotencyKey: req.idempotencyKey, timeout }));
  }

  /**
   * Stripe cannot look a key up: the request is sent again with the same key and parameters, and Stripe answers with
   * the stored result of the first (had the first never arrived, it is made now, and the caller voids it).
   */
  lookup(req: AuthorizeRequest): Promise<PaymentOutcome | null> {
    return this.authorize(req).then((o) => {
      if (o.kind === 'error' && o.retryable) throw new PaymentTimeoutError(`lookup of ${req.idempotencyKey}: ${o.message}`);
      return o.kind === 'error' ? null : o;
    });
  }

  async retrieve(authId: string): Promise<PaymentState | null> {
    try {
      return stateOf(await this.call(`retrieve:${authId}`, (timeout) => this.stripe.paymentIntents.retrieve(authId, { expand: ['latest_charge'] }, { timeout })));
    } catch (err) {
      if (err instanceof Stripe.errors.StripeInvalidRequestError && err.code === 'resource_missing') return null;
      throw unknownOrThrow(err);
    }
  }

  /** By Stripe's search on the metadata; its index trails writes by up to a minute. */
  async findByCheckout(checkoutId: string): Promise<PaymentState[]> {
    return this.search(`metadata['${metadataKeys.checkoutId}']:'${quoted(checkoutId)}'`, stripeLimits.searchPageMax);
  }

  /**
   * One search page. Stripe's search does not mix AND and OR, so the open statuses are listed one after the other;
   * the cursor is `<status index>:<Stripe's next_page token>` (an empty token starts that status).
   */
  async listOpen(createdBeforeMs: number, limit: number, cursor: string | null): Promise<OpenPage> {
    const before = Math.floor(createdBeforeMs / 1000);
    const at = cursor === null ? { status: 0, page: '' } : parseCursor(cursor);
    const query = `status:'${openStatuses[at.status]}' AND created<${before}`;
    const { states, next } = await this.searchPage(query, limit, at.page || undefined);
    if (next !== null) return { open: states, next: `${at.status}:${next}` };
    return { open: states, next: at.status + 1 < openStatuses.length ? `${at.status + 1}:` : null };
  }

  private async search(query: string, limit: number): Promise<PaymentState[]> {
    return (await this.searchPage(query, limit, undefined)).states;
  }

  private async searchPage(query: string, limit: number, page: string | undefined): Promise<{ states: PaymentState[]; next: string | null }> {
    try {
      const params = { query, limit: Math.max(1, Math.min(limit, stripeLimits.searchPageMax)), expand: ['data.latest_charge'], ...(page ? { page } : {}) };
      const result = await this.call(`search:${query}:${page ?? ''}`, (timeout) => this.stripe.paymentIntents.search(params, { timeout }));
      return { states: result.data.map(stateOf), next: result.has_more && result.next_page ? result.next_page : null };
    } catch (err) {
      throw unknownOrThrow(err);
    }
  }

  /**
   * A capture, cancel or refund. Stripe refuses one that finds the PaymentIntent already where it was going (a repeat
   * with another key, or a change made elsewhere): the state read back decides. Unknown outcomes throw.
   */
  private async settle(authId: string, goal: PaymentState['status'] | null, subject: string, call: (timeoutMs: number) => Promise<unknown>): Promise<SettleResult> {
    try {
      await this.call(subject, call);
      return { ok: true };
    } catch (err) {
      if (err instanceof ProviderUnavailableError) return { ok: false, message: err.message, retryable: true };
      if (err instanceof Stripe.errors.StripeRateLimitError) return { ok: false, message: stripeMessage(err), retryable: true };
      if (!(err instanceof Stripe.errors.StripeError) || isUnknown(err)) throw unknownOrThrow(err);
      if (goal !== null && err.code === 'payment_intent_unexpected_state') {
        const now = await this.retrieve(authId);
        if (now?.status === goal) return { ok: true };
      }
      return { ok: false, message: `${err.code ?? err.type}: ${err.message}` };
    }
  }

  /**
   * One call (about `subject`: its idempotency key, or what a read asks for) through the breaker and the concurrency limit, retried on 429 and 5xx with the same key while the breaker
   * allows, within stripeLimits.callBudgetMs in all: each request's timeout is what is left of it, and no retry starts
   * that could not finish inside it, so the caller's deadline (paymentCallTimeoutMs) never passes while requests still
   * go out.
   */
  private async call<T>(subject: string, fn: (timeoutMs: number) => Promise<T>): Promise<T> {
    if (!this.available()) throw new ProviderUnavailableError();
    const deadline = this.clock.now() + stripeLimits.callBudgetMs;
    this.inFlight++;
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          const value = await fn(Math.max(1, Math.min(this.timeoutMs, deadline - this.clock.now())));
          this.breaker.succeeded();
          return value;
        } catch (err) {
          const transient = err instanceof Stripe.errors.StripeRateLimitError || (err instanceof Stripe.errors.StripeAPIError && (err.statusCode ?? 500) >= 500);
          if (transient || err instanceof Stripe.errors.StripeConnectionError) this.breaker.failed(subject);
          else if (err instanceof Stripe.errors.StripeError) this.breaker.succeeded();
          // A failure that opened the circuit ends the retries too: while it is open nothing is sent.
          if (!transient || attempt >= stripeLimits.retriesMax || !this.breaker.allows()) throw err;
          const delayMs = this.backoffMs(attempt);
          if (this.clock.now() + delayMs + stripeLimits.attemptMinMs > deadline) throw err;
          await new Promise<void>((resolve) => this.clock.setTimer(this.clock.now() + delayMs, resolve));
          // Other calls may have opened the circuit meanwhile: while it is open nothing is sent.
          if (!this.breaker.allows()) throw err;
        }
      }
    } finally {
      this.inFlight--;
    }
  }

  private backoffMs(attempt: number): number {
    const capMs = Math.min(stripeLimits.retryDelayMsMax, stripeLimits.retryDelayMsBase * 2 ** attempt);
    // "Equal jitter": half the delay fixed, half random, so retries of many calls spread out.
    return capMs / 2 + this.random() * (capMs / 2);
  }
}

function createParams(req: AuthorizeRequest): Stripe.PaymentIntentCreateParams {
  const metadata: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.metadata)) metadata[metadataKeys[k as keyof typeof metadataKeys] ?? k] = v;
  return {
    amount: req.amountMinor,
    currency: req.currency.toLowerCase(),
    payment_method: req.paymentMethod,
    confirm: true,
    capture_method: 'manual',
    // Card payments without redirects: a 3-D Secure challenge comes back as requires_action for Stripe.js.
    automatic_payment_methods: { enabled: true, allow_redirects: 'never' },
    metadata,
  };
}

function outcomeOf(pi: Stripe.PaymentIntent): PaymentOutcome {
  const currency = pi.currency.toUpperCase();
  switch (pi.status) {
    case 'requires_capture':
    case 'succeeded':
      return { kind: 'authorized', authId: pi.id, amountMinor: pi.amount, currency };
    case 'requires_action':
    case 'requires_confirmation':
      return { kind: 'requires_action', authId: pi.id, clientSecret: pi.client_secret ?? '', amountMinor: pi.amount, currency };
    case 'requires_payment_method': {
      const e = pi.last_payment_error;
      return { kind: 'declined', declineCode: e?.decline_code ?? e?.code ?? 'card_declined', message: e?.message ?? 'The payment was declined.' };
    }
    case 'processing':
      throw new PaymentTimeoutError(`PaymentIntent ${pi.id} is still processing`);
    default:
      return { kind: 'error', retryable: false, message: `PaymentIntent ${pi.id} is ${pi.status}` };
  }
}

/** The breaker is open or every call slot is taken: nothing was sent. */
export class ProviderUnavailableError extends Error {
  constructor() {
    super('the Stripe circuit is open or every call slot is taken; nothing was sent');
    this.name = 'ProviderUnavailableError';
  }
}

function authorizeFailure(err: unknown): PaymentOutcome {
  if (err instanceof ProviderUnavailableError) return { kind: 'error', retryable: true, message: err.message };
  if (err instanceof Stripe.errors.StripeCardError) {
    return { kind: 'declined', declineCode: err.decline_code ?? err.code ?? 'card_declined', message: stripeMessage(err) };
  }
  if (err instanceof Stripe.errors.StripeRateLimitError) return { kind: 'error', retryable: true, message: err.message };
  if (err instanceof Stripe.errors.StripeError && !isUnknown(err)) return { kind: 'error', retryable: false, message: `${err.code ?? err.type}: ${err.message}` };
  throw unknownOrThrow(err);
}

/**
 * Stripe's own message, for the customer (a checkout's 402 shows it): the SDK puts "[<request id>] " before
 * `err.message`, which would make each answer to the same decline differ.
 */
function stripeMessage(err: Stripe.errors.StripeError): string {
  const raw = err.raw as { message?: unknown } | null | undefined;
  return typeof raw?.message === 'string' ? raw.message : err.message;
}

/** A failure after which Stripe may have acted: a lost connection, a timeout, a 5xx, the same key still in flight. */
function isUnknown(err: Stripe.errors.StripeError): boolean {
  return err instanceof Stripe.errors.StripeConnectionError || (err instanceof Stripe.errors.StripeAPIError && ((err.statusCode ?? 500) >= 500 || err.statusCode === 409));
}

function unknownOrThrow(err: unknown): Error {
  if (err instanceof PaymentTimeoutError) return err;
  if (err instanceof Stripe.errors.StripeError) return new PaymentTimeoutError(`Stripe: ${err.message}`);
  return err as Error;
}

function stateOf(pi: Stripe.PaymentIntent): PaymentState {
  const charge = typeof pi.latest_charge === 'object' && pi.latest_charge !== null ? pi.latest_charge : null;
  // Only a captured charge has refunds: cancelling an authorization shows its whole amount as refunded on the charge
  // (the hold released), though nothing was captured or paid back.
  const refundedMinor = pi.status === 'succeeded' ? (charge?.amount_refunded ?? 0) : 0;
  const status: PaymentState['status'] =
    pi.status === 'requires_capture' ? 'authorized'
    : pi.status === 'succeeded' ? (refundedMinor > 0 && refundedMinor >= pi.amount_received ? 'refunded' : 'captured')
    : pi.status === 'canceled' ? 'voided'
    : pi.status === 'requires_payment_method' ? 'failed'
    : 'requires_action';
  return {
    authId: pi.id,
    status,
    amountMinor: pi.amount,
    capturedMinor: pi.amount_received,
    refundedMinor,
    checkoutId: pi.metadata?.[metadataKeys.checkoutId] ?? null,
    orderId: pi.metadata?.[metadataKeys.orderId] ?? null,
    checkoutKey: pi.metadata?.[metadataKeys.checkoutKey] ?? null,
    createdMs: pi.created * 1000,
  };
}

/** The PaymentIntent statuses of an open authorization, in the order listOpen reads them. */
const openStatuses = ['requires_capture', 'requires_action'] as const;

function parseCursor(cursor: string): { status: number; page: string } {
  const colon = cursor.indexOf(':');
  const status = Number(cursor.slice(0, colon));
  if (colon < 0 || !Number.isInteger(status) || status < 0 || status >= openStatuses.length) throw new RangeError(`not a listOpen cursor: ${cursor}`);
  return { status, page: cursor.slice(colon + 1) };
}

/** A value inside a single-quoted search term: its quotes and backslashes escaped, as Stripe's query language wants. */
function quoted(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/'/g, "\\'");
}
