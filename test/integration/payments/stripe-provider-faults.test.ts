import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { stripeLimits } from '../../../src/config/limits.js';
import { PaymentTimeoutError, type AuthorizeRequest, type PaymentOutcome } from '../../../src/payments/provider.js';
import { ProviderUnavailableError, StripePaymentProvider } from '../../../src/payments/stripe-provider.js';
import type { FaultSpec, StripeTestServer } from '../../stripe-server/server.js';
import { authorizeFor, startProviderRig, thrownBy, type ProviderRig, type StepClock } from '../../support/stripe-provider.js';

/**
 * StripePaymentProvider under the test server's scripted faults, through the real stripe SDK: which failures it
 * retries with the same key, which it reports as an unknown outcome (PaymentTimeoutError), how lookup() then finds
 * the one authorization the key made, and the circuit breaker and concurrency limit around every call. Waits are on
 * fault handles (`reached`, `consumed`) and the shared StepClock, never on timers.
 */
describe('StripePaymentProvider under faults', () => {
  let rig: ProviderRig;
  let server: StripeTestServer;
  let provider: StripePaymentProvider;
  let clock: StepClock;
  beforeEach(async () => {
    rig = await startProviderRig();
    ({ server, provider, clock } = rig);
  });
  afterEach(async () => {
    // However often a request was sent, each checkout's key made at most one PaymentIntent, and every POST carried it.
    const checkouts = server.paymentIntents().map((p) => p.metadata['checkout_id']);
    expect(checkouts).toEqual([...new Set(checkouts)]);
    expect(server.calls.filter((c) => c.method === 'POST' && c.idempotencyKeySource !== 'caller')).toEqual([]);
    await rig.close();
  });

  const create = { method: 'POST', path: '/v1/payment_intents' } as const;
  /** How long a poll for the server's side of a timed-out request may take. */
  const bound = { timeout: 2_000, interval: 5 };
  const onCreate = (fault: FaultSpec['fault'], times = 1) => server.faults.next({ match: create, fault, times });
  const authId = (o: PaymentOutcome): string => (o.kind === 'authorized' || o.kind === 'requires_action' ? o.authId : `no authId in ${o.kind}`);
  /** The outcome and keys of each request on the wire, in order. */
  const wire = () => server.calls.map((c) => [c.status ?? c.outcome, c.idempotencyKey]);

  describe('on the authorization', () => {
    it.each([500, 429] as const)('retries a %i before processing with the same key after a backoff, and authorizes once', async (status) => {
      const req = authorizeFor();
      onCreate({ t: 'status', status, when: 'before' });
      const outcome = await provider.authorize(req);
      expect(outcome).toEqual({ kind: 'authorized', authId: server.paymentIntents()[0]!.id, amountMinor: 1_500, currency: 'EUR' });
      expect(wire()).toEqual([
        [status, req.idempotencyKey],
        [200, req.idempotencyKey],
      ]);
      // Jitter 0: half of the first cap, on the adapter's clock.
      expect(clock.delaysMs).toEqual([stripeLimits.retryDelayMsBase / 2]);
    });

    it('reports 5xx answers past its retries as an unknown outcome; lookup with the same request then makes the one authorization', async () => {
      const req = authorizeFor();
      onCreate({ t: 'status', status: 500, when: 'before' }, stripeLimits.retriesMax + 1);
      expect(await thrownBy(provider.authorize(req))).toBeInstanceOf(PaymentTimeoutError);
      expect(server.calls).toHaveLength(stripeLimits.retriesMax + 1);
      // Jitter 0: half of each cap, base · 2^n.
      const capsMs = Array.from({ length: stripeLimits.retriesMax }, (_, n) => Math.min(stripeLimits.retryDelayMsMax, stripeLimits.retryDelayMsBase * 2 ** n));
      expect(clock.delaysMs).toEqual(capsMs.map((ms) => ms / 2));
      expect(server.paymentIntents()).toHaveLength(0);
      const found = await provider.lookup(req);
      expect(found).toMatchObject({ kind: 'authorized', authId: server.paymentIntents()[0]!.id });
      expect(server.paymentIntents()).toHaveLength(1);
    });

    it('starts no retry with less than attemptMinMs of its budget (callBudgetMs) left, so the caller\'s deadline never passes first', async () => {
      // The adapter's clock says each request took just under half the budget: after two, too little is left.
      const slowMs = (stripeLimits.callBudgetMs - stripeLimits.attemptMinMs) / 2;
      const start = clock.now();
      const slowClock = {
        now: () => start + server.calls.length * slowMs,
        setTimer: (_atMs: number, fn: () => void) => (setImmediate(fn), { cancel: () => {} }),
      };
      const slow = new StripePaymentProvider({ apiKey: server.apiKey, apiBase: new URL(server.url), clock: slowClock, random: () => 0 });
      onCreate({ t: 'status', status: 503, when: 'before' }, stripeLimits.retriesMax + 1);
      expect(await thrownBy(slow.authorize(authorizeFor()))).toBeInstanceOf(PaymentTimeoutError);
      expect(server.calls).toHaveLength(2);
      server.faults.clear();
    });

    it('finds the authorization its key made when Stripe refuses the key as used with other parameters', async () => {
      const req = authorizeFor();
      const first = await provider.authorize(req);
      // The same key with another amount: Stripe answers 400 idempotency_error, never the first answer.
      const again = await provider.authorize({ ...req, amountMinor: req.amountMinor + 1 });
      expect(again).toEqual(first);
      expect(await provider.lookup({ ...req, amountMinor: req.amountMinor + 1 })).toEqual(first);
      expect(server.paymentIntents()).toHaveLength(1);
    });

    it('answers a key used with other parameters whose PaymentIntent was declined as declined, never unknown for ever', async () => {
      const req = authorizeFor({ paymentMethod: 'pm_card_chargeDeclined' });
      expect(await provider.authorize(req)).toMatchObject({ kind: 'declined' });
      expect(await provider.authorize({ ...req, amountMinor: req.amountMinor + 1 })).toMatchObject({ kind: 'declined' });
      expect(server.paymentIntents()).toHaveLength(1);
    });

    it('reports a key used with other parameters as unknown while search cannot see its PaymentIntent yet', async () => {
      await rig.close();
      rig = await startProviderRig({ server: { searchLagMs: 60_000 } });
      ({ server, provider, clock } = rig);
      const req = authorizeFor();
      await provider.authorize(req);
      expect(await thrownBy(provider.authorize({ ...req, amountMinor: 1 }))).toBeInstanceOf(PaymentTimeoutError);
      expect(await thrownBy(provider.lookup({ ...req, amountMinor: 1 }))).toBeInstanceOf(PaymentTimeoutError);
      clock.advance(60_001);
      expect(await provider.lookup({ ...req, amountMinor: 1 })).toMatchObject({ kind: 'authorized', authId: server.paymentIntents()[0]!.id });
    });

    it('reports 429 answers past its retries as a retryable error, and nothing was made', async () => {
      onCreate({ t: 'status', status: 429, when: 'before' }, stripeLimits.retriesMax + 1);
      expect(await provider.authorize(authorizeFor())).toMatchObject({ kind: 'error', retryable: true });
      expect(server.calls).toHaveLength(stripeLimits.retriesMax + 1);
      expect(server.paymentIntents()).toHaveLength(0);
    });

    it('authorizes through a connection dropped before processing (the SDK resends once, same key)', async () => {
      const req = authorizeFor();
      onCreate({ t: 'drop', when: 'before' });
      expect(await provider.authorize(req)).toMatchObject({ kind: 'authorized', authId: server.paymentIntents()[0]?.id });
      expect(wire()).toEqual([
        ['dropped', req.idempotencyKey],
        [200, req.idempotencyKey],
      ]);
    });

    it('authorizes through an answer dropped after processing: the resend gets the stored answer', async () => {
      const req = authorizeFor();
      onCreate({ t: 'drop', when: 'after' });
      const outcome = await provider.authorize(req);
      expect(outcome).toMatchObject({ kind: 'authorized', authId: server.paymentIntents()[0]?.id });
      expect(server.calls.map((c) => [c.outcome, c.replayed])).toEqual([
        ['dropped', false],
        ['answered', true],
      ]);
    });

    it('reports two lost answers as an unknown outcome; lookup then returns the same authorization, still one', async () => {
      const req = authorizeFor();
      const drops = onCreate({ t: 'drop', when: 'after' }, 2);
      expect(await thrownBy(provider.authorize(req))).toBeInstanceOf(PaymentTimeoutError);
      await drops.consumed;
      const [made] = server.paymentIntents();
      expect(made).toMatchObject({ status: 'requires_capture' });
      expect(await provider.lookup(req)).toMatchObject({ kind: 'authorized', authId: made!.id });
      expect(server.paymentIntents()).toHaveLength(1);
      expect(server.calls.map((c) => [c.outcome, c.replayed])).toEqual([
        ['dropped', false],
        ['dropped', true],
        ['answered', true],
      ]);
    });

    it('reports an answer later than its timeout as an unknown outcome; lookup returns the authorization the first request made', async () => {
      const impatient = await startProviderRig({ timeoutMs: 100 });
      try {
        const req = authorizeFor();
        impatient.server.faults.next({ match: create, fault: { t: 'delay', ms: 30_000, when: 'after' } });
        const err = await thrownBy(impatient.provider.authorize(req));
        expect(err).toBeInstanceOf(PaymentTimeoutError);
        expect((err as Error).message).toMatch(/timeout/);
        // Made before the answer was held back (on a loaded machine the request may still be on its way).
        await vi.waitFor(() => expect(impatient.server.paymentIntents()).toHaveLength(1), bound);
        const [made] = impatient.server.paymentIntents();
        expect(await impatient.provider.lookup(req)).toMatchObject({ kind: 'authorized', authId: made!.id });
        expect(impatient.server.paymentIntents()).toHaveLength(1);
        expect(impatient.server.calls.map((c) => c.fault)).toEqual(['delay-after', null]);
      } finally {
        await impatient.close();
      }
    });

    it('reports a request still in flight at Stripe (409, same key) as an unknown outcome, and the first one authorizes', async () => {
      const req = authorizeFor();
      const hold = onCreate({ t: 'hold', when: 'before' });
      const first = provider.authorize(req);
      await hold.reached;
      expect(await thrownBy(provider.authorize(req))).toBeInstanceOf(PaymentTimeoutError);
      expect(server.calls[1]).toMatchObject({ idempotencyKey: req.idempotencyKey, status: 409 });
      hold.release();
      expect(await first).toMatchObject({ kind: 'authorized', authId: server.paymentIntents()[0]?.id });
      expect(server.paymentIntents()).toHaveLength(1);
    });

    it('reports a lookup while the timed-out request still holds its key as unknown, without a second authorization', async () => {
      const impatient = await startProviderRig({ timeoutMs: 100 });
      try {
        const req = authorizeFor();
        const hold = impatient.server.faults.next({ match: create, fault: { t: 'hold', when: 'before' } });
        expect(await thrownBy(impatient.provider.authorize(req))).toBeInstanceOf(PaymentTimeoutError);
        await hold.reached;
        expect(await thrownBy(impatient.provider.lookup(req))).toBeInstanceOf(PaymentTimeoutError);
        expect(impatient.server.calls.map((c) => c.status)).toEqual([null, 409]);
        expect(impatient.server.paymentIntents()).toHaveLength(0);
      } finally {
        await impatient.close();
      }
    });
  });

  describe('on capture, refund, void and reads', () => {
    /** An authorization of 15.00 EUR and its order id. */
    async function authorization(): Promise<{ authId: string; orderId: string }> {
      const req = authorizeFor();
      return { authId: authId(await provider.authorize(req)), orderId: req.metadata['orderId']! };
    }

    it('retries a 503 on capture with the same key and captures once', async () => {
      const { authId: id, orderId } = await authorization();
      server.faults.next({ match: { path: `/v1/payment_intents/${id}/capture` }, fault: { t: 'status', status: 503, when: 'before' } });
      expect(await provider.capture({ idempotencyKey: `${orderId}:capture`, authId: id, amountMinor: 1_500 })).toEqual({ ok: true });
      expect(wire().slice(1)).toEqual([
        [503, `${orderId}:capture`],
        [200, `${orderId}:capture`],
      ]);
    });

    it('reports a refund rate-limited past its retries as retryable, no verdict on its key', async () => {
      const { authId: id, orderId } = await authorization();
      expect(await provider.capture({ idempotencyKey: `${orderId}:capture`, authId: id, amountMinor: 1_500 })).toEqual({ ok: true });
      server.faults.next({ match: { path: '/v1/refunds' }, fault: { t: 'status', status: 429, when: 'before' }, times: stripeLimits.retriesMax + 1 });
      expect(await provider.refund({ idempotencyKey: `${orderId}:refund:1`, authId: id, amountMinor: 500 })).toMatchObject({ ok: false, retryable: true });
      expect(await provider.refund({ idempotencyKey: `${orderId}:refund:1`, authId: id, amountMinor: 500 })).toEqual({ ok: true });
      expect(server.refunds()).toHaveLength(1);
    });

    it('reports a refund whose answers were lost as unknown; the same key again refunds nothing more', async () => {
      const { authId: id, orderId } = await authorization();
      await provider.capture({ idempotencyKey: `${orderId}:capture`, authId: id, amountMinor: 1_500 });
      const refund = { idempotencyKey: `${orderId}:refund:1`, authId: id, amountMinor: 400 };
      server.faults.next({ match: { path: '/v1/refunds' }, fault: { t: 'drop', when: 'after' }, times: 2 });
      expect(await thrownBy(provider.refund(refund))).toBeInstanceOf(PaymentTimeoutError);
      expect(server.refunds().map((r) => r.amount)).toEqual([400]);
      expect(await provider.refund(refund)).toEqual({ ok: true });
      expect(server.refunds().map((r) => r.amount)).toEqual([400]);
    });

    it('reports a void whose key is still in flight (409) as unknown, not as a refusal', async () => {
      const { authId: id, orderId } = await authorization();
      const hold = server.faults.next({ match: { path: `/v1/payment_intents/${id}/cancel` }, fault: { t: 'hold', when: 'before' } });
      const first = provider.void({ idempotencyKey: `${orderId}:void`, authId: id });
      await hold.reached;
      expect(await thrownBy(provider.void({ idempotencyKey: `${orderId}:void`, authId: id }))).toBeInstanceOf(PaymentTimeoutError);
      hold.release();
      expect(await first).toEqual({ ok: true });
    });

    it('retries a 503 on a read, and reports reads past the retries as unknown', async () => {
      const { authId: id } = await authorization();
      server.faults.next({ match: { method: 'GET' }, fault: { t: 'status', status: 503, when: 'before' } });
      expect(await provider.retrieve(id)).toMatchObject({ authId: id, status: 'authorized' });
      server.faults.next({ match: { method: 'GET' }, fault: { t: 'status', status: 503, when: 'before' }, times: stripeLimits.retriesMax + 1 });
      expect(await thrownBy(provider.findByCheckout('co-any'))).toBeInstanceOf(PaymentTimeoutError);
    });
  });

  describe('circuit breaker', () => {
    const openS = Math.ceil(stripeLimits.breakerOpenMs / 1000);

    /** Fails calls (each its own key) with 503 until the breaker opens; returns how many requests it took. */
    async function openBreaker(): Promise<number> {
      server.faults.next({ fault: { t: 'status', status: 503, when: 'before' }, times: 100 });
      while (provider.available()) expect(await thrownBy(provider.authorize(authorizeFor()))).toBeInstanceOf(PaymentTimeoutError);
      server.faults.clear();
      return server.calls.length;
    }

    it(`opens once failures in a row come from ${stripeLimits.breakerFailuresMax} keys, retries stop there, and nothing is sent while it is open`, async () => {
      // Each key's call is tried retriesMax + 1 times; the last key's first failure opens it.
      const sent = (stripeLimits.breakerFailuresMax - 1) * (stripeLimits.retriesMax + 1) + 1;
      expect(await openBreaker()).toBe(sent);
      expect(provider.retryAfterS()).toBe(openS);
      const req = authorizeFor();
      expect(await provider.authorize(req)).toMatchObject({ kind: 'error', retryable: true });
      expect(await thrownBy(provider.lookup(req))).toBeInstanceOf(PaymentTimeoutError);
      // Nothing was sent: no verdict on these keys (a refund record stays pending).
      expect(await provider.capture({ idempotencyKey: 'o:capture', authId: 'pi_x', amountMinor: 1 })).toMatchObject({ ok: false, retryable: true });
      expect(await provider.void({ idempotencyKey: 'o:void', authId: 'pi_x' })).toMatchObject({ ok: false, retryable: true });
      expect(await provider.refund({ idempotencyKey: 'o:refund:1', authId: 'pi_x', amountMinor: 1 })).toMatchObject({ ok: false, retryable: true });
      expect(await thrownBy(provider.retrieve('pi_x'))).toBeInstanceOf(ProviderUnavailableError);
      expect(await thrownBy(provider.listOpen(clock.now(), 10, null))).toBeInstanceOf(ProviderUnavailableError);
      expect(server.calls).toHaveLength(sent);
      clock.advance(stripeLimits.breakerOpenMs - 1_500);
      expect(provider.retryAfterS()).toBe(2);
      expect(provider.available()).toBe(false);
    });

    it('sends no retry once the circuit opened during its backoff', async () => {
      // Backoffs wait until the test fires them, so every key is in its backoff when the circuit opens.
      const backoffs: (() => void)[] = [];
      const gated = { now: () => clock.now(), setTimer: (_atMs: number, fn: () => void) => (backoffs.push(fn), { cancel: () => {} }) };
      const p = new StripePaymentProvider({ apiKey: server.apiKey, apiBase: new URL(server.url), clock: gated, random: () => 0 });
      server.faults.next({ fault: { t: 'status', status: 503, when: 'before' }, times: 100 });
      const calls = Array.from({ length: stripeLimits.breakerFailuresMax }, () => thrownBy(p.authorize(authorizeFor())));
      await vi.waitFor(() => expect(p.available()).toBe(false), bound);
      expect(server.calls).toHaveLength(stripeLimits.breakerFailuresMax);
      for (const fire of backoffs.splice(0)) fire();
      for (const err of await Promise.all(calls)) expect(err).toBeInstanceOf(PaymentTimeoutError);
      expect(server.calls).toHaveLength(stripeLimits.breakerFailuresMax);
      server.faults.clear();
    });

    it('half-opens after breakerOpenMs: one success closes it, and failures count from zero again', async () => {
      await openBreaker();
      clock.advance(stripeLimits.breakerOpenMs);
      expect(provider.available()).toBe(true);
      expect(await provider.authorize(authorizeFor())).toMatchObject({ kind: 'authorized' });
      // One call's worth of failures, fewer than open it from zero, and more than enough had the count gone on.
      expect(stripeLimits.retriesMax + 1).toBeLessThan(stripeLimits.breakerFailuresMax);
      server.faults.next({ fault: { t: 'status', status: 503, when: 'before' }, times: stripeLimits.retriesMax + 1 });
      expect(await thrownBy(provider.authorize(authorizeFor()))).toBeInstanceOf(PaymentTimeoutError);
      expect(provider.available()).toBe(true);
      expect(provider.retryAfterS()).toBe(1);
    });

    it('half-open, opens again on the first failure, after one request', async () => {
      const sent = await openBreaker();
      clock.advance(stripeLimits.breakerOpenMs);
      server.faults.next({ fault: { t: 'status', status: 503, when: 'before' }, times: 10 });
      expect(await thrownBy(provider.authorize(authorizeFor()))).toBeInstanceOf(PaymentTimeoutError);
      expect(server.calls).toHaveLength(sent + 1);
      expect(provider.available()).toBe(false);
      expect(provider.retryAfterS()).toBe(openS);
    });

    it('counts timeouts as failures too', async () => {
      const impatient = await startProviderRig({ timeoutMs: 50 });
      try {
        impatient.server.faults.next({ fault: { t: 'delay', ms: 30_000, when: 'after' }, times: 100 });
        for (let i = 0; i < stripeLimits.breakerFailuresMax; i++) {
          expect(impatient.provider.available()).toBe(true);
          expect(await thrownBy(impatient.provider.authorize(authorizeFor()))).toBeInstanceOf(PaymentTimeoutError);
        }
        expect(impatient.provider.available()).toBe(false);
        await vi.waitFor(() => expect(impatient.server.calls).toHaveLength(stripeLimits.breakerFailuresMax), bound);
      } finally {
        await impatient.close();
      }
    });
  });

  it(`is unavailable while ${stripeLimits.callsInFlightMax} calls are in flight, and sends nothing more until one ends`, async () => {
    const reqs: AuthorizeRequest[] = Array.from({ length: stripeLimits.callsInFlightMax }, () => authorizeFor());
    const hold = onCreate({ t: 'hold', when: 'before' }, reqs.length);
    const calls = reqs.map((r) => provider.authorize(r));
    await hold.consumed;
    expect(provider.available()).toBe(false);
    expect(provider.retryAfterS()).toBeGreaterThanOrEqual(1);
    expect(await provider.authorize(authorizeFor())).toMatchObject({ kind: 'error', retryable: true });
    expect(server.calls).toHaveLength(reqs.length);
    hold.release();
    const outcomes = await Promise.all(calls);
    expect(outcomes.filter((o) => o.kind === 'authorized')).toHaveLength(reqs.length);
    expect(provider.available()).toBe(true);
    expect(new Set(outcomes.map(authId)).size).toBe(reqs.length);
  });
});
