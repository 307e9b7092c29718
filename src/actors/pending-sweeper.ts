import type { Logger } from 'pino';
import { systemClock, type Clock } from '../clock.js';
import { actorLimits, limits } from '../config/limits.js';
import { asCheckoutId, asSku, holdIdFor } from '../domain/ids.js';
import { withTimeout, type PaymentProvider, type PaymentState } from '../payments/provider.js';
import { paymentMethodOf } from '../persistence/pending-order-store.js';
import { authorizeWithRetries } from './checkout-saga.js';
import type { InventoryHandle } from './inventory-actor.js';
import type { OrderService, OrderSource, StoredOrder } from './order-service.js';
import type { PromoUses } from './promo-ledger.js';

export interface PendingOrder extends StoredOrder {
  paymentMethod: string;
}

export interface PendingSource extends OrderSource {
  listPending(limit: number): Promise<PendingOrder[]>;
}

/** One holder of the sweep at a time across the cluster (src/persistence/job-lease.ts). */
export interface SweepLease {
  take(): Promise<boolean>;
  release(): Promise<void>;
}

export interface PendingSweeperDeps {
  store: PendingSource;
  orders: OrderService;
  payments: PaymentProvider;
  inventory: (sku: string) => InventoryHandle;
  promos: PromoUses;
  log: Logger;
  /** The sweep's lease across the cluster; null on a node alone (tests). */
  lease: SweepLease | null;
  /** HOLD_TTL_MS: a pending order's holds expire this long after it was placed. */
  holdTtlMs: number;
  clock?: Clock;
}

/** What became of a pending order: settled, left pending, or not looked at (another node holds the sweep's lease). */
type Resolution = 'confirmed' | 'failed' | 'left' | 'busy';

/**
 * Resolves pending orders (202): those whose payment outcome was unknown at checkout, and those waiting for the
 * customer (3-D Secure). It learns what the provider holds now — by the authorization's id when the order has one,
 * else by sending the authorization again with the same key (the provider answers with what really happened) — and
 * then confirms the order (pinning and committing its holds), fails it (releasing them), or leaves it for the next
 * sweep. Holds of a pending order stay active until their TTL: an authorization that arrives after they expired is
 * voided, so an order is never confirmed on stock it no longer holds. A webhook resolves one order the same way.
 *
 * One sweep at a time: in this process (a sweep still running when the timer fires again is joined, not doubled),
 * and across the cluster (the sweep's lease, renewed before each order). Every order is read again inside its
 * per-order queue before anything is done to it, and nothing is voided or failed unless it is still pending, so no
 * copy read by an earlier sweep can void a confirmed order.
 */
export class PendingSweeper {
  private running: Promise<number> | null = null;
  /** Sweeps and webhook resolutions of this node working under the lease now: it is released when the last ends. */
  private leaseUsers = 0;
  private leaseSteps: Promise<unknown> = Promise.resolve();
  private readonly clock: Clock;

  constructor(private readonly deps: PendingSweeperDeps) {
    this.clock = deps.clock ?? systemClock;
  }

  /** One pass (joined if one is running); resolves with how many pending orders reached a final status. */
  sweep(): Promise<number> {
    this.running ??= this.sweepOnce().finally(() => (this.running = null));
    return this.running;
  }

  /**
   * Resolves one pending order now (a webhook said its payment moved); 'left' when it stays pending. It runs under the
   * sweep's lease like a sweep, so two nodes never resolve one order at once: when another node holds the lease
   * ('busy'), its sweep resolves the order instead, within SWEEP_INTERVAL_MS.
   */
  async resolveOrder(orderId: string): Promise<Resolution> {
    if (!(await this.takeLease())) return 'busy';
    try {
      return await this.resolveQueued(orderId);
    } finally {
      await this.releaseLease();
    }
  }

  /**
   * Takes or renews the sweep's lease for one more user on this node (every user renews it, so overlapping users
   * never let it lapse); false when another node holds it.
   */
  private takeLease(): Promise<boolean> {
    return this.leaseStep(async () => {
      const { lease } = this.deps;
      if (lease && !(await lease.take())) return false;
      this.leaseUsers++;
      return true;
    });
  }

  /** One user is done; the lease goes back once none is left on this node. */
  private releaseLease(): Promise<void> {
    return this.leaseStep(async () => {
      this.leaseUsers--;
      if (this.leaseUsers === 0) await this.deps.lease?.release().catch((err: unknown) => this.deps.log.warn({ err }, 'releasing the sweep lease failed'));
    });
  }

  /** Lease steps one after another, so a release never lands after a take that came later. */
  private leaseStep<T>(fn: () => Promise<T>): Promise<T> {
    const step = this.leaseSteps.then(fn);
    this.leaseSteps = step.catch(() => undefined);
    return step;
  }

  private resolveQueued(orderId: string): Promise<Resolution> {
    return this.deps.orders.serialized(orderId, () => this.resolveFresh(orderId));
  }

  private async sweepOnce(): Promise<number> {
    const { lease, store, log } = this.deps;
    if (!(await this.takeLease())) return 0;
    let resolved = 0;
    try {
      for (const listed of await store.listPending(actorLimits.pendingPerSweepMax)) {
        // The lease is renewed before each order; a sweep that lost it (paused past its TTL) stops at once.
        if (lease && !(await lease.take())) break;
        const done = await this.resolveQueued(listed.orderId).catch((err: unknown) => {
          log.error({ err, orderId: listed.orderId }, 'resolving a pending order failed');
          return 'left' as const;
        });
        if (done !== 'left') resolved++;
      }
    } finally {
      await this.releaseLease();
    }
    return resolved;
  }

  /** Reads the order again inside its queue: only a still-pending order is resolved. */
  private async resolveFresh(orderId: string): Promise<Resolution> {
    const fresh = await this.deps.store.get(orderId);
    if (fresh === null || fresh.status !== 'pending') return 'left';
    return this.resolve({ ...fresh, paymentMethod: paymentMethodOf(fresh) });
  }

  private async resolve(o: PendingOrder): Promise<Resolution> {
    const state = await this.providerState(o);
    if (state === 'left') return 'left';
    if (state === 'nothing') return this.fail(o, 'failed');
    switch (state.status) {
      case 'authorized':
        return this.confirmOrVoid(o, state.authId);
      case 'requires_action':
        // The customer may still authenticate while the holds live; once they expired, the authorization goes.
        if (this.clock.now() < o.createdAt.getTime() + this.deps.holdTtlMs) return 'left';
        return (await this.void(o, state.authId)) ? this.fail(o, 'voided') : 'left';
      case 'failed':
        // Authentication failed: cancelled first, so the customer cannot confirm it later for an order that failed.
        return (await this.void(o, state.authId)) ? this.fail(o, 'failed') : 'left';
      case 'voided':
        return this.fail(o, 'failed');
      default:
        this.deps.log.error({ orderId: o.orderId, authId: state.authId, status: state.status }, 'a pending order whose payment the provider shows as settled: left for the operator');
        return 'left';
    }
  }

  /**
   * The authorization as the provider holds it now; 'nothing' when none exists (declined, or refused as invalid);
   * 'left' when the provider cannot tell now (unknown, or an error that says nothing happened this time).
   */
  private async providerState(o: PendingOrder): Promise<PaymentState | 'nothing' | 'left'> {
    const { payments } = this.deps;
    let authId = o.payment.authId;
    if (authId === null) {
      const target = { checkoutId: o.checkoutId, orderId: o.orderId, amountMinor: o.total, currency: o.currency, paymentMethod: o.paymentMethod, checkoutKey: o.idempotencyKey };
      const outcome = await authorizeWithRetries(payments, target, this.clock);
      if (outcome === 'unknown' || (outcome.kind === 'error' && outcome.retryable)) return 'left';
      if (outcome.kind === 'declined') return 'nothing';
      if (outcome.kind === 'error') {
        // A refusal that says nothing of the first request (a rotated API key, a restricted one): it may have
        // authorized. Left while the holds live; then the order fails, and reconciliation voids the authorization
        // of a failed order if one exists.
        return this.clock.now() < o.createdAt.getTime() + this.deps.holdTtlMs ? 'left' : 'nothing';
      }
      authId = outcome.authId;
    }
    // An answer replayed for a key is the answer of its first request (3-D Secure may have moved on): ask by id.
    const state = await withTimeout(payments.retrieve(authId), limits.paymentCallTimeoutMs, this.clock);
    return state ?? 'nothing';
  }

  private async confirmOrVoid(o: PendingOrder, authId: string): Promise<Resolution> {
    const { inventory, store } = this.deps;
    const holds = holdsOf(o);
    const pins = await Promise.all(holds.map((h) => inventory(h.sku).ask({ t: 'pin', holdId: h.holdId })));
    if (pins.every((p) => p.ok)) {
      const r = await store.transition(o.orderId, ['pending'], 'confirmed', 'authorized', { eventType: 'order.confirmed', payload: { status: 'confirmed', totalMinor: o.total, currency: o.currency } }, { authId });
      if (r === 'ok') await Promise.all(holds.map((h) => inventory(h.sku).ask({ t: 'commit', holdId: h.holdId })));
      return r === 'ok' ? 'confirmed' : 'left';
    }
    // A pin refused for a reason other than a hold that is gone is not a verdict: ask again next sweep.
    if (pins.some((p) => !p.ok && p.code !== 'HOLD_EXPIRED')) return 'left';
    // The order is failed only once its authorization is voided: otherwise the next sweep tries again.
    return (await this.void(o, authId)) ? this.fail(o, 'voided') : 'left';
  }

  private async void(o: PendingOrder, authId: string): Promise<boolean> {
    const voided = await withTimeout(this.deps.payments.void({ idempotencyKey: `${o.orderId}:void`, authId }), limits.paymentCallTimeoutMs, this.clock).catch(
      (err: unknown) => ({ ok: false as const, message: String(err) }),
    );
    if (!voided.ok) this.deps.log.error({ orderId: o.orderId, authId, err: voided.message }, 'void of a pending order failed; retried at the next sweep');
    return voided.ok;
  }

  private async fail(o: PendingOrder, paymentStatus: 'voided' | 'failed'): Promise<Resolution> {
    const { store, inventory, promos } = this.deps;
    const r = await store.transition(o.orderId, ['pending'], 'failed', paymentStatus, { eventType: 'order.failed', payload: { status: 'failed', payment: paymentStatus } }, { releasePromoUsage: true });
    if (r !== 'ok') return 'left';
    await Promise.all(holdsOf(o).map((h) => inventory(h.sku).ask({ t: 'release', holdId: h.holdId, reason: 'payment_failed' })));
    if (o.promoCode) promos.release(o.promoCode, o.customerKey);
    return 'failed';
  }
}

function holdsOf(o: StoredOrder): { sku: string; holdId: ReturnType<typeof holdIdFor> }[] {
  return o.items.map((i) => ({ sku: i.sku, holdId: holdIdFor(asCheckoutId(o.checkoutId), asSku(i.sku)) }));
}
