import { describe, expect, it } from 'vitest';
import { runCheckoutSaga, SagaAbandonedError } from '../../../src/actors/checkout-saga.js';
import { rejected, type CheckoutOutcome, type CheckoutResponse } from '../../../src/domain/checkout-result.js';
import { OrderRejectedError } from '../../../src/persistence/order-writer.js';
import { SimulatedPaymentProvider, type SimulatedFault } from '../../../src/payments/simulated-provider.js';
import { type Harness, harness, plan, counts, answer, ttlMs } from './saga-harness.js';

describe('the checkout saga', () => {
  it('confirms an order, commits every hold and authorizes once', async () => {
    const h = harness({ A: 5, B: 5 });
    const out = await runCheckoutSaga(plan([{ sku: 'A', qty: 2 }, { sku: 'B', qty: 1 }]), h.deps);
    expect(answer(out).statusCode).toBe(201);
    expect(counts(h, 'A')).toEqual({ onHand: 5, available: 3, held: 0, sold: 2 });
    expect(counts(h, 'B')).toEqual({ onHand: 5, available: 4, held: 0, sold: 1 });
    expect(h.orders).toHaveLength(1);
    expect(h.provider.authorizations()).toBe(1);
  });

  it('acknowledges once, after the order is stored and before its holds are committed', async () => {
    const h = harness({ A: 5 });
    const marked: string[] = [];
    h.deps.carts = { markCheckedOut: async (cartId) => void marked.push(cartId) };
    const seen: { outcome: CheckoutOutcome; orders: number; carts: number; sold: number; held: number }[] = [];
    const acknowledge = (outcome: CheckoutOutcome) =>
      seen.push({ outcome, orders: h.orders.length, carts: marked.length, sold: counts(h, 'A').sold, held: counts(h, 'A').held });
    const out = await runCheckoutSaga({ ...plan([{ sku: 'A', qty: 2 }]), cartId: 'cart_1' }, h.deps, { acknowledge });
    // The order and the cart's checked-out mark are stored first; the holds commit after the answer.
    expect(seen).toEqual([{ outcome: out, orders: 1, carts: 1, sold: 0, held: 2 }]);
    expect(answer(out).statusCode).toBe(201);
    expect(marked).toEqual(['cart_1']);
    expect(counts(h, 'A')).toEqual({ onHand: 5, available: 3, held: 0, sold: 2 });
  });

  it('never acknowledges a checkout that ends without a confirmed order', async () => {
    const acks: CheckoutOutcome[] = [];
    const declined = harness({ A: 5 });
    const outs = [await runCheckoutSaga(plan([{ sku: 'A', qty: 2 }], 'pm_card_chargeDeclined'), declined.deps, { acknowledge: (r) => acks.push(r) })];
    const short = harness({ B: 1 });
    outs.push(await runCheckoutSaga(plan([{ sku: 'B', qty: 2 }]), short.deps, { acknowledge: (r) => acks.push(r) }));
    const pending = harness({ C: 5 }, () => 'timeout-unprocessed');
    outs.push(await runCheckoutSaga(plan([{ sku: 'C', qty: 2 }]), pending.deps, { acknowledge: (r) => acks.push(r) }));
    expect(outs.map((o) => answer(o).statusCode)).toEqual([402, 409, 202]);
    expect(acks).toEqual([]);
  });

  it('releases the holds and stores a 402 when the card is declined', async () => {
    const h = harness({ A: 5 });
    const out = await runCheckoutSaga(plan([{ sku: 'A', qty: 2 }], 'pm_card_chargeDeclined'), h.deps);
    expect(out).toMatchObject({ t: 'rejected', code: 'PAYMENT_DECLINED', retention: 'durable' });
    expect(answer(out).statusCode).toBe(402);
    expect(counts(h, 'A')).toEqual({ onHand: 5, available: 5, held: 0, sold: 0 });
    expect(h.responses.get('key-1')?.statusCode).toBe(402);
    expect(h.orders).toHaveLength(0);
  });

  it('releases the first line when the second is short, and never calls the provider', async () => {
    const h = harness({ A: 5, B: 1 });
    const out = await runCheckoutSaga(plan([{ sku: 'A', qty: 2 }, { sku: 'B', qty: 2 }]), h.deps);
    expect(answer(out).statusCode).toBe(409);
    expect(answer(out).body).toMatchObject({ error: { code: 'OUT_OF_STOCK', skus: [{ sku: 'B', requested: 2, available: 1 }] } });
    expect(counts(h, 'A')).toEqual({ onHand: 5, available: 5, held: 0, sold: 0 });
    expect(h.provider.authorizations()).toBe(0);
  });

  it('writes a pending order and keeps the holds when the payment outcome stays unknown', async () => {
    const h = harness({ A: 5 }, () => 'timeout-unprocessed');
    const out = await runCheckoutSaga(plan([{ sku: 'A', qty: 2 }]), h.deps);
    expect(answer(out)).toMatchObject({ statusCode: 202, body: { status: 'pending' } });
    expect(h.orders[0]?.status).toBe('pending');
    expect(counts(h, 'A')).toEqual({ onHand: 5, available: 3, held: 2, sold: 0 });
  });

  it('voids the authorization when a hold expired during payment, and journals the compensation first', async () => {
    let h: Harness;
    // The clock passes the hold's TTL while the provider is authorizing.
    h = harness({ A: 5 }, () => void h.clock.advance(ttlMs + 1));
    const out = await runCheckoutSaga(plan([{ sku: 'A', qty: 2 }]), h.deps);
    expect(answer(out)).toMatchObject({ statusCode: 409, body: { error: { code: 'HOLD_EXPIRED' } } });
    expect(h.compensations).toHaveLength(1);
    expect(h.provider.voids()).toBe(1);
    expect(counts(h, 'A')).toEqual({ onHand: 5, available: 5, held: 0, sold: 0 });
  });
});

describe('a checkout whose plan could not be journaled', () => {
  it('releases its holds, never calls the provider, and frees the key (503)', async () => {
    const h = harness({ A: 5 });
    const recorded = Promise.reject(new Error('journal write fenced'));
    recorded.catch(() => undefined);
    const out = await runCheckoutSaga(plan([{ sku: 'A', qty: 2 }]), h.deps, { recorded });
    expect(out).toMatchObject({ t: 'rejected', retention: 'forget' });
    expect(answer(out).statusCode).toBe(503);
    expect(h.provider.authorizations()).toBe(0);
    expect(counts(h, 'A')).toEqual({ onHand: 5, available: 5, held: 0, sold: 0 });
  });
});

describe('a saga that runs again', () => {
  it('after its order was written, only commits its holds: nothing is sold twice', async () => {
    const h = harness({ A: 5 });
    const p = plan([{ sku: 'A', qty: 2 }]);
    await runCheckoutSaga(p, h.deps);
    const again = await runCheckoutSaga(p, h.deps, { resume: { compensating: null } });
    expect(answer(again).statusCode).toBe(201);
    expect(counts(h, 'A')).toEqual({ onHand: 5, available: 3, held: 0, sold: 2 });
    expect(h.provider.authorizations()).toBe(1);
    expect(h.orders).toHaveLength(1);
  });

  it('after the order write failed, completes with one authorization and one sale', async () => {
    const h = harness({ A: 5 });
    h.failOrderWrites = 1;
    const p = plan([{ sku: 'A', qty: 2 }]);
    await expect(runCheckoutSaga(p, h.deps)).rejects.toThrow('database went away');
    expect(counts(h, 'A')).toEqual({ onHand: 5, available: 3, held: 2, sold: 0 });
    const again = await runCheckoutSaga(p, h.deps, { resume: { compensating: null } });
    expect(answer(again).statusCode).toBe(201);
    expect(counts(h, 'A')).toEqual({ onHand: 5, available: 3, held: 0, sold: 2 });
    expect(h.provider.authorizations()).toBe(1);
  });

  it('with a journaled compensation, repeats only the compensation and never authorizes again', async () => {
    const h = harness({ A: 5 });
    const p = plan([{ sku: 'A', qty: 2 }]);
    const compensating = rejected('HOLD_EXPIRED', 'durable', { skus: ['A'] });
    const again = await runCheckoutSaga(p, h.deps, { resume: { compensating: { rejection: compensating, authId: null } } });
    expect(again).toEqual(compensating);
    expect(h.provider.authorizations()).toBe(0);
    expect(h.responses.get('key-1')?.statusCode).toBe(409);
    expect(counts(h, 'A')).toEqual({ onHand: 5, available: 5, held: 0, sold: 0 });
  });
});

describe('a saga whose partition left this node (cluster moves and failovers)', () => {
  it('stops before its next side effect once it is no longer alive, leaving the rest to the new owner', async () => {
    let alive = true;
    let h: Harness;
    // The partition leaves while the provider is authorizing: the saga must not pin, write or commit.
    h = harness({ A: 5 }, () => void (alive = false));
    h.deps = { ...h.deps, alive: () => alive };
    await expect(runCheckoutSaga(plan([{ sku: 'A', qty: 2 }]), h.deps)).rejects.toThrow(SagaAbandonedError);
    expect(h.orders).toHaveLength(0);
    expect(counts(h, 'A')).toEqual({ onHand: 5, available: 3, held: 2, sold: 0 });
  });

  it('never voids an authorization whose order another run of the checkout stored', async () => {
    let h: Harness;
    // While this run authorizes, another run (the partition's earlier owner) completes the order; then this run's
    // hold expires, which would make it void the shared authorization.
    h = harness({ A: 5 }, () => {
      h.responses.set('key-1', { statusCode: 201, body: { orderId: 'ord_key-1', status: 'confirmed' } });
      h.clock.advance(ttlMs + 1);
    });
    const out = await runCheckoutSaga(plan([{ sku: 'A', qty: 2 }]), h.deps);
    expect(answer(out).statusCode).toBe(201);
    expect(h.provider.voids()).toBe(0);
  });

  it('runs again (throws) when a pin fails for a reason other than an expired hold, instead of refunding', async () => {
    const h = harness({ A: 5 });
    const real = h.deps.inventory;
    h.deps = { ...h.deps, inventory: (sku) => ({ ask: (cmd) => (cmd.t === 'pin' ? Promise.resolve({ ok: false as const, code: 'NOT_READY' as const, details: {} }) : real(sku).ask(cmd)) }) };
    await expect(runCheckoutSaga(plan([{ sku: 'A', qty: 1 }]), h.deps)).rejects.toThrow(/pin failed with NOT_READY/);
    expect(h.responses.has('key-1')).toBe(false);
  });
});

describe('money, exactly once (issue 10)', () => {
  it('keeps an authorization whose first attempt timed out unknown when a retry then errors: pending, never a freed key', async () => {
    const faults: (SimulatedFault | undefined)[] = ['timeout', 'error', 'error'];
    const h = harness({ A: 5 }, () => faults.shift());
    const out = await runCheckoutSaga(plan([{ sku: 'A', qty: 2 }]), h.deps);
    // The first attempt authorized (its answer was lost): the order waits for the sweeper, holding its stock.
    expect(out).toMatchObject({ t: 'pending' });
    expect(h.orders[0]?.status).toBe('pending');
    expect(h.provider.authorizations()).toBe(1);
    expect(counts(h, 'A')).toMatchObject({ held: 2 });
  });

  it('voids, before it frees the key, an authorization an earlier run of the plan made', async () => {
    const p = plan([{ sku: 'A', qty: 2 }]);
    const h = harness({ A: 5 });
    const real = h.deps.inventory;
    const refuse = new Set(['pin', 'reserve#2']);
    let reserves = 0;
    h.deps = {
      ...h.deps,
      inventory: (sku) => ({
        ask: (cmd) => {
          const tag = cmd.t === 'reserve' ? `reserve#${++reserves}` : cmd.t;
          if (refuse.delete(tag)) return Promise.resolve({ ok: false as const, code: 'OVERLOADED' as const, details: { retryAfterS: 1 } });
          return real(sku).ask(cmd);
        },
      }),
    };
    await expect(runCheckoutSaga(p, h.deps)).rejects.toThrow(/pin failed with OVERLOADED/);
    expect(h.provider.authorizations()).toBe(1);
    // The re-run's reserve is refused: it gives up (the key is freed for a retry), but only after the first run's
    // authorization, found by its key, is voided.
    const again = await runCheckoutSaga(p, h.deps, { resume: { compensating: null } });
    expect(again).toMatchObject({ t: 'rejected', code: 'OVERLOADED', retention: 'forget' });
    expect(h.provider.voids()).toBe(1);
    expect(counts(h, 'A')).toEqual({ onHand: 5, available: 5, held: 0, sold: 0 });
  });

  it('runs again instead of giving up when the void fails', async () => {
    let h: Harness;
    h = harness({ A: 5 }, () => void h.clock.advance(ttlMs + 1));
    const real = h.provider;
    h.deps = { ...h.deps, payments: Object.assign(Object.create(real) as SimulatedPaymentProvider, { void: async () => ({ ok: false as const, message: 'provider down' }) }) };
    await expect(runCheckoutSaga(plan([{ sku: 'A', qty: 2 }]), h.deps)).rejects.toThrow(/void .* failed/);
    expect(h.responses.has('key-1')).toBe(false);
    // The journaled compensation runs again once the provider answers: the void lands, the answer is stored.
    h.deps = { ...h.deps, payments: real };
    const again = await runCheckoutSaga(plan([{ sku: 'A', qty: 2 }]), h.deps, { resume: { compensating: { rejection: h.compensations[0]!, authId: null } } });
    expect(again).toMatchObject({ t: 'rejected', code: 'HOLD_EXPIRED' });
    expect(real.voids()).toBe(1);
    expect(h.responses.get('key-1')?.statusCode).toBe(409);
  });

  it('takes a permanent refusal of the order write as a verdict: void, release, answer 500 for good', async () => {
    const h = harness({ A: 5 });
    h.deps = { ...h.deps, orders: { write: async (o) => Promise.reject(new OrderRejectedError(o.orderId, '22P05', new Error('unsupported Unicode escape sequence'))) } };
    const out = await runCheckoutSaga(plan([{ sku: 'A', qty: 2 }]), h.deps);
    expect(out).toMatchObject({ t: 'rejected', code: 'INTERNAL', retention: 'durable' });
    expect(h.provider.authorizations()).toBe(1);
    expect(h.provider.voids()).toBe(1);
    expect(counts(h, 'A')).toEqual({ onHand: 5, available: 5, held: 0, sold: 0 });
    expect(h.responses.get('key-1')?.statusCode).toBe(500);
  });

  it('voids what may exist when the pending order of an unknown authorization cannot be stored', async () => {
    const faults: (SimulatedFault | undefined)[] = ['timeout', 'timeout', 'timeout'];
    const h = harness({ A: 5 }, () => faults.shift());
    h.deps = { ...h.deps, orders: { write: async (o) => Promise.reject(new OrderRejectedError(o.orderId, '23514', new Error('check constraint'))) } };
    const out = await runCheckoutSaga(plan([{ sku: 'A', qty: 2 }]), h.deps);
    expect(out).toMatchObject({ t: 'rejected', code: 'INTERNAL' });
    // The first attempt authorized (its answer was lost); the lookup by key finds it and it is voided.
    expect({ authorizations: h.provider.authorizations(), voids: h.provider.voids() }).toEqual({ authorizations: 1, voids: 1 });
    expect(counts(h, 'A')).toEqual({ onHand: 5, available: 5, held: 0, sold: 0 });
  });

  it('never gives up with a hold it could not release: a refused release runs the compensation again', async () => {
    let h: Harness;
    h = harness({ A: 5 }, () => void h.clock.advance(ttlMs + 1));
    const real = h.deps.inventory;
    let refuseRelease = true;
    h.deps = { ...h.deps, inventory: (sku) => ({ ask: (cmd) => (cmd.t === 'release' && refuseRelease ? Promise.resolve({ ok: false as const, code: 'OVERLOADED' as const, details: {} }) : real(sku).ask(cmd)) }) };
    const p = plan([{ sku: 'A', qty: 2 }, { sku: 'B', qty: 1 }].slice(0, 1));
    await expect(runCheckoutSaga(p, h.deps)).rejects.toThrow(/release failed with OVERLOADED/);
    refuseRelease = false;
    await runCheckoutSaga(p, h.deps, { resume: { compensating: { rejection: h.compensations[0]!, authId: null } } });
    expect(counts(h, 'A')).toEqual({ onHand: 5, available: 5, held: 0, sold: 0 });
  });
});

describe('a checkout run by two owners at once (a partition taken over while its old owner still runs)', () => {
  it('stops without an answer or an undo when its order write is fenced: the new owner runs the checkout', async () => {
    const h = harness({ A: 5 });
    h.deps = { ...h.deps, orders: { write: async () => 'fenced' as const } };
    await expect(runCheckoutSaga(plan([{ sku: 'A', qty: 2 }]), h.deps)).rejects.toThrow(SagaAbandonedError);
    // Nothing undone here: no void of the authorization the new owner's run shares, no release of the pinned holds.
    expect(h.compensations).toEqual([]);
    expect(h.provider.authorizations()).toBe(1);
    expect(h.provider.voids()).toBe(0);
    expect(counts(h, 'A')).toMatchObject({ held: 2, sold: 0 });
  });

  it('answers with the order another run stored (pending) instead of its own confirmation, and commits nothing', async () => {
    const h = harness({ A: 5 });
    const p = plan([{ sku: 'A', qty: 2 }]);
    // The old owner's run stored the order pending (its authorization timed out) before this run wrote.
    const storedPending: CheckoutResponse = { statusCode: 202, body: { orderId: p.orderId, status: 'pending' } };
    h.responses.set(p.key, storedPending);
    h.deps = { ...h.deps, orders: { write: async () => 'existed' as const } };
    const acks: CheckoutOutcome[] = [];
    const out = await runCheckoutSaga(p, h.deps, { acknowledge: (o) => acks.push(o) });
    expect(answer(out)).toEqual(storedPending);
    expect(acks).toEqual([]);
    // The holds stay pinned for whoever resolves the pending order (the sweeper, the pinned-hold resolver).
    expect(counts(h, 'A')).toMatchObject({ held: 2, sold: 0 });
  });

  it('goes on when the order another run stored is the one it writes (a re-run after a crash)', async () => {
    const h = harness({ A: 5 });
    const p = plan([{ sku: 'A', qty: 2 }]);
    h.responses.set(p.key, { statusCode: 201, body: { orderId: p.orderId, status: 'confirmed' } });
    h.deps = { ...h.deps, orders: { write: async () => 'existed' as const } };
    expect(answer(await runCheckoutSaga(p, h.deps)).statusCode).toBe(201);
    expect(counts(h, 'A')).toEqual({ onHand: 5, available: 3, held: 0, sold: 2 });
  });
});

describe('3-D Secure', () => {
  it('answers 202 pending with the next action, keeps the holds active and records the authorization id', async () => {
    const h = harness({ A: 5 });
    const out = await runCheckoutSaga(plan([{ sku: 'A', qty: 2 }], 'pm_card_authenticationRequired'), h.deps);
    expect(out).toMatchObject({ t: 'pending', nextAction: { type: 'use_stripe_sdk', clientSecret: expect.stringMatching(/_secret_/) } });
    expect(answer(out)).toMatchObject({ statusCode: 202, body: { status: 'pending', nextAction: { type: 'use_stripe_sdk' } } });
    expect(h.orders[0]).toMatchObject({ status: 'pending', payment: { status: 'pending', authId: expect.stringMatching(/^pi_/) } });
    expect(counts(h, 'A')).toMatchObject({ held: 2, sold: 0 });
    expect(h.provider.authorizations()).toBe(0);
  });
});
