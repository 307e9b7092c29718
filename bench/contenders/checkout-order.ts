import { authorizeWithRetries } from '../../src/actors/checkout-saga.js';
import { totalsOf } from '../../src/domain/checkout-result.js';
import type { CheckoutPlan } from '../../src/domain/checkout.js';
import { errorBody } from '../../src/errors.js';
import type { CheckoutDeps } from './checkout.js';
import { inTransaction } from './db.js';
import { answerFromRecord, type Reply } from './idempotency.js';
import { insertOrderRows, markCartCheckedOut } from './order-rows.js';
import type { ShortLine } from './stock-backend.js';

/**
 * A priced checkout (redis-lua: its stock already taken), from the claim to the stored answer:
 *   claim the key → authorize → order transaction (pg kinds: order rows, then the stock UPDATE, then COMMIT).
 * A lost claim gives redis-lua's stock back; every failure after the claim gives it back and voids the authorization.
 */
export async function runOrder(d: CheckoutDeps, plan: CheckoutPlan): Promise<Reply> {
  let claimed: boolean;
  try {
    claimed = await d.keys.claim(plan.key, plan.fingerprint, plan.checkoutId);
  } catch (err) {
    await giveBack(d, plan);
    throw err;
  }
  if (!claimed) {
    await giveBack(d, plan);
    const { record } = await d.stock.lookup(plan.key, []);
    return answerFromRecord(record, plan.fingerprint);
  }
  try {
    return await chargeAndWrite(d, plan);
  } catch (err) {
    // chargeAndWrite voided and gave back before rethrowing: nothing is charged or taken, so the key is freed.
    await d.keys.release(plan.key).catch((e: unknown) => d.log.error({ err: e, key: plan.key }, 'freeing an idempotency key failed'));
    throw err;
  }
}

async function chargeAndWrite(d: CheckoutDeps, plan: CheckoutPlan): Promise<Reply> {
  const { checkoutId, orderId, paymentMethod, priced } = plan;
  const outcome = await authorizeWithRetries(d.payments, { checkoutId, orderId, paymentMethod, amountMinor: priced.totalMinor, currency: priced.currency });
  if (outcome === 'unknown' || outcome.kind === 'error') {
    // boxoffice writes a pending order when the outcome is unknown; the contenders have no sweeper to settle one,
    // so they answer 502 (the simulated provider at the bench's settings never times out).
    await giveBack(d, plan);
    await d.keys.release(plan.key);
    return { statusCode: 502, body: errorBody('PAYMENT_PROVIDER_ERROR', { retryable: outcome === 'unknown' || outcome.retryable }), replayed: false };
  }
  if (outcome.kind === 'declined') {
    await giveBack(d, plan);
    return d.keys.finish(plan.key, 402, errorBody('PAYMENT_DECLINED', { declineCode: outcome.declineCode }, outcome.message));
  }
  let refusal: { statusCode: number; body: unknown } | null;
  try {
    refusal = await writeOrder(d, plan, outcome.authId);
  } catch (err) {
    await voidAuthorization(d, plan, outcome.authId);
    await giveBack(d, plan);
    throw err;
  }
  if (refusal !== null) {
    await voidAuthorization(d, plan, outcome.authId);
    await giveBack(d, plan);
    return d.keys.finish(plan.key, refusal.statusCode, refusal.body);
  }
  d.onSold(plan.lines);
  return { statusCode: 201, body: confirmedBody(plan), replayed: false };
}

/**
 * ONE transaction: every order row and the key's 201 in one statement, the cart's status flip, then the stock.
 * Stock comes last so the hot row is locked for the shortest time (from its UPDATE to COMMIT). A short line or a
 * cart checked out meanwhile rolls everything back and answers 409.
 */
async function writeOrder(d: CheckoutDeps, plan: CheckoutPlan, authId: string): Promise<{ statusCode: number; body: unknown } | null> {
  if (!d.stock.takesInTransaction && plan.cartId === null) {
    // redis-lua buy-now: the order is one statement, which PostgreSQL runs as its own transaction; BEGIN and COMMIT
    // would only add two round trips.
    const client = await d.pool.connect();
    try {
      await insertOrderRows(client, plan, { provider: d.payments.name, authId }, confirmedBody(plan));
    } finally {
      client.release();
    }
    return null;
  }
  return inTransaction(d.pool, async (client) => {
    await insertOrderRows(client, plan, { provider: d.payments.name, authId }, confirmedBody(plan));
    if (plan.cartId !== null && !(await markCartCheckedOut(client, plan.cartId, d.nowMs()))) {
      return { commit: false, value: { statusCode: 409, body: errorBody('CART_CHECKED_OUT', { cartId: plan.cartId }) } };
    }
    const short = await d.stock.takeInTransaction(client, plan.lines);
    if (short !== null) return { commit: false, value: { statusCode: 409, body: outOfStockBody(short) } };
    return { commit: true, value: null };
  });
}

function confirmedBody(plan: CheckoutPlan) {
  return { orderId: plan.orderId, status: 'confirmed' as const, totals: totalsOf(plan.priced) };
}

function outOfStockBody(short: ShortLine[]) {
  return errorBody('OUT_OF_STOCK', { skus: short });
}

async function voidAuthorization(d: CheckoutDeps, plan: CheckoutPlan, authId: string): Promise<void> {
  const res = await d.payments
    .void({ idempotencyKey: `${plan.checkoutId}:void`, authId })
    .catch((e: unknown) => ({ ok: false as const, message: String(e) }));
  // A failed void leaves an authorization that lapses at the provider on its own; the operator sees it logged.
  if (!res.ok) d.log.error({ checkoutId: plan.checkoutId, authId, err: res.message }, 'void failed');
}

/** Logged, not thrown: a failed give-back must not hide the error that caused it (the checks report lost units). */
async function giveBack(d: CheckoutDeps, plan: CheckoutPlan): Promise<void> {
  await d.stock.giveBack(plan.lines).catch((err: unknown) => d.log.error({ err, checkoutId: plan.checkoutId }, 'giving stock back failed'));
}
