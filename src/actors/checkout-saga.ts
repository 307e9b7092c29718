import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import { limits } from '../config/limits.js';
import type { CheckoutPlan } from '../domain/checkout.js';
import {
  confirmed,
  pending,
  recordedOrderStatus,
  rejected,
  renderCheckoutResult,
  type CheckoutOutcome,
  type CheckoutRejection,
  type CheckoutResponse,
  type PendingNextAction,
} from '../domain/checkout-result.js';
import { asCheckoutId, asSku, holdIdFor, type HoldId } from '../domain/ids.js';
import type { InventoryReply, ReleaseReason } from '../domain/inventory.js';
import { withTimeout, type PaymentProvider } from '../payments/provider.js';
import { authorizeRequest, authorizeWithRetries, type AuthorizeTarget } from './checkout-authorization.js';
import { OrderRejectedError, type NewOrder, type OrderWriteResult } from '../persistence/order-writer.js';
import type { SagaResume } from './checkout-types.js';
import type { InventoryHandle } from './inventory-actor.js';
import { orderRow } from './order-row.js';
import type { PromoUses } from './promo-ledger.js';
import { checkoutSpan, orderSpan } from '../telemetry/checkout-spans.js';
import { inSpan, type Tracing } from '../telemetry/tracing.js';

export { authorizeRequest, authorizeWithRetries, type AuthorizeTarget } from './checkout-authorization.js';

/** What a saga touches; every dependency is injectable (tests, simulation). */
export interface SagaDeps {
  inventory: (sku: string) => InventoryHandle;
  payments: PaymentProvider;
  /** Writes the order, fenced by the checkout partition's epoch (see OrderWriteResult). */
  orders: { write(order: NewOrder): Promise<OrderWriteResult> };
  responses: { saveResponse(rec: { key: string; fingerprint: string; checkoutId: string; statusCode: number; body: unknown }): Promise<void> };
  carts: { markCheckedOut(cartId: string): Promise<void> };
  promos: PromoUses;
  /** The stored final response of a key, if any (written with the order, or after compensation). */
  storedResponse: (key: string) => Promise<CheckoutResponse | null>;
  /** Journals that compensation starts (in the checkout's partition) and resolves when it is durable. */
  recordCompensation: (plan: CheckoutPlan, rejection: CheckoutRejection, authId: string | null) => Promise<void>;
  holdTtlMs: number;
  log: Logger;
  /** Drives the payment call deadlines; default: the system clock. */
  clock?: Clock;
  /**
   * False once this node no longer owns the checkout's partition (a move or a failover gave it to another node,
   * which resumes the saga): the saga stops before its next side effect. Default: always alive.
   */
  alive?: () => boolean;
  /** Called as each step completes, before the next begins (crash tests stop the process here). */
  afterStep?: (step: SagaStepName) => void;
  /** Spans of the checkout, its steps and its order write (docs/observability.md). Default: none. */
  tracing?: Tracing;
}

export interface SagaRunOptions {
  /**
   * Set when the saga runs again (after a crash or an unexpected failure): durable facts decide first, so a re-run
   * never repeats what already happened.
   */
  resume?: SagaResume;
  /** A fresh saga's `started` journal append, not awaited yet (see the `awaitsPlanRecord` step flag). */
  recorded?: Promise<unknown>;
  /**
   * Called once the confirmed order is durable, with the outcome the saga will return: the client can be answered
   * then, while the holds are committed. Safe because the order row is the sale (DESIGN.md: pinned holds are
   * resolved against the orders table, never by the clock): a crash before the commit lands re-runs the saga, which
   * finds the stored response and commits again.
   */
  acknowledge?: (outcome: CheckoutOutcome) => void;
}

/** The saga stopped because its partition left this node; the new owner runs it. */
export class SagaAbandonedError extends Error {
  constructor(readonly key: string) {
    super(`checkout ${key}: its partition left this node; the new owner resumes it`);
    this.name = 'SagaAbandonedError';
  }
}

/** One run of one checkout: the plan plus what the steps learnt. */
export interface SagaRun {
  plan: CheckoutPlan;
  deps: SagaDeps;
  holds: { sku: string; holdId: HoldId; qty: number }[];
  authId: string | null;
  /**
   * An authorization may exist that this run does not hold: an earlier run of the plan may have made it (this run is
   * a re-run), or one of this run's attempts had an unknown outcome. Before the checkout gives up, it is looked up by
   * its key and voided (DESIGN.md, "Money, exactly once").
   */
  authMaybe: boolean;
}

type StepResult = { t: 'next' } | { t: 'compensate'; rejection: CheckoutRejection } | { t: 'stop'; outcome: CheckoutOutcome };

export type SagaStepName = 'reserve' | 'authorize' | 'pin' | 'order' | 'commit';

interface SagaStep {
  name: SagaStepName;
  run: (r: SagaRun) => Promise<StepResult>;
  /** Undoes this step when a later one fails; each undo sits beside the step it undoes (STYLE.md habit 7). */
  undo: ((r: SagaRun, reason: ReleaseReason) => Promise<void>) | null;
  /** The step may have done part of its work when it fails (some lines held): its own undo runs too. */
  undoesOwnFailure?: boolean;
  /**
   * After this step the plan's journal record must be durable, or the saga gives up before any payment. The record
   * was appended before the step began, so it commits in the same group-commit batch or an earlier one: waiting for
   * it here costs nothing, and no payment is attempted for a checkout recovery cannot see.
   */
  awaitsPlanRecord?: boolean;
  /** Once this step is done the order is durable: the client is answered (`acknowledge`). */
  acknowledges?: boolean;
}

/**
 * The checkout saga as data: validate and price happened before (checkout-prepare.ts), then reserve every line
 * (all or nothing) → authorize with `<checkoutId>:authorize` → pin every hold → write the order → commit the holds.
 * A failing step compensates the completed ones in reverse. Every step is idempotent and keyed by the checkout id,
 * so recovery re-runs a saga from its plan.
 */
const steps: SagaStep[] = [
  { name: 'reserve', run: reserveHolds, undo: releaseHolds, undoesOwnFailure: true, awaitsPlanRecord: true },
  { name: 'authorize', run: authorizePayment, undo: voidPayment },
  { name: 'pin', run: pinHolds, undo: null },
  { name: 'order', run: writeConfirmedOrder, undo: null, acknowledges: true },
  { name: 'commit', run: commitHolds, undo: null },
];

/**
 * Runs a checkout. On a re-run (`resume`), a stored response means the order was written (its holds are committed
 * again, a no-op if done) or the compensation finished; a journaled compensation is repeated, never the checkout.
 */
export async function runCheckoutSaga(plan: CheckoutPlan, deps: SagaDeps, opts: SagaRunOptions = {}): Promise<CheckoutOutcome> {
  const outcome = await inSpan(deps.tracing, 'checkout', () => checkoutSpan(plan, opts.resume !== undefined), () => runSteps(plan, deps, opts));
  if (deps.log.isLevelEnabled('debug')) {
    deps.log.debug({ correlation_id: plan.correlationId, checkoutId: plan.checkoutId, orderId: plan.orderId, outcome: outcome.t }, 'checkout saga finished');
  }
  return outcome;
}

async function runSteps(plan: CheckoutPlan, deps: SagaDeps, opts: SagaRunOptions): Promise<CheckoutOutcome> {
  const run: SagaRun = {
    plan,
    deps,
    holds: plan.lines.map((l) => ({ sku: l.sku, qty: l.qty, holdId: holdIdFor(asCheckoutId(plan.checkoutId), asSku(l.sku)) })),
    authId: null,
    authMaybe: opts.resume !== undefined,
  };
  if (opts.resume) {
    const stored = await deps.storedResponse(plan.key);
    if (stored) return finishRecorded(run, stored, opts.acknowledge);
    if (opts.resume.compensating) {
      run.authId = opts.resume.compensating.authId;
      return compensateInSpan(run, steps, opts.resume.compensating.rejection);
    }
  }
  const done: SagaStep[] = [];
  for (const step of steps) {
    assertAlive(run);
    const result = await inSpan(deps.tracing, `checkout.${step.name}`, null, () => step.run(run));
    const undoable = result.t === 'next' || step.undoesOwnFailure ? [...done, step] : done;
    if (step.awaitsPlanRecord && opts.recorded && !(await opts.recorded.then(() => true, () => false))) return abandonUnrecorded(run, undoable);
    if (result.t === 'stop') return result.outcome;
    if (result.t === 'compensate') {
      await deps.recordCompensation(plan, result.rejection, run.authId);
      return compensateInSpan(run, undoable, result.rejection);
    }
    done.push(step);
    deps.afterStep?.(step.name);
    if (step.acknowledges) opts.acknowledge?.(confirmed(plan));
  }
  return confirmed(plan);
}

/** The answer is durable already: a retry of the key gets it while a confirmed order's holds are committed again. */
async function finishRecorded(run: SagaRun, stored: CheckoutResponse, acknowledge: SagaRunOptions['acknowledge']): Promise<CheckoutOutcome> {
  const outcome: CheckoutOutcome = { t: 'recorded', response: stored };
  acknowledge?.(outcome);
  if (recordedOrderStatus(stored) === 'confirmed') {
    await markCartCheckedOut(run);
    await commitHolds(run);
  }
  return outcome;
}

/** The plan never became durable: undo what was done (no payment was attempted) and free the key. */
async function abandonUnrecorded(run: SagaRun, done: SagaStep[]): Promise<CheckoutOutcome> {
  for (const s of [...done].reverse()) if (s.undo) await s.undo(run, 'compensated');
  releasePromoUse(run);
  return rejected('NOT_READY', 'forget');
}

function compensateInSpan(run: SagaRun, done: SagaStep[], rejection: CheckoutRejection): Promise<CheckoutOutcome> {
  return inSpan(run.deps.tracing, 'checkout.compensate', () => ({ attributes: { 'boxoffice.rejection': rejection.code } }), () => compensate(run, done, rejection));
}

/**
 * Undoes the done steps in reverse, voids any authorization this checkout may hold, gives the promo use back and
 * stores the response when it is durable. An undo that fails throws: the saga runs again later and repeats the
 * journaled compensation (every undo is idempotent), so no hold stays pinned and no authorization outlives it.
 */
async function compensate(run: SagaRun, done: SagaStep[], rejection: CheckoutRejection): Promise<CheckoutOutcome> {
  assertAlive(run);
  if (run.authId || run.authMaybe) {
    // Another run of this checkout (an earlier owner of its partition) may have completed it: never void an
    // authorization whose order is stored.
    const stored = await run.deps.storedResponse(run.plan.key);
    if (stored && recordedOrderStatus(stored) !== null) return { t: 'recorded', response: stored };
  }
  const reason: ReleaseReason = rejection.code === 'PAYMENT_DECLINED' ? 'payment_failed' : 'compensated';
  for (const s of [...done].reverse()) if (s.undo) await s.undo(run, reason);
  // The authorize step did not complete (its pending order was refused, say) yet an authorization exists or may.
  if ((run.authId !== null || run.authMaybe) && !done.some((s) => s.undo === voidPayment)) await voidPayment(run);
  releasePromoUse(run);
  if (rejection.retention === 'durable') await saveResponse(run, renderCheckoutResult(rejection));
  return rejection;
}

function assertAlive(run: SagaRun): void {
  if (run.deps.alive && !run.deps.alive()) throw new SagaAbandonedError(run.plan.key);
}

function releasePromoUse(run: SagaRun): void {
  if (run.plan.priced.promoCode) run.deps.promos.release(run.plan.priced.promoCode, run.plan.customerKey);
}

async function reserveHolds(r: SagaRun): Promise<StepResult> {
  const replies = await Promise.all(
    r.holds.map((h) => r.deps.inventory(h.sku).ask({ t: 'reserve', holdId: h.holdId, qty: h.qty, ttlMs: r.deps.holdTtlMs, checkoutId: r.plan.checkoutId, checkoutKey: r.plan.key })),
  );
  const short = replies.flatMap((rep) => (!rep.ok && rep.code === 'OUT_OF_STOCK' ? [rep.details] : []));
  if (short.length > 0) return { t: 'compensate', rejection: rejected('OUT_OF_STOCK', 'durable', { skus: short }) };
  const other = replies.find((rep): rep is Exclude<InventoryReply, { ok: true }> => !rep.ok);
  if (other) return { t: 'compensate', rejection: rejected(other.code === 'OVERLOADED' ? 'OVERLOADED' : 'INTERNAL', 'forget', other.details) };
  return { t: 'next' };
}

/** Releases every hold (a missing one is a no-op); a refused release throws, since a pinned hold never expires. */
async function releaseHolds(r: SagaRun, reason: ReleaseReason): Promise<void> {
  const replies = await Promise.all(r.holds.map((h) => r.deps.inventory(h.sku).ask({ t: 'release', holdId: h.holdId, reason })));
  const refused = replies.find((rep) => !rep.ok);
  if (refused && !refused.ok) throw new Error(`release failed with ${refused.code}`);
}

async function authorizePayment(r: SagaRun): Promise<StepResult> {
  const outcome = await authorizeWithRetries(r.deps.payments, targetOf(r.plan), r.deps.clock);
  if (outcome === 'unknown') {
    r.authMaybe = true;
    return writePendingOrder(r);
  }
  if (outcome.kind === 'authorized') {
    r.authId = outcome.authId;
    return { t: 'next' };
  }
  if (outcome.kind === 'requires_action') {
    // 3-D Secure: the customer completes it in the browser. The order waits as pending with its authorization id,
    // its holds active until their TTL; a webhook or the sweeper confirms it once the provider says authorized, or
    // fails it (and cancels the authorization) if its holds expired first.
    r.authId = outcome.authId;
    return writePendingOrder(r, { type: 'use_stripe_sdk', clientSecret: outcome.clientSecret });
  }
  if (outcome.kind === 'declined') {
    return { t: 'compensate', rejection: rejected('PAYMENT_DECLINED', 'durable', { declineCode: outcome.declineCode }, outcome.message) };
  }
  return { t: 'compensate', rejection: rejected('PAYMENT_PROVIDER_ERROR', 'forget', { retryable: outcome.retryable }) };
}

/** What a checkout's plan authorizes, and the checkout it is for. */
function targetOf(plan: CheckoutPlan): AuthorizeTarget {
  return { checkoutId: plan.checkoutId, orderId: plan.orderId, checkoutKey: plan.key, paymentMethod: plan.paymentMethod, amountMinor: plan.priced.totalMinor, currency: plan.priced.currency };
}

/**
 * Voids the authorization this checkout holds, or the one an earlier attempt may have made (found by its key). Throws
 * when it cannot void or cannot tell (the provider is down): the saga runs again later and tries again, so the
 * checkout never gives up while an authorization may be alive.
 */
async function voidPayment(r: SagaRun): Promise<void> {
  const authId = r.authId ?? (r.authMaybe ? await findAuthorization(r) : null);
  if (authId === null) return;
  const res = await withTimeout(r.deps.payments.void({ idempotencyKey: `${r.plan.orderId}:void`, authId }), limits.paymentCallTimeoutMs, r.deps.clock);
  if (!res.ok) {
    r.deps.log.error({ checkoutId: r.plan.checkoutId, authId, err: res.message, correlation_id: r.plan.correlationId }, 'void failed; the checkout runs again');
    throw new Error(`void of ${authId} failed: ${res.message}`);
  }
}

/**
 * The authorization made with this checkout's key, if any: the provider's record of the key, or, for a provider that
 * keeps none, the authorization sent again with the same key (the provider answers with the first result; had the
 * first never arrived, this one authorizes now and is voided right after). Throws when the answer is unknown.
 */
async function findAuthorization(r: SagaRun): Promise<string | null> {
  const found = await withTimeout(r.deps.payments.lookup(authorizeRequest(targetOf(r.plan))), limits.paymentCallTimeoutMs, r.deps.clock);
  return found?.kind === 'authorized' || found?.kind === 'requires_action' ? found.authId : null;
}

async function pinHolds(r: SagaRun): Promise<StepResult> {
  const replies = await Promise.all(r.holds.map((h) => r.deps.inventory(h.sku).ask({ t: 'pin', holdId: h.holdId })));
  if (replies.every((rep) => rep.ok)) return { t: 'next' };
  // Only an expired hold is a verdict; anything else (a write that could not commit, an overloaded or moving SKU)
  // is transient: the saga throws and runs again.
  const other = replies.find((rep) => !rep.ok && rep.code !== 'HOLD_EXPIRED');
  if (other && !other.ok) throw new Error(`pin failed with ${other.code}`);
  const expired = replies.flatMap((rep, i) => (rep.ok ? [] : [r.holds[i]!.sku]));
  return { t: 'compensate', rejection: rejected('HOLD_EXPIRED', 'durable', { skus: expired }) };
}

async function writeConfirmedOrder(r: SagaRun): Promise<StepResult> {
  const refused = await writeOrder(r, orderRow(r, 'confirmed', renderCheckoutResult(confirmed(r.plan))));
  if (refused) return refused;
  // Before the client is answered (acknowledge follows this step): a cart read after the 201 says checked out.
  await markCartCheckedOut(r);
  return { t: 'next' };
}

/**
 * Writes the order; a transient failure throws (the saga runs again), a permanent refusal by the database is a
 * verdict: the checkout compensates (void, release) and answers 500 INTERNAL durably, instead of retrying for ever
 * with its stock pinned and its key in flight.
 */
async function writeOrder(r: SagaRun, order: NewOrder): Promise<StepResult | null> {
  try {
    const written = await inSpan(r.deps.tracing, 'order.write', () => orderSpan(r.plan, order.status), () => r.deps.orders.write(order));
    // The partition's next owner runs this checkout now: stop without an answer or an undo (the client retries there).
    if (written === 'fenced') throw new SagaAbandonedError(r.plan.key);
    return written === 'existed' ? await followStoredOrder(r, order) : null;
  } catch (err) {
    if (!(err instanceof OrderRejectedError)) throw err;
    r.deps.log.error({ err, checkoutId: r.plan.checkoutId, orderId: r.plan.orderId, correlation_id: r.plan.correlationId }, 'the database refused the order; the checkout is compensated');
    return { t: 'compensate', rejection: rejected('INTERNAL', 'durable', { reason: 'the order could not be stored; nothing was charged' }) };
  }
}

/**
 * Another run of this checkout (this node's earlier one, or an earlier owner's) stored its order first. Stored as this
 * run would store it: go on (commit the holds again). Stored otherwise (pending while this run confirms, say): the
 * stored order is the truth; the saga ends with its answer and leaves the holds to whoever resolves that order.
 */
async function followStoredOrder(r: SagaRun, order: NewOrder): Promise<StepResult | null> {
  const stored = await r.deps.storedResponse(r.plan.key);
  if (stored === null) throw new Error(`order ${order.orderId} is stored but its answer was not found; the saga runs again`);
  return recordedOrderStatus(stored) === order.status ? null : { t: 'stop', outcome: { t: 'recorded', response: stored } };
}

async function markCartCheckedOut(r: SagaRun): Promise<void> {
  if (r.plan.cartId) await r.deps.carts.markCheckedOut(r.plan.cartId);
}

/**
 * The payment outcome is unknown, or waits for the customer (`nextAction`): the order is pending, holds stay active
 * until their TTL, and the sweeper (or a webhook) decides.
 */
async function writePendingOrder(r: SagaRun, nextAction?: PendingNextAction): Promise<StepResult> {
  const outcome = pending(r.plan, nextAction);
  const refused = await writeOrder(r, orderRow(r, 'pending', renderCheckoutResult(outcome)));
  if (refused) return refused;
  await markCartCheckedOut(r);
  return { t: 'stop', outcome };
}

async function commitHolds(r: SagaRun): Promise<StepResult> {
  const replies = await Promise.all(r.holds.map((h) => r.deps.inventory(h.sku).ask({ t: 'commit', holdId: h.holdId })));
  // The order is written: a commit that did not land is retried by running the saga again (resume commits again).
  const failed = replies.find((rep) => !rep.ok);
  if (failed && !failed.ok) throw new Error(`commit failed with ${failed.code}`);
  return { t: 'next' };
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
