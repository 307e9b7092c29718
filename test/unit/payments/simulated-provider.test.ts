import { afterEach, describe, expect, it, vi } from 'vitest';
import { PaymentTimeoutError, type AuthorizeRequest } from '../../../src/payments/provider.js';
import { SimulatedPaymentProvider, type SimulatedFault } from '../../../src/payments/simulated-provider.js';

function authorizeRequest(overrides: Partial<AuthorizeRequest> = {}): AuthorizeRequest {
  return {
    idempotencyKey: 'chk_1:authorize',
    amountMinor: 4_999,
    currency: 'EUR',
    paymentMethod: 'pm_card_visa',
    metadata: { checkoutId: 'chk_1' },
    ...overrides,
  };
}

async function authorized(provider: SimulatedPaymentProvider, overrides: Partial<AuthorizeRequest> = {}): Promise<string> {
  const outcome = await provider.authorize(authorizeRequest(overrides));
  if (outcome.kind !== 'authorized') throw new Error(`expected an authorization, got ${outcome.kind}`);
  return outcome.authId;
}

describe('SimulatedPaymentProvider: test payment methods', () => {
  it.each(['pm_card_visa', 'pm_card_mastercard', 'pm_card_amex'])('authorizes the full amount with %s', async (paymentMethod) => {
    const provider = new SimulatedPaymentProvider();
    const outcome = await provider.authorize(authorizeRequest({ paymentMethod }));
    expect(outcome).toMatchObject({ kind: 'authorized', amountMinor: 4_999, currency: 'EUR' });
    expect(provider.authorizations()).toBe(1);
    if (outcome.kind === 'authorized') expect(provider.stateOf(outcome.authId)?.status).toBe('authorized');
  });

  it.each([
    ['pm_card_chargeDeclined', 'generic_decline'],
    ['pm_card_chargeDeclinedInsufficientFunds', 'insufficient_funds'],
    ['pm_card_chargeDeclinedExpiredCard', 'expired_card'],
  ])('declines %s with decline code %s and authorizes nothing', async (paymentMethod, declineCode) => {
    const provider = new SimulatedPaymentProvider();
    const outcome = await provider.authorize(authorizeRequest({ paymentMethod }));
    expect(outcome).toMatchObject({ kind: 'declined', declineCode });
    expect(provider.authorizations()).toBe(0);
  });

  it.each([
    ['an unknown payment method', { paymentMethod: 'pm_card_doesNotExist' }],
    ['a payment method named like an object property', { paymentMethod: 'constructor' }],
    ['a zero amount', { amountMinor: 0 }],
    ['a fractional amount', { amountMinor: 10.5 }],
    ['a malformed currency', { currency: 'EURO' }],
    ['an empty idempotency key', { idempotencyKey: '' }],
    ['an idempotency key longer than 255 characters', { idempotencyKey: 'k'.repeat(256) }],
  ])('rejects %s with a non-retryable error and stores nothing', async (_name, overrides) => {
    const provider = new SimulatedPaymentProvider();
    const outcome = await provider.authorize(authorizeRequest(overrides));
    expect(outcome).toMatchObject({ kind: 'error', retryable: false });
    expect(provider.authorizations()).toBe(0);
  });

  it('lets a key that failed validation be used again with corrected parameters', async () => {
    const provider = new SimulatedPaymentProvider();
    await provider.authorize(authorizeRequest({ paymentMethod: 'pm_card_doesNotExist' }));
    const outcome = await provider.authorize(authorizeRequest());
    expect(outcome.kind).toBe('authorized');
  });
});

describe('SimulatedPaymentProvider: idempotency', () => {
  it('answers a replay with the same key and parameters with the stored authorization and charges once', async () => {
    const provider = new SimulatedPaymentProvider();
    const first = await provider.authorize(authorizeRequest());
    const second = await provider.authorize(authorizeRequest());
    expect(second).toEqual(first);
    expect(provider.authorizations()).toBe(1);
  });

  it('replays a decline for the same key instead of trying the card again', async () => {
    const provider = new SimulatedPaymentProvider();
    const request = authorizeRequest({ paymentMethod: 'pm_card_chargeDeclined' });
    const first = await provider.authorize(request);
    expect(await provider.authorize(request)).toEqual(first);
  });

  it('answers concurrent duplicates with one authorization', async () => {
    let release: () => void = () => undefined;
    const inFlight = new Promise<void>((resolve) => {
      release = resolve;
    });
    const provider = new SimulatedPaymentProvider({ latencyMs: 5, sleep: () => inFlight });
    const pending = Promise.all([1, 2, 3].map(() => provider.authorize(authorizeRequest())));
    release();
    const outcomes = await pending;
    expect(new Set(outcomes.map((o) => (o.kind === 'authorized' ? o.authId : o.kind))).size).toBe(1);
    expect(provider.authorizations()).toBe(1);
  });

  it.each([
    ['amount', { amountMinor: 5_000 }],
    ['currency', { currency: 'USD' }],
    ['payment method', { paymentMethod: 'pm_card_mastercard' }],
    ['metadata', { metadata: { checkoutId: 'chk_2' } }],
  ])('rejects a key reused with a different %s and authorizes nothing new', async (_name, overrides) => {
    const provider = new SimulatedPaymentProvider();
    await provider.authorize(authorizeRequest());
    const outcome = await provider.authorize(authorizeRequest(overrides));
    expect(outcome.kind).toBe('error');
    if (outcome.kind === 'error') {
      expect(outcome.retryable).toBe(false);
      expect(outcome.message).toMatch(/idempotency key reused/i);
    }
    expect(provider.authorizations()).toBe(1);
  });

  it('treats metadata in a different key order as the same parameters', async () => {
    const provider = new SimulatedPaymentProvider();
    const first = await provider.authorize(authorizeRequest({ metadata: { a: '1', b: '2' } }));
    const second = await provider.authorize(authorizeRequest({ metadata: { b: '2', a: '1' } }));
    expect(second).toEqual(first);
  });

  it('rejects an authorize key reused for a capture', async () => {
    const provider = new SimulatedPaymentProvider();
    const authId = await authorized(provider);
    const result = await provider.capture({ idempotencyKey: 'chk_1:authorize', authId, amountMinor: 4_999 });
    expect(result).toMatchObject({ ok: false, message: expect.stringMatching(/idempotency key reused/i) });
    expect(provider.captures()).toBe(0);
  });

  it('looks up what happened to a key, and answers null for a key it never saw', async () => {
    const provider = new SimulatedPaymentProvider();
    const outcome = await provider.authorize(authorizeRequest());
    expect(await provider.lookup(authorizeRequest())).toEqual(outcome);
    expect(await provider.lookup(authorizeRequest({ idempotencyKey: 'chk_unknown:authorize' }))).toBeNull();
  });
});

describe('SimulatedPaymentProvider: timeouts and errors', () => {
  it('returns the same authorization to a retry after a timeout that lost the response, counting one', async () => {
    const faults: (SimulatedFault | undefined)[] = ['timeout'];
    const provider = new SimulatedPaymentProvider({ beforeAuthorize: () => faults.shift() });
    await expect(provider.authorize(authorizeRequest())).rejects.toBeInstanceOf(PaymentTimeoutError);
    const lookedUp = await provider.lookup(authorizeRequest());
    const retried = await provider.authorize(authorizeRequest());
    expect(retried.kind).toBe('authorized');
    expect(retried).toEqual(lookedUp);
    expect(provider.authorizations()).toBe(1);
  });

  it('authorizes nothing when the request was lost before reaching the provider', async () => {
    const faults: (SimulatedFault | undefined)[] = ['timeout-unprocessed'];
    const provider = new SimulatedPaymentProvider({ beforeAuthorize: () => faults.shift() });
    await expect(provider.authorize(authorizeRequest())).rejects.toBeInstanceOf(PaymentTimeoutError);
    expect(provider.authorizations()).toBe(0);
    expect(await provider.lookup(authorizeRequest())).toBeNull();
    expect((await provider.authorize(authorizeRequest())).kind).toBe('authorized');
    expect(provider.authorizations()).toBe(1);
  });

  it('answers an injected error as retryable with nothing stored', async () => {
    const faults: (SimulatedFault | undefined)[] = ['error'];
    const provider = new SimulatedPaymentProvider({ beforeAuthorize: () => faults.shift() });
    expect(await provider.authorize(authorizeRequest())).toMatchObject({ kind: 'error', retryable: true });
    expect(await provider.lookup(authorizeRequest())).toBeNull();
    expect((await provider.authorize(authorizeRequest())).kind).toBe('authorized');
  });

  it('draws faults from the injected rng at the configured rates', async () => {
    const draws = [0.05, 0.15, 0.5];
    const provider = new SimulatedPaymentProvider({ timeoutRate: 0.1, failureRate: 0.1, rng: () => draws.shift() ?? 0.99 });
    await expect(provider.authorize(authorizeRequest({ idempotencyKey: 'a' }))).rejects.toBeInstanceOf(PaymentTimeoutError);
    expect(await provider.authorize(authorizeRequest({ idempotencyKey: 'b' }))).toMatchObject({ kind: 'error', retryable: true });
    expect((await provider.authorize(authorizeRequest({ idempotencyKey: 'c' }))).kind).toBe('authorized');
    expect(provider.authorizations()).toBe(2);
  });

  it('replays the same faults for the same seed', async () => {
    async function run(seed: number): Promise<string[]> {
      const provider = new SimulatedPaymentProvider({ seed, failureRate: 0.3, timeoutRate: 0.3 });
      const kinds: string[] = [];
      for (let i = 0; i < 20; i++) {
        kinds.push(await provider.authorize(authorizeRequest({ idempotencyKey: `k${i}` })).then((o) => o.kind, () => 'timeout'));
      }
      return kinds;
    }
    const first = await run(42);
    expect(await run(42)).toEqual(first);
    expect(new Set(first).size).toBe(3);
  });

  it('captures once when a capture times out after the provider acted and is retried with the same key', async () => {
    const faults: (SimulatedFault | undefined)[] = ['timeout'];
    const provider = new SimulatedPaymentProvider({ beforeSettle: () => faults.shift() });
    const authId = await authorized(provider);
    const capture = { idempotencyKey: 'chk_1:capture', authId, amountMinor: 4_999 };
    await expect(provider.capture(capture)).rejects.toBeInstanceOf(PaymentTimeoutError);
    expect(await provider.capture(capture)).toEqual({ ok: true });
    expect(provider.captures()).toBe(1);
  });
});

describe('SimulatedPaymentProvider: capture, void and refund', () => {
  it("with an instance id (a node's provider), takes a void of an earlier process's authorization as done and refuses the rest", async () => {
    const before = new SimulatedPaymentProvider({ instanceId: 'aaaa' });
    const earlier = await authorized(before);
    const provider = new SimulatedPaymentProvider({ instanceId: 'bbbb' });
    const own = await authorized(provider);
    expect([earlier, own]).toEqual(['pi_sim_aaaa_1', 'pi_sim_bbbb_1']);
    // The restarted node's saga voids what its first process authorized: gone with that process, nothing held.
    expect(await provider.void({ idempotencyKey: 'k1', authId: earlier })).toEqual({ ok: true });
    expect(provider.stateOf(own)?.status).toBe('authorized');
    expect(await provider.capture({ idempotencyKey: 'k2', authId: earlier, amountMinor: 4_999 })).toMatchObject({ ok: false });
    expect(await provider.refund({ idempotencyKey: 'k3', authId: earlier, amountMinor: 1 })).toMatchObject({ ok: false });
    // An id of its own it never issued, and any unknown id without an instance id, are refused as before.
    expect(await provider.void({ idempotencyKey: 'k4', authId: 'pi_sim_bbbb_99' })).toMatchObject({ ok: false });
    expect(await new SimulatedPaymentProvider().void({ idempotencyKey: 'k5', authId: 'pi_sim_aaaa_1' })).toMatchObject({ ok: false });
  });

  it('captures the authorized amount once, and replays the capture for the same key', async () => {
    const provider = new SimulatedPaymentProvider();
    const authId = await authorized(provider);
    const capture = { idempotencyKey: 'chk_1:capture', authId, amountMinor: 4_999 };
    expect(await provider.capture(capture)).toEqual({ ok: true });
    expect(await provider.capture(capture)).toEqual({ ok: true });
    expect(provider.captures()).toBe(1);
    expect(provider.stateOf(authId)).toMatchObject({ status: 'captured', capturedMinor: 4_999 });
  });

  it('captures less than authorized, releasing the rest', async () => {
    const provider = new SimulatedPaymentProvider();
    const authId = await authorized(provider);
    expect(await provider.capture({ idempotencyKey: 'c', authId, amountMinor: 1_000 })).toEqual({ ok: true });
    expect(provider.stateOf(authId)).toMatchObject({ status: 'captured', amountMinor: 4_999, capturedMinor: 1_000 });
  });

  it('voids an authorization once, and replays the void for the same key', async () => {
    const provider = new SimulatedPaymentProvider();
    const authId = await authorized(provider);
    expect(await provider.void({ idempotencyKey: 'chk_1:void', authId })).toEqual({ ok: true });
    expect(await provider.void({ idempotencyKey: 'chk_1:void', authId })).toEqual({ ok: true });
    expect(provider.voids()).toBe(1);
    expect(provider.stateOf(authId)?.status).toBe('voided');
  });

  it('refunds in parts up to the captured amount, then marks the authorization refunded', async () => {
    const provider = new SimulatedPaymentProvider();
    const authId = await authorized(provider);
    await provider.capture({ idempotencyKey: 'c', authId, amountMinor: 4_999 });
    expect(await provider.refund({ idempotencyKey: 'r1', authId, amountMinor: 4_000 })).toEqual({ ok: true });
    expect(provider.stateOf(authId)).toMatchObject({ status: 'captured', refundedMinor: 4_000 });
    expect(await provider.refund({ idempotencyKey: 'r2', authId, amountMinor: 999 })).toEqual({ ok: true });
    expect(await provider.refund({ idempotencyKey: 'r2', authId, amountMinor: 999 })).toEqual({ ok: true });
    expect(provider.refunds()).toBe(2);
    expect(provider.stateOf(authId)).toMatchObject({ status: 'refunded', refundedMinor: 4_999 });
  });

  type Setup = (p: SimulatedPaymentProvider, authId: string) => Promise<unknown>;
  const nothing: Setup = async () => undefined;
  const captureAll: Setup = (p, authId) => p.capture({ idempotencyKey: 'setup:capture', authId, amountMinor: 4_999 });
  const voidIt: Setup = (p, authId) => p.void({ idempotencyKey: 'setup:void', authId });
  const refundAll: Setup = async (p, authId) => {
    await captureAll(p, authId);
    return p.refund({ idempotencyKey: 'setup:refund', authId, amountMinor: 4_999 });
  };
  const capture = (amountMinor: number) => (p: SimulatedPaymentProvider, authId: string) =>
    p.capture({ idempotencyKey: 'k', authId, amountMinor });
  const voidOp = (p: SimulatedPaymentProvider, authId: string) => p.void({ idempotencyKey: 'k', authId });
  const refund = (amountMinor: number) => (p: SimulatedPaymentProvider, authId: string) =>
    p.refund({ idempotencyKey: 'k', authId, amountMinor });

  it.each([
    ['capture a voided authorization', voidIt, capture(4_999)],
    ['capture an already captured authorization with a new key', captureAll, capture(4_999)],
    ['capture more than authorized', nothing, capture(5_000)],
    ['capture zero', nothing, capture(0)],
    ['void a captured authorization', captureAll, voidOp],
    ['refund an authorization that was never captured', nothing, refund(100)],
    ['refund a voided authorization', voidIt, refund(100)],
    ['refund more than captured', captureAll, refund(5_000)],
    ['refund a fully refunded authorization', refundAll, refund(1)],
    ['refund a fractional amount', captureAll, refund(0.5)],
  ])('refuses to %s and changes nothing', async (_name, setup, operation) => {
    const provider = new SimulatedPaymentProvider();
    const authId = await authorized(provider);
    await setup(provider, authId);
    const before = { state: provider.stateOf(authId), c: provider.captures(), v: provider.voids(), r: provider.refunds() };
    const result = await operation(provider, authId);
    expect(result.ok).toBe(false);
    expect({ state: provider.stateOf(authId), c: provider.captures(), v: provider.voids(), r: provider.refunds() }).toEqual(before);
  });

  it('answers a void of an already voided authorization, with a new key, as done, and changes nothing', async () => {
    // As the Stripe adapter does: Stripe refuses the second cancel, the state read back says it is where it was going.
    const provider = new SimulatedPaymentProvider();
    const authId = await authorized(provider);
    await voidIt(provider, authId);
    const before = { state: provider.stateOf(authId), v: provider.voids() };
    expect(await voidOp(provider, authId)).toEqual({ ok: true });
    expect({ state: provider.stateOf(authId), v: provider.voids() }).toEqual(before);
  });

  it.each([
    ['capture', (p: SimulatedPaymentProvider) => p.capture({ idempotencyKey: 'k', authId: 'pi_nope', amountMinor: 1 })],
    ['void', (p: SimulatedPaymentProvider) => p.void({ idempotencyKey: 'k', authId: 'pi_nope' })],
    ['refund', (p: SimulatedPaymentProvider) => p.refund({ idempotencyKey: 'k', authId: 'pi_nope', amountMinor: 1 })],
  ])('refuses to %s an unknown authorization', async (_name, operation) => {
    const result = await operation(new SimulatedPaymentProvider());
    expect(result).toMatchObject({ ok: false, message: expect.stringMatching(/no such authorization/i) });
  });

  it('rejects a capture key reused with a different amount', async () => {
    const provider = new SimulatedPaymentProvider();
    const authId = await authorized(provider);
    await provider.capture({ idempotencyKey: 'c', authId, amountMinor: 1_000 });
    const result = await provider.capture({ idempotencyKey: 'c', authId, amountMinor: 2_000 });
    expect(result).toMatchObject({ ok: false, message: expect.stringMatching(/idempotency key reused/i) });
    expect(provider.stateOf(authId)?.capturedMinor).toBe(1_000);
  });

  it('hands out copies of state, so callers cannot change the provider by mutating them', async () => {
    const provider = new SimulatedPaymentProvider();
    const authId = await authorized(provider);
    const state = provider.stateOf(authId);
    if (state !== undefined) state.status = 'voided';
    expect(provider.stateOf(authId)?.status).toBe('authorized');
  });
});

describe('SimulatedPaymentProvider: latency', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('waits the configured latency per operation through the injected sleep', async () => {
    const slept: number[] = [];
    const provider = new SimulatedPaymentProvider({
      latencyMs: (op) => (op === 'authorize' ? 120 : 30),
      sleep: async (ms) => {
        slept.push(ms);
      },
    });
    const authId = await authorized(provider);
    await provider.capture({ idempotencyKey: 'c', authId, amountMinor: 4_999 });
    expect(slept).toEqual([120, 30]);
  });

  it('does not answer before the latency has passed', async () => {
    vi.useFakeTimers();
    const provider = new SimulatedPaymentProvider({ latencyMs: 200 });
    let settled = false;
    const pending = provider.authorize(authorizeRequest()).then((o) => {
      settled = true;
      return o;
    });
    await vi.advanceTimersByTimeAsync(199);
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(settled).toBe(true);
    expect((await pending).kind).toBe('authorized');
  });

  it('has already authorized while the response is still in flight, as a real provider would', async () => {
    vi.useFakeTimers();
    const provider = new SimulatedPaymentProvider({ latencyMs: 200 });
    const pending = provider.authorize(authorizeRequest());
    expect(provider.authorizations()).toBe(1);
    await vi.advanceTimersByTimeAsync(200);
    await pending;
  });
});
