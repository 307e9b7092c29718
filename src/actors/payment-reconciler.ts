import type { Logger } from 'pino';
import { systemClock, type Clock } from '../clock.js';
import { limits, nodeLimits } from '../config/limits.js';
import { withTimeout, type PaymentProvider, type PaymentState } from '../payments/provider.js';
import type { StoredOrder } from '../persistence/order-store.js';

/** What reconciliation found, by kind (a metric label; never an id). */
export type ReconcileKind =
  | 'orphan_voided'
  | 'orphan_saga_running'
  | 'orphan_unattributed'
  | 'settled_order_voided'
  | 'stray_voided'
  | 'expiring'
  | 'void_failed';

export interface PaymentReconcilerDeps {
  payments: PaymentProvider;
  /** One reconciliation at a time across the cluster. */
  lease: { take(): Promise<boolean>; release(): Promise<void> };
  ordersOf: (checkoutIds: string[]) => Promise<StoredOrder[]>;
  /** Whether the saga of a checkout key is over (the journal's tombstone), so it cannot authorize or order again. */
  sagaFinished: (checkoutKey: string) => Promise<boolean>;
  /** The pending-order sweep (pending orders are resolved from their PaymentIntent there). */
  sweepPending: () => Promise<unknown>;
  /** ORPHAN_AUTH_MAX_AGE_MS: an authorization without an order is voided once this old. */
  orphanMaxAgeMs: number;
  count: (kind: ReconcileKind) => void;
  clock?: Clock;
  log: Logger;
}


/**
 * Reconciliation with the payment provider (DESIGN.md, "Money, exactly once"), on start and every
 * RECONCILE_INTERVAL_MS, one at a time across the cluster (its lease):
 * - pending orders are resolved from their PaymentIntent (the sweep);
 * - an open authorization older than ORPHAN_AUTH_MAX_AGE_MS with no order, whose checkout's saga is over (it can
 *   neither order nor void any more), is voided; one whose saga is unfinished is left to it;
 * - an open authorization of an order already failed or cancelled is voided;
 * - one of a confirmed order nearing the provider's 7-day expiry is logged for capture.
 * Every finding is logged with its order and checkout ids and counted by kind.
 */
export class PaymentReconciler {
  private running: Promise<void> | null = null;
  /** A listing of open authorizations that a round left unfinished: the next round goes on from its cursor. */
  private pass: { createdBeforeMs: number; cursor: string | null } | null = null;

  constructor(private readonly deps: PaymentReconcilerDeps) {}

  reconcile(): Promise<void> {
    this.running ??= this.reconcileOnce().finally(() => (this.running = null));
    return this.running;
  }

  private async reconcileOnce(): Promise<void> {
    const { lease, payments, log } = this.deps;
    if (!(await lease.take())) return;
    try {
      await this.deps.sweepPending();
      const clock = this.deps.clock ?? systemClock;
      await this.reconcilePage(await this.listRound(clock), clock);
    } finally {
      await lease.release().catch((err: unknown) => log.warn({ err }, 'releasing the reconciliation lease failed'));
    }
  }

  /**
   * This round's pages of the listing: a listing runs to its end, over as many rounds as it takes, before the next
   * one starts again from the newest. Pages are all read before anything is cancelled, so no page token points past
   * an authorization this round changed; a continued listing the provider refuses (its token went stale) starts over.
   */
  private async listRound(clock: Clock): Promise<PaymentState[]> {
    const pass = this.pass ?? { createdBeforeMs: clock.now() - this.deps.orphanMaxAgeMs, cursor: null };
    this.pass = null;
    const listed: PaymentState[] = [];
    for (let page = 0; page < nodeLimits.reconcilePagesPerRoundMax; page++) {
      const { open, next } = await withTimeout(this.deps.payments.listOpen(pass.createdBeforeMs, nodeLimits.reconcilePageSize, pass.cursor), limits.paymentCallTimeoutMs, clock);
      listed.push(...open);
      if (next === null) return listed;
      pass.cursor = next;
    }
    this.pass = pass;
    return listed;
  }

  private async reconcilePage(open: PaymentState[], clock: Clock): Promise<void> {
    const orders = new Map((await this.deps.ordersOf(open.flatMap((a) => (a.checkoutId ? [a.checkoutId] : [])))).map((o) => [o.checkoutId, o]));
    for (const auth of open) {
      await this.reconcileOne(auth, auth.checkoutId ? orders.get(auth.checkoutId) : undefined, clock).catch((err: unknown) =>
        this.deps.log.error({ err, authId: auth.authId, checkoutId: auth.checkoutId }, 'reconciling an authorization failed; tried again next pass'),
      );
    }
  }

  private async reconcileOne(auth: PaymentState, order: StoredOrder | undefined, clock: Clock): Promise<void> {
    const ids = { authId: auth.authId, checkoutId: auth.checkoutId, orderId: order?.orderId ?? auth.orderId };
    if (order === undefined) {
      if (auth.checkoutKey === null) return this.note('orphan_unattributed', ids, 'an authorization without an order names no checkout key; left for the operator');
      if (!(await this.deps.sagaFinished(auth.checkoutKey))) return this.note('orphan_saga_running', ids, 'an authorization without an order belongs to an unfinished checkout; left to it');
      // The saga may have written its order and ended since the page's orders were read (the order is written before
      // the tombstone): read again, now that the saga is over.
      const [late] = auth.checkoutId === null ? [] : await this.deps.ordersOf([auth.checkoutId]);
      if (late !== undefined) return this.reconcileOne(auth, late, clock);
      // Keyed by the authorization: a checkout's saga may have voided another one with `<orderId>:void` already.
      return this.voidIt(auth, `${auth.authId}:void`, 'orphan_voided', ids, 'an authorization without an order, its checkout over: voided');
    }
    if (order.payment.authId !== null && order.payment.authId !== auth.authId) {
      // A second authorization of one checkout (its create sent again after the provider forgot the key): the order
      // holds the other. Its own key, so the order's `<orderId>:void` stays free for the order's authorization.
      return this.voidIt(auth, `${auth.authId}:void`, 'stray_voided', ids, 'a second open authorization of a checkout whose order holds another: voided');
    }
    if (order.status === 'failed' || order.status === 'cancelled') {
      return this.voidIt(auth, `${auth.authId}:void`, 'settled_order_voided', ids, `an authorization of a ${order.status} order was still open: voided`);
    }
    if (auth.status === 'authorized' && clock.now() - auth.createdMs > nodeLimits.authorizationExpiringAgeMs) this.note('expiring', ids, 'an authorization nears its expiry at the provider: capture (ship) soon');
  }

  private async voidIt(auth: PaymentState, key: string, kind: ReconcileKind, ids: Record<string, unknown>, message: string): Promise<void> {
    const clock = this.deps.clock ?? systemClock;
    const voided = await withTimeout(this.deps.payments.void({ idempotencyKey: key, authId: auth.authId }), limits.paymentCallTimeoutMs, clock);
    if (voided.ok) this.note(kind, ids, message);
    else this.note('void_failed', { ...ids, reason: voided.message }, 'voiding an authorization failed; tried again next round');
  }

  private note(kind: ReconcileKind, ids: Record<string, unknown>, message: string): void {
    this.deps.count(kind);
    const level = kind === 'orphan_saga_running' || kind === 'expiring' ? 'info' : 'warn';
    this.deps.log[level]({ ...ids, kind }, message);
  }
}
