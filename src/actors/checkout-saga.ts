import type { Logger } from 'pino';
import { limits } from '../config/limits.js';
import { errorBody, errorStatus, type ErrorCode } from '../errors.js';
import { asCheckoutId, asSku, holdIdFor, type HoldId } from '../domain/ids.js';
import type { InventoryReply, ReleaseReason } from '../domain/inventory.js';
import type { PricedCart } from '../domain/pricing.js';
import { PaymentTimeoutError, withTimeout, type PaymentOutcome, type PaymentProvider } from '../payments/provider.js';
import type { NewOrder } from '../persistence/order-writer.js';
import type { CheckoutPlan } from '../domain/checkout.js';
import type { CheckoutOutcome, CheckoutResponse, SagaResume } from './checkout-types.js';
import type { InventoryHandle } from './inventory-actor.js';
import type { PromoUses } from './promo-ledger.js';

/** What a saga touches; every dependency is injectable (tests, simulation). */
export interface SagaDeps {
  inventory: (sku: string) => InventoryHandle;
  payments: PaymentProvider;
  orders: { write(order: NewOrder): Promise<void> };
  responses: { saveResponse(rec: { key: string; fingerprint: string; checkoutId: string; statusCode: number; body: unknown }): Promise<void> };
  carts: { markCheckedOut(cartId: string): Promise<void> };
  promos: PromoUses;
  /** The stored final response of a key, if any (written with the order, or after compensation). */
  storedResponse: (key: string) => Promise<CheckoutResponse | null>;
  /** Journals that compensation starts (in the checkout's partition) and resolves when it is durable. */
  recordCompensation: (plan: CheckoutPlan, outcome: CheckoutOutcome, authId: string | null) => Promise<void>;
  holdTtlMs: number;
  log: Logger;
  /**
   * False once this node no longer owns the checkout's partition (a move or a failover gave it to another node,
   * which resumes the saga): the saga stops before its next side effect. Default: always alive.
   */
  alive?: () => boolean;
}

/** The saga stopped because its partition left this node; the new owner runs it. */
export class SagaAbandonedError extends Error {
  constructor(readonly key: string) {
    super(`checkout ${key}: its partition left this node; the new owner resumes it`);
    this.name = 'SagaAbandonedError';
  }
}

function assertAlive(run: SagaRun): void {
  if (run.deps.alive && !run.deps.alive()) throw new SagaAbandonedError(run.plan.key);
}

/** One run of one checkout: the plan plus what the steps learnt. */
interface SagaRun {
  plan: CheckoutPlan;
  deps: SagaDeps;
  holds: { sku: string; holdId: HoldId; qty: number }[];
  authId: string | null;
}

type StepResult = { t: 'next' } | { t: 'compensate'; outcome: CheckoutOutcome } | { t: 'stop'; outcome: CheckoutOutcome };

interface SagaStep {
  name: 'reserve' | 'authorize' | 'pin' | 'order' | 'commit';
  run: (r: SagaRun) => Promise<StepResult>;
  /** Undoes this step when a later one fails; each undo sits beside the step it undoes (STYLE.md habit 7). */
  undo: ((r: SagaRun, reason: ReleaseReason) => Promise<void>) | null;
}

/**
 * The checkout saga as data: validate and price happened before (checkout-prepare.ts), then reserve every line
 * (all or nothing) → authorize with `<checkoutId>:authorize` → pin every hold → write the order → commit the holds.
 * A failing step compensates the completed ones in reverse. Every step is idempotent and keyed by the checkout id,
 * so recovery re-runs a saga from its plan.
 */
const steps: SagaStep[] = [
  { name: 'reserve', run: reserveHolds, undo: releaseHolds },
  { name: 'authorize', run: authorizePayment, undo: voidPayment },
  { name: 'pin', run: pinHolds, undo: null },
  { name: 'order', run: writeConfirmedOrder, undo: null },
  { name: 'commit', run: commitHolds, undo: null },
];

/**
 * Runs a checkout. `resume` is set when the saga runs again (after a crash or an unexpected failure): durable facts
 * decide first, so a re-run never repeats what already happened — a stored response means the order was written
 * (its holds are committed again, a no-op if done) or the compensation finished; a journaled compensation is
 * repeated, never the checkout.
 */
export async function runCheckoutSaga(
  plan: CheckoutPlan,
  deps: SagaDeps,
  resume?: SagaResume,
  recorded?: Promise<unknown>,
  /**
   * Called once the confirmed order is durable, with the response the saga will return: the client can be answered
   * then, while the holds are committed. Safe because the order row is the sale (DESIGN.md: pinned holds are
   * resolved against the orders table, never by the clock): a crash before the commit lands re-runs the saga, which
   * finds the stored response and commits again.
   */
  acknowledge?: (response: CheckoutResponse) => void,
): Promise<CheckoutOutcome> {
  const run: SagaRun = {
    plan,
    deps,
    holds: plan.lines.map((l) => ({ sku: l.sku, qty: l.qty, holdId: holdIdFor(asCheckoutId(plan.checkoutId), asSku(l.sku)) })),
    authId: null,
  };
  if (resume) {
    const stored = await deps.storedResponse(plan.key);
    if (stored) {
      // The answer is durable already: a retry of the key gets it while the holds are committed again.
      acknowledge?.(stored);
      if (stored.statusCode === 201) {
        await markCartCheckedOut(run);
        await commitHolds(run);
      }
      return { retention: 'durable', response: stored };
    }
    if (resume.compensating) {
      run.authId = resume.compensating.authId;
      return compensate(run, steps, resume.compensating.outcome);
    }
  }
  const done: SagaStep[] = [];
  for (const step of steps) {
    assertAlive(run);
    const result = await step.run(run);
    // The plan's journal record (`recorded`) was appended before the holds, so it commits in the same batch or an
    // earlier one: waiting for it here costs nothing, and no payment is attempted for a checkout recovery cannot see.
    if (step.name === 'reserve' && recorded && !(await recorded.then(() => true, () => false))) {
      await releaseHolds(run, 'compensated');
      if (plan.priced.promoCode) deps.promos.release(plan.priced.promoCode, plan.customerKey);
      return { retention: 'forget', response: { statusCode: 503, body: errorBody('NOT_READY') } };
    }
    if (result.t === 'next') {
      done.push(step);
      if (step.name === 'order') acknowledge?.(confirmedResponse(plan, 'confirmed'));
      continue;
    }
    if (result.t === 'stop') return result.outcome;
    // The reserve step's undo also runs when reserve itself failed part-way: some lines may hold stock.
    if (step.name === 'reserve') done.push(step);
    await deps.recordCompensation(plan, result.outcome, run.authId);
    return compensate(run, done, result.outcome);
  }
  return { retention: 'durable', response: confirmedResponse(plan, 'confirmed') };
}

/** Undoes the done steps in reverse, gives the promo use back and stores the response when it is durable. */
async function compensate(run: SagaRun, done: SagaStep[], outcome: CheckoutOutcome): Promise<CheckoutOutcome> {
  assertAlive(run);
  if (run.authId) {
    // Another run of this checkout (an earlier owner of its partition) may have completed it: never void an
    // authorization whose order is stored.
    const stored = await run.deps.storedResponse(run.plan.key);
    if (stored && (stored.statusCode === 201 || stored.statusCode === 202)) return { retention: 'durable', response: stored };
  }
  for (const s of [...done].reverse()) if (s.undo) await s.undo(run, reasonFor(outcome));
  if (run.plan.priced.promoCode) run.deps.promos.release(run.plan.priced.promoCode, run.plan.customerKey);
  if (outcome.retention === 'durable') await saveResponse(run, outcome.response);
  return outcome;
}

function reasonFor(outcome: CheckoutOutcome): ReleaseReason {
  return outcome.response.statusCode === 402 ? 'payment_failed' : 'compensated';
}

async function reserveHolds(r: SagaRun): Promise<StepResult> {
  const replies = await Promise.all(
    r.holds.map((h) => r.deps.inventory(h.sku).ask({ t: 'reserve', holdId: h.holdId, qty: h.qty, ttlMs: r.deps.holdTtlMs, checkoutId: r.plan.checkoutId })),
  );
  const short = replies.flatMap((rep, i) => (!rep.ok && rep.code === 'OUT_OF_STOCK' ? [rep.details] : []));
  if (short.length > 0) return { t: 'compensate', outcome: failure('OUT_OF_STOCK', 'durable', { skus: short }) };
  const other = replies.find((rep): rep is Exclude<InventoryReply, { ok: true }> => !rep.ok);
  if (other) return { t: 'compensate', outcome: failure(other.code === 'OVERLOADED' ? 'OVERLOADED' : 'INTERNAL', 'forget', other.details) };
  return { t: 'next' };
}

async function releaseHolds(r: SagaRun, reason: ReleaseReason): Promise<void> {
  await Promise.all(r.holds.map((h) => r.deps.inventory(h.sku).ask({ t: 'release', holdId: h.holdId, reason })));
}

async function authorizePayment(r: SagaRun): Promise<StepResult> {
  const { checkoutId, orderId, paymentMethod, priced } = r.plan;
  const outcome = await authorizeWithRetries(r.deps.payments, { checkoutId, orderId, paymentMethod, amountMinor: priced.totalMinor, currency: priced.currency });
  if (outcome === 'unknown') return { t: 'stop', outcome: await writePendingOrder(r) };
  if (outcome.kind === 'authorized') {
    r.authId = outcome.authId;
    return { t: 'next' };
  }
  if (outcome.kind === 'declined') {
    return { t: 'compensate', outcome: failure('PAYMENT_DECLINED', 'durable', { declineCode: outcome.declineCode }, outcome.message) };
  }
  return { t: 'compensate', outcome: failure('PAYMENT_PROVIDER_ERROR', 'forget', { retryable: outcome.retryable }) };
}

/** Retries a timed-out authorization with the same key: the provider answers a retry with the first result. */
export interface AuthorizeTarget {
  checkoutId: string;
  orderId: string;
  amountMinor: number;
  currency: string;
  paymentMethod: string;
}

export async function authorizeWithRetries(payments: PaymentProvider, t: AuthorizeTarget): Promise<PaymentOutcome | 'unknown'> {
  for (let attempt = 0; attempt <= limits.paymentRetriesMax; attempt++) {
    try {
      return await withTimeout(
        payments.authorize({
          idempotencyKey: `${t.checkoutId}:authorize`,
          amountMinor: t.amountMinor,
          currency: t.currency,
          paymentMethod: t.paymentMethod,
          metadata: { checkoutId: t.checkoutId, orderId: t.orderId, idempotencyKey: `${t.checkoutId}:authorize` },
        }),
        limits.paymentCallTimeoutMs,
      );
    } catch (err) {
      if (!(err instanceof PaymentTimeoutError)) return { kind: 'error', retryable: true, message: String(err) };
    }
  }
  return 'unknown';
}

async function voidPayment(r: SagaRun): Promise<void> {
  if (!r.authId) return;
  const res = await r.deps.payments.void({ idempotencyKey: `${r.plan.checkoutId}:void`, authId: r.authId }).catch((e: unknown) => ({ ok: false as const, message: String(e) }));
  // A failed void leaves an authorization that lapses on its own at the provider; it is logged for the operator.
  if (!res.ok) r.deps.log.error({ checkoutId: r.plan.checkoutId, authId: r.authId, err: res.message }, 'void failed');
}

async function pinHolds(r: SagaRun): Promise<StepResult> {
  const replies = await Promise.all(r.holds.map((h) => r.deps.inventory(h.sku).ask({ t: 'pin', holdId: h.holdId })));
  if (replies.every((rep) => rep.ok)) return { t: 'next' };
  // Only an expired hold is a verdict; anything else (a write that could not commit, an overloaded or moving SKU)
  // is transient: the saga throws and runs again.
  const other = replies.find((rep) => !rep.ok && rep.code !== 'HOLD_EXPIRED');
  if (other && !other.ok) throw new Error(`pin failed with ${other.code}`);
  const expired = replies.flatMap((rep, i) => (rep.ok ? [] : [r.holds[i]!.sku]));
  return { t: 'compensate', outcome: failure('HOLD_EXPIRED', 'durable', { skus: expired }) };
}

async function writeConfirmedOrder(r: SagaRun): Promise<StepResult> {
  await r.deps.orders.write(orderRow(r, 'confirmed', { statusCode: 201, body: confirmedBody(r.plan, 'confirmed') }));
  // Before the client is answered (acknowledge follows this step): a cart read after the 201 says checked out.
  await markCartCheckedOut(r);
  return { t: 'next' };
}

async function markCartCheckedOut(r: SagaRun): Promise<void> {
  if (r.plan.cartId) await r.deps.carts.markCheckedOut(r.plan.cartId);
}

/** The payment outcome is unknown: the order is pending, holds stay active until their TTL, the sweeper decides. */
async function writePendingOrder(r: SagaRun): Promise<CheckoutOutcome> {
  const response = confirmedResponse(r.plan, 'pending');
  await r.deps.orders.write(orderRow(r, 'pending', response));
  await markCartCheckedOut(r);
  return { retention: 'durable', response };
}

async function commitHolds(r: SagaRun): Promise<StepResult> {
  const replies = await Promise.all(r.holds.map((h) => r.deps.inventory(h.sku).ask({ t: 'commit', holdId: h.holdId })));
  // The order is written: a commit that did not land is retried by running the saga again (resume commits again).
  const failed = replies.find((rep) => !rep.ok);
  if (failed && !failed.ok) throw new Error(`commit failed with ${failed.code}`);
  return { t: 'next' };
}

function orderRow(r: SagaRun, status: 'confirmed' | 'pending', response: CheckoutResponse): NewOrder {
  const { plan } = r;
  const p = plan.priced;
  const expiresAt = new Date(plan.createdAtMs + r.deps.holdTtlMs);
  return {
    orderId: plan.orderId,
    checkoutId: plan.checkoutId,
    idempotencyKey: plan.key,
    fingerprint: plan.fingerprint,
    userId: plan.customerKey,
    status,
    currency: p.currency,
    subtotal: p.subtotalMinor,
    discount: p.discountMinor,
    shipping: p.shippingMinor,
    tax: p.taxMinor,
    total: p.totalMinor,
    promoCode: p.promoCode,
    customerKey: plan.customerKey,
    address: plan.address,
    priced: { snapshot: p, paymentMethod: plan.paymentMethod, lines: plan.lines },
    snapshotHash: p.hash,
    createdAt: new Date(plan.createdAtMs),
    items: p.lines.map((l) => ({ sku: l.sku, qty: l.qty, price: l.unitPriceMinor, discount: l.discountMinor, tax: l.taxMinor, lineTotal: l.totalMinor })),
    payment: {
      paymentId: `pay_${plan.checkoutId}`,
      provider: r.deps.payments.name,
      status: status === 'confirmed' ? 'authorized' : 'pending',
      authId: r.authId,
      amount: p.totalMinor,
      currency: p.currency,
      idempotencyKey: `${plan.checkoutId}:authorize`,
    },
    reservations: r.holds.map((h) => ({ reservationId: h.holdId, sku: h.sku, qty: h.qty, expiresAt })),
    response,
    outbox: [{ eventType: status === 'confirmed' ? 'order.confirmed' : 'order.pending', payload: { orderId: plan.orderId, totalMinor: p.totalMinor, currency: p.currency } }],
  };
}

export function totalsOf(p: PricedCart) {
  return {
    currency: p.currency,
    subtotalMinor: p.subtotalMinor,
    discountMinor: p.discountMinor,
    shippingMinor: p.shippingMinor,
    taxMinor: p.taxMinor,
    totalMinor: p.totalMinor,
  };
}

function confirmedBody(plan: CheckoutPlan, status: 'confirmed' | 'pending') {
  return status === 'confirmed' ? { orderId: plan.orderId, status, totals: totalsOf(plan.priced) } : { orderId: plan.orderId, status };
}

function confirmedResponse(plan: CheckoutPlan, status: 'confirmed' | 'pending'): CheckoutResponse {
  return { statusCode: status === 'confirmed' ? 201 : 202, body: confirmedBody(plan, status) };
}

export function failure(code: ErrorCode, retention: CheckoutOutcome['retention'], details?: Record<string, unknown>, message?: string): CheckoutOutcome {
  return { retention, response: { statusCode: errorStatus(code), body: errorBody(code, details, message) } };
}

async function saveResponse(r: SagaRun, response: CheckoutResponse): Promise<void> {
  await r.deps.responses.saveResponse({
    key: r.plan.key,
    fingerprint: r.plan.fingerprint,
    checkoutId: r.plan.checkoutId,
    statusCode: response.statusCode,
    body: response.body,
  });
}
