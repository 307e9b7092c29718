import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { PaymentReconciler, type ReconcileKind } from '../../../src/actors/payment-reconciler.js';
import { SimulatedClock } from '../../../src/clock.js';
import { nodeLimits } from '../../../src/config/limits.js';
import { SimulatedPaymentProvider } from '../../../src/payments/simulated-provider.js';
import type { StoredOrder } from '../../../src/persistence/order-store.js';

/**
 * Reconciliation against the simulated provider: what it cancels, what it leaves to a saga or an operator, and that
 * it runs only under its lease. Authorizations are made at the provider's clock, which the test moves.
 */
const maxAgeMs = 120_000;

function world(opts: { lease?: boolean } = {}) {
  const clock = new SimulatedClock();
  const provider = new SimulatedPaymentProvider({ now: () => clock.now() });
  /** By checkout id. */
  const orders = new Map<string, Pick<StoredOrder, 'orderId' | 'checkoutId' | 'status'> & { payment: { authId: string | null } }>();
  const finished = new Map<string, boolean>();
  const found: ReconcileKind[] = [];
  let sweeps = 0;
  let leaseTaken = 0;
  let leaseReleased = 0;
  const reconciler = new PaymentReconciler({
    payments: provider,
    lease: {
      take: async () => (leaseTaken++, opts.lease ?? true),
      release: async () => void leaseReleased++,
    },
    ordersOf: async (ids) => ids.flatMap((id) => (orders.has(id) ? [orders.get(id) as unknown as StoredOrder] : [])),
    sagaFinished: async (key) => finished.get(key) ?? true,
    sweepPending: async () => void sweeps++,
    orphanMaxAgeMs: maxAgeMs,
    count: (kind) => found.push(kind),
    clock,
    log: pino({ level: 'silent' }),
  });
  let n = 0;
  /** An authorization as a saga makes it, for checkout `co_<n>` with key `key-<n>` (or none). */
  const authorize = async (o: { key?: string | null; paymentMethod?: string } = {}) => {
    const i = ++n;
    const metadata: Record<string, string> = { checkoutId: `co_${i}`, orderId: `ord_${i}` };
    if (o.key !== null) metadata['checkoutKey'] = o.key ?? `key-${i}`;
    const out = await provider.authorize({ idempotencyKey: `co_${i}:authorize`, amountMinor: 1_000, currency: 'USD', paymentMethod: o.paymentMethod ?? 'pm_card_visa', metadata });
    if (out.kind !== 'authorized' && out.kind !== 'requires_action') throw new Error(`expected an authorization, got ${out.kind}`);
    return { authId: out.authId, checkoutId: `co_${i}`, orderId: `ord_${i}`, key: metadata['checkoutKey'] };
  };
  const status = (authId: string) => provider.stateOf(authId)?.status;
  return { clock, provider, orders, finished, found, reconciler, authorize, status, sweeps: () => sweeps, lease: () => ({ taken: leaseTaken, released: leaseReleased }) };
}

describe('PaymentReconciler', () => {
  it('cancels an authorization without an order once its checkout is over and it is older than the bound', async () => {
    const w = world();
    const a = await w.authorize();
    await w.reconciler.reconcile();
    expect(w.status(a.authId)).toBe('authorized'); // too young: its saga may still write the order
    w.clock.advance(maxAgeMs + 1);
    await w.reconciler.reconcile();
    expect(w.status(a.authId)).toBe('voided');
    expect(w.found).toEqual(['orphan_voided']);
    expect(w.sweeps()).toBe(2);
  });

  it('leaves an orphan whose saga is unfinished to that saga, and one that names no checkout key to the operator', async () => {
    const w = world();
    const running = await w.authorize();
    w.finished.set(running.key!, false);
    const anonymous = await w.authorize({ key: null });
    w.clock.advance(maxAgeMs + 1);
    await w.reconciler.reconcile();
    expect([w.status(running.authId), w.status(anonymous.authId)]).toEqual(['authorized', 'authorized']);
    expect(w.found.sort()).toEqual(['orphan_saga_running', 'orphan_unattributed']);
  });

  it('cancels the open authorization of a failed or cancelled order, and leaves pending and confirmed ones', async () => {
    const w = world();
    const byStatus = {} as Record<'failed' | 'cancelled' | 'pending' | 'confirmed', string>;
    for (const s of ['failed', 'cancelled', 'pending', 'confirmed'] as const) {
      const a = await w.authorize({ paymentMethod: s === 'pending' ? 'pm_card_authenticationRequired' : 'pm_card_visa' });
      w.orders.set(a.checkoutId, { orderId: a.orderId, checkoutId: a.checkoutId, status: s, payment: { authId: a.authId } });
      byStatus[s] = a.authId;
    }
    w.clock.advance(maxAgeMs + 1);
    await w.reconciler.reconcile();
    expect(Object.fromEntries(Object.entries(byStatus).map(([s, id]) => [s, w.status(id)]))).toEqual({
      failed: 'voided',
      cancelled: 'voided',
      pending: 'requires_action',
      confirmed: 'authorized',
    });
    expect(w.found).toEqual(['settled_order_voided', 'settled_order_voided']);
  });

  it('logs a confirmed order whose authorization nears its expiry at the provider', async () => {
    const w = world();
    const a = await w.authorize();
    w.orders.set(a.checkoutId, { orderId: a.orderId, checkoutId: a.checkoutId, status: 'confirmed', payment: { authId: a.authId } });
    w.clock.advance(5 * 24 * 60 * 60 * 1000);
    await w.reconciler.reconcile();
    expect(w.found).toEqual([]);
    w.clock.advance(2 * 24 * 60 * 60 * 1000);
    await w.reconciler.reconcile();
    expect(w.found).toEqual(['expiring']);
    expect(w.status(a.authId)).toBe('authorized');
  });

  it('counts a cancellation the provider refuses, and tries again next round', async () => {
    const w = world();
    let refuse = true;
    const provider = w.provider as unknown as { void: SimulatedPaymentProvider['void'] };
    const realVoid = provider.void.bind(w.provider);
    provider.void = (req) => (refuse ? Promise.resolve({ ok: false as const, message: 'refused' }) : realVoid(req));
    const a = await w.authorize();
    w.clock.advance(maxAgeMs + 1);
    await w.reconciler.reconcile();
    expect(w.status(a.authId)).toBe('authorized');
    refuse = false;
    await w.reconciler.reconcile();
    expect(w.status(a.authId)).toBe('voided');
    expect(w.found).toEqual(['void_failed', 'orphan_voided']);
  });

  it('reaches an orphan behind more open authorizations than one round reads, at a later round', async () => {
    const w = world();
    const orphan = await w.authorize();
    const perRound = nodeLimits.reconcilePageSize * nodeLimits.reconcilePagesPerRoundMax;
    for (let i = 0; i < perRound + 10; i++) {
      w.clock.advance(1);
      const a = await w.authorize();
      w.orders.set(a.checkoutId, { orderId: a.orderId, checkoutId: a.checkoutId, status: 'confirmed', payment: { authId: a.authId } });
    }
    w.clock.advance(maxAgeMs + 1);
    await w.reconciler.reconcile();
    expect(w.status(orphan.authId)).toBe('authorized'); // the oldest: past this round's pages
    await w.reconciler.reconcile();
    expect(w.status(orphan.authId)).toBe('voided');
    expect(w.found).toEqual(['orphan_voided']);
  });

  it('starts its listing over when a continued page fails', async () => {
    const w = world();
    const orphan = await w.authorize();
    for (let i = 0; i < nodeLimits.reconcilePageSize * nodeLimits.reconcilePagesPerRoundMax; i++) {
      w.clock.advance(1);
      const a = await w.authorize();
      w.orders.set(a.checkoutId, { orderId: a.orderId, checkoutId: a.checkoutId, status: 'confirmed', payment: { authId: a.authId } });
    }
    w.clock.advance(maxAgeMs + 1);
    await w.reconciler.reconcile();
    const provider = w.provider as unknown as { listOpen: SimulatedPaymentProvider['listOpen'] };
    const realList = provider.listOpen.bind(w.provider);
    const cursors: (string | null)[] = [];
    provider.listOpen = (before, limit, cursor) => {
      cursors.push(cursor);
      return cursors.length === 1 ? Promise.reject(new Error('Invalid page')) : realList(before, limit, cursor);
    };
    await expect(w.reconciler.reconcile()).rejects.toThrow('Invalid page'); // the continued page is refused: this round ends
    await w.reconciler.reconcile(); // from the newest again
    expect(cursors[0]).not.toBeNull();
    expect(cursors[1]).toBeNull();
    expect(w.status(orphan.authId)).toBe('authorized');
  });

  it('does nothing without its lease, and joins a round already running', async () => {
    const idle = world({ lease: false });
    const a = await idle.authorize();
    idle.clock.advance(maxAgeMs + 1);
    await idle.reconciler.reconcile();
    expect([idle.status(a.authId), idle.sweeps(), idle.found]).toEqual(['authorized', 0, []]);

    const w = world();
    await Promise.all([w.reconciler.reconcile(), w.reconciler.reconcile()]);
    expect(w.lease()).toEqual({ taken: 1, released: 1 });
  });
});
