import { providerLimits } from '../config/limits.js';
import { mulberry32 } from './mulberry32.js';
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

/**
 * A payment provider that lives in memory and behaves like Stripe's test mode: the same test payment methods, the
 * same idempotency rules, the same state rules for capture, cancel and refund. Faults (latency, errors, timeouts with
 * or without the effect having happened) are injectable and deterministic, so a seeded simulation replays exactly.
 */

/**
 * What an injected fault does:
 * - 'timeout': the provider acts (the authorization or capture happens) but the response is lost; the call rejects
 *   with PaymentTimeoutError. A retry with the same key gets the stored result, as with Stripe.
 * - 'timeout-unprocessed': the request is lost before the provider sees it; the call rejects with PaymentTimeoutError
 *   and nothing happened, so `lookup` answers null and a retry performs the operation for the first time.
 * - 'error': the provider refuses before doing anything, like Stripe's 429 rate_limit; retryable, nothing stored.
 */
export type SimulatedFault = 'timeout' | 'timeout-unprocessed' | 'error';
export type SimulatedOperation = 'authorize' | 'capture' | 'void' | 'refund' | 'lookup';
export type SettleOperation = 'capture' | 'void' | 'refund';
export type SettleRequest = CaptureRequest | VoidRequest | RefundRequest;

export interface SimulatedPaymentProviderOptions {
  /** Simulated round-trip time per call, fixed or per operation. Default 0 (answers on the next microtask). */
  latencyMs?: number | ((op: SimulatedOperation) => number);
  /** Share of authorize calls that fail with a retryable 'error' fault, drawn from `rng`. Default 0. */
  failureRate?: number;
  /** Share of authorize calls that time out after the provider acted ('timeout' fault), drawn from `rng`. Default 0. */
  timeoutRate?: number;
  /** Source of randomness for the rates above. Default: mulberry32(seed). */
  rng?: () => number;
  /** Seed of the default rng. Default 1. */
  seed?: number;
  /** How latency is waited for; tests inject a recorder or rely on fake timers. Default: setTimeout. */
  sleep?: (ms: number) => Promise<void>;
  /** Scripts an exact fault for one authorize call; returning nothing falls back to the rates. */
  beforeAuthorize?: (req: AuthorizeRequest) => SimulatedFault | void;
  /** Scripts an exact fault for one capture, void or refund call. */
  beforeSettle?: (op: SettleOperation, req: SettleRequest) => SimulatedFault | void;
  /** The provider's clock, for the creation time of authorizations (listOpen). Default: Date.now. */
  now?: () => number;
  /**
   * A node's provider lives and dies with its process. With an instance id, authorization ids carry it
   * (`pi_sim_<instance>_<n>`), so a restarted node never takes an earlier process's id for one of its own, and a void
   * of an authorization it never issued is done: that authorization went with its process and holds nothing.
   * Capturing or refunding one is still refused. Default: none (ids `pi_sim_<n>`; the tests' shared provider).
   */
  instanceId?: string;
}

export type AuthorizationStatus = 'requires_action' | 'authorized' | 'captured' | 'voided' | 'refunded' | 'failed';

export interface AuthorizationState {
  authId: string;
  status: AuthorizationStatus;
  paymentMethod: string;
  currency: string;
  amountMinor: number;
  capturedMinor: number;
  refundedMinor: number;
  metadata: Record<string, string>;
  createdMs: number;
}

interface TestPaymentMethod {
  decline?: { code: string; message: string };
  /** The card asks for 3-D Secure: the authorization waits for the customer (authenticate()). */
  requiresAction?: true;
}

/** Stripe's test payment methods (https://docs.stripe.com/testing) that this simulator understands. */
export const simulatedTestPaymentMethods: ReadonlyMap<string, TestPaymentMethod> = new Map<string, TestPaymentMethod>([
  ['pm_card_visa', {}],
  ['pm_card_mastercard', {}],
  ['pm_card_amex', {}],
  ['pm_card_chargeDeclined', { decline: { code: 'generic_decline', message: 'Your card was declined.' } }],
  [
    'pm_card_chargeDeclinedInsufficientFunds',
    { decline: { code: 'insufficient_funds', message: 'Your card has insufficient funds.' } },
  ],
  ['pm_card_chargeDeclinedExpiredCard', { decline: { code: 'expired_card', message: 'Your card has expired.' } }],
  ['pm_card_authenticationRequired', { requiresAction: true }],
  ['pm_card_threeDSecure2Required', { requiresAction: true }],
]);

type StoredResult =
  | { op: 'authorize'; fingerprint: string; outcome: PaymentOutcome }
  | { op: SettleOperation; fingerprint: string; result: SettleResult };

export class SimulatedPaymentProvider implements PaymentProvider {
  readonly name = 'simulated';

  private readonly latencyMs: number | ((op: SimulatedOperation) => number);
  private readonly failureRate: number;
  private readonly timeoutRate: number;
  private readonly rng: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly beforeAuthorize: SimulatedPaymentProviderOptions['beforeAuthorize'];
  private readonly beforeSettle: SimulatedPaymentProviderOptions['beforeSettle'];
  private readonly now: () => number;

  /** Results by idempotency key, one key space for every operation as at Stripe. */
  private readonly results = new Map<string, StoredResult>();
  private readonly auths = new Map<string, AuthorizationState>();
  private authSeq = 0;
  private readonly idPrefix: string;
  private authorizationCount = 0;
  private captureCount = 0;
  private voidCount = 0;
  private refundCount = 0;

  constructor(options: SimulatedPaymentProviderOptions = {}) {
    this.latencyMs = options.latencyMs ?? 0;
    this.failureRate = options.failureRate ?? 0;
    this.timeoutRate = options.timeoutRate ?? 0;
    this.rng = options.rng ?? mulberry32(options.seed ?? 1);
    this.sleep = options.sleep ?? defaultSleep;
    this.beforeAuthorize = options.beforeAuthorize;
    this.beforeSettle = options.beforeSettle;
    this.now = options.now ?? Date.now;
    this.idPrefix = options.instanceId === undefined ? 'pi_sim_' : `pi_sim_${options.instanceId}_`;
  }

  async authorize(req: AuthorizeRequest): Promise<PaymentOutcome> {
    const fault = this.beforeAuthorize?.(req) ?? this.drawFault();
    if (fault === 'error') {
      await this.wait('authorize');
      return { kind: 'error', retryable: true, message: 'Simulated provider error (rate limited); nothing happened.' };
    }
    // The provider acts when the request arrives; a 'timeout' loses only the response.
    const outcome = fault === 'timeout-unprocessed' ? undefined : this.applyAuthorize(req);
    await this.wait('authorize');
    if (outcome === undefined || fault === 'timeout') throw new PaymentTimeoutError();
    return { ...outcome };
  }

  capture(req: CaptureRequest): Promise<SettleResult> {
    return this.settle('capture', req, () => this.applyCapture(req));
  }

  void(req: VoidRequest): Promise<SettleResult> {
    return this.settle('void', req, () => this.applyVoid(req));
  }

  refund(req: RefundRequest): Promise<SettleResult> {
    return this.settle('refund', req, () => this.applyRefund(req));
  }

  /** The stored result of this authorization request's key, without making one (this provider keeps every key). */
  async lookup(req: AuthorizeRequest): Promise<PaymentOutcome | null> {
    await this.wait('lookup');
    const stored = this.results.get(req.idempotencyKey);
    return stored?.op === 'authorize' ? { ...stored.outcome } : null;
  }

  async findByCheckout(checkoutId: string): Promise<PaymentState[]> {
    await this.wait('lookup');
    return [...this.auths.values()].filter((a) => a.metadata['checkoutId'] === checkoutId).map(stateOf);
  }

  /**
   * Newest first, as Stripe's search lists. The cursor is the position (creation time, id) of the last authorization
   * of the page before, so the next page starts after it even if it was settled since.
   */
  async listOpen(createdBeforeMs: number, limit: number, cursor: string | null): Promise<OpenPage> {
    await this.wait('lookup');
    const key = (a: { createdMs: number; authId: string }) => `${String(a.createdMs).padStart(16, '0')}:${a.authId}`;
    const open = [...this.auths.values()]
      .filter((a) => (a.status === 'authorized' || a.status === 'requires_action') && a.createdMs < createdBeforeMs && (cursor === null || key(a) < cursor))
      .sort((a, b) => (key(a) < key(b) ? 1 : -1));
    const page = open.slice(0, limit);
    return { open: page.map(stateOf), next: open.length > limit ? key(page[page.length - 1]!) : null };
  }

  /**
   * The customer completes (or fails) 3-D Secure for an authorization waiting for it, as Stripe.js would: it becomes
   * authorized, or failed. False when it was not waiting.
   */
  authenticate(authId: string, outcome: 'succeed' | 'fail'): boolean {
    const auth = this.auths.get(authId);
    if (auth?.status !== 'requires_action') return false;
    auth.status = outcome === 'succeed' ? 'authorized' : 'failed';
    if (outcome === 'succeed') this.authorizationCount += 1;
    return true;
  }

  /** Authorizations that took effect (declines, errors and idempotent replays do not count). */
  authorizations(): number {
    return this.authorizationCount;
  }

  captures(): number {
    return this.captureCount;
  }

  voids(): number {
    return this.voidCount;
  }

  refunds(): number {
    return this.refundCount;
  }

  async retrieve(authId: string): Promise<PaymentState | null> {
    await this.wait('lookup');
    const auth = this.auths.get(authId);
    return auth === undefined ? null : stateOf(auth);
  }

  stateOf(authId: string): AuthorizationState | undefined {
    const auth = this.auths.get(authId);
    return auth === undefined ? undefined : { ...auth };
  }

  private drawFault(): SimulatedFault | undefined {
    if (this.timeoutRate <= 0 && this.failureRate <= 0) return undefined;
    const r = this.rng();
    if (r < this.timeoutRate) return 'timeout';
    if (r < this.timeoutRate + this.failureRate) return 'error';
    return undefined;
  }

  private wait(op: SimulatedOperation): Promise<void> {
    const ms = typeof this.latencyMs === 'function' ? this.latencyMs(op) : this.latencyMs;
    return ms > 0 ? this.sleep(ms) : Promise.resolve();
  }

  private async settle(op: SettleOperation, req: SettleRequest, apply: () => SettleResult): Promise<SettleResult> {
    const fault = this.beforeSettle?.(op, req);
    if (fault === 'error') {
      await this.wait(op);
      return { ok: false, message: `Simulated provider error on ${op} (rate limited); nothing happened.` };
    }
    const result = fault === 'timeout-unprocessed' ? undefined : this.settleOnce(op, req, apply);
    await this.wait(op);
    if (result === undefined || fault === 'timeout') throw new PaymentTimeoutError();
    return { ...result };
  }

  /** Stripe's idempotency for capture, cancel and refund: a stored result per key, parameters must match. */
  private settleOnce(op: SettleOperation, req: SettleRequest, apply: () => SettleResult): SettleResult {
    const fingerprint = `${op}|${req.authId}|${'amountMinor' in req ? req.amountMinor : ''}`;
    const stored = this.results.get(req.idempotencyKey);
    if (stored !== undefined) {
      if (stored.op === 'authorize' || stored.op !== op || stored.fingerprint !== fingerprint) {
        return { ok: false, message: keyReusedMessage(req.idempotencyKey) };
      }
      return stored.result;
    }
    const invalidKey = checkIdempotencyKey(req.idempotencyKey);
    if (invalidKey !== undefined) return { ok: false, message: invalidKey };
    const result = apply();
    this.results.set(req.idempotencyKey, { op, fingerprint, result });
    return result;
  }

  private applyAuthorize(req: AuthorizeRequest): PaymentOutcome {
    const fingerprint = authorizeFingerprint(req);
    const stored = this.results.get(req.idempotencyKey);
    if (stored !== undefined) {
      if (stored.op !== 'authorize' || stored.fingerprint !== fingerprint) {
        return { kind: 'error', retryable: false, message: keyReusedMessage(req.idempotencyKey) };
      }
      return stored.outcome;
    }
    // Requests that fail validation store nothing, as at Stripe: the key stays free for a corrected request.
    const invalid = checkAuthorizeRequest(req);
    if (invalid !== undefined) return { kind: 'error', retryable: false, message: invalid };
    const method = simulatedTestPaymentMethods.get(req.paymentMethod);
    if (method === undefined) {
      return { kind: 'error', retryable: false, message: `No such PaymentMethod: '${req.paymentMethod}' (resource_missing).` };
    }
    let outcome: PaymentOutcome;
    if (method.decline !== undefined) {
      outcome = { kind: 'declined', declineCode: method.decline.code, message: method.decline.message };
    } else {
      this.authSeq += 1;
      const authId = `${this.idPrefix}${this.authSeq}`;
      const status = method.requiresAction ? 'requires_action' : 'authorized';
      this.auths.set(authId, {
        authId,
        status,
        paymentMethod: req.paymentMethod,
        currency: req.currency,
        amountMinor: req.amountMinor,
        capturedMinor: 0,
        refundedMinor: 0,
        metadata: { ...req.metadata },
        createdMs: this.now(),
      });
      if (status === 'authorized') {
        this.authorizationCount += 1;
        outcome = { kind: 'authorized', authId, amountMinor: req.amountMinor, currency: req.currency };
      } else {
        outcome = { kind: 'requires_action', authId, clientSecret: `${authId}_secret_sim`, amountMinor: req.amountMinor, currency: req.currency };
      }
    }
    this.results.set(req.idempotencyKey, { op: 'authorize', fingerprint, outcome });
    return outcome;
  }

  private applyCapture(req: CaptureRequest): SettleResult {
    const auth = this.auths.get(req.authId);
    if (auth === undefined) return { ok: false, message: `No such authorization: '${req.authId}'.` };
    if (auth.status !== 'authorized') return { ok: false, message: `Cannot capture an authorization that is ${auth.status}.` };
    if (!isPositiveInteger(req.amountMinor) || req.amountMinor > auth.amountMinor) {
      return { ok: false, message: `The capture amount must be an integer from 1 to ${auth.amountMinor}.` };
    }
    auth.status = 'captured';
    auth.capturedMinor = req.amountMinor;
    this.captureCount += 1;
    return { ok: true };
  }

  private applyVoid(req: VoidRequest): SettleResult {
    const auth = this.auths.get(req.authId);
    if (auth === undefined && this.idPrefix !== 'pi_sim_' && !req.authId.startsWith(this.idPrefix)) return { ok: true }; // an earlier process's
    if (auth === undefined) return { ok: false, message: `No such authorization: '${req.authId}'.` };
    // Already voided (with another key, or elsewhere): where it was going, as the Stripe adapter reads it back.
    if (auth.status === 'voided') return { ok: true };
    // As Stripe cancels a PaymentIntent that needs a payment method (a failed 3-D Secure): it can never authorize again.
    if (auth.status !== 'authorized' && auth.status !== 'requires_action' && auth.status !== 'failed') return { ok: false, message: `Cannot void an authorization that is ${auth.status}.` };
    auth.status = 'voided';
    this.voidCount += 1;
    return { ok: true };
  }

  private applyRefund(req: RefundRequest): SettleResult {
    const auth = this.auths.get(req.authId);
    if (auth === undefined) return { ok: false, message: `No such authorization: '${req.authId}'.` };
    if (auth.status !== 'captured') return { ok: false, message: `Cannot refund an authorization that is ${auth.status}.` };
    const refundableMinor = auth.capturedMinor - auth.refundedMinor;
    if (!isPositiveInteger(req.amountMinor) || req.amountMinor > refundableMinor) {
      return { ok: false, message: `The refund amount must be an integer from 1 to ${refundableMinor}.` };
    }
    auth.refundedMinor += req.amountMinor;
    if (auth.refundedMinor === auth.capturedMinor) auth.status = 'refunded';
    this.refundCount += 1;
    return { ok: true };
  }
}

function defaultSleep(ms: number): Promise<void> {
  // Not unref'd: a latency wait is short and bounded, and an unref'd one would let a script exit mid-call.
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function stateOf(a: AuthorizationState): PaymentState {
  return {
    authId: a.authId, status: a.status, amountMinor: a.amountMinor, capturedMinor: a.capturedMinor, refundedMinor: a.refundedMinor,
    checkoutId: a.metadata['checkoutId'] ?? null, orderId: a.metadata['orderId'] ?? null, checkoutKey: a.metadata['checkoutKey'] ?? null, createdMs: a.createdMs,
  };
}

function isPositiveInteger(n: number): boolean {
  return Number.isSafeInteger(n) && n > 0;
}

function keyReusedMessage(key: string): string {
  return `Idempotency key reused with different parameters: '${key}' (idempotency_error).`;
}

function checkIdempotencyKey(key: string): string | undefined {
  if (key.length === 0 || key.length > providerLimits.idempotencyKeyLengthMax) {
    return `The idempotency key must be 1 to ${providerLimits.idempotencyKeyLengthMax} characters.`;
  }
  return undefined;
}

function checkAuthorizeRequest(req: AuthorizeRequest): string | undefined {
  const invalidKey = checkIdempotencyKey(req.idempotencyKey);
  if (invalidKey !== undefined) return invalidKey;
  if (!isPositiveInteger(req.amountMinor)) {
    return 'The amount must be a positive integer in minor units (parameter_invalid_integer).';
  }
  if (!/^[A-Za-z]{3}$/.test(req.currency)) return `Invalid currency: '${req.currency}' (parameter_invalid).`;
  return undefined;
}

/** Every parameter counts, metadata included, in a fixed order. */
function authorizeFingerprint(req: AuthorizeRequest): string {
  const metadata = Object.keys(req.metadata)
    .sort()
    .map((k) => [k, req.metadata[k]]);
  return JSON.stringify([req.amountMinor, req.currency, req.paymentMethod, metadata]);
}
