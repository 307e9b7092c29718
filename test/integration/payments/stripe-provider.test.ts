import Stripe from 'stripe';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AuthorizeRequest, PaymentOutcome } from '../../../src/payments/provider.js';
import type { StripePaymentProvider } from '../../../src/payments/stripe-provider.js';
import type { StripeTestServer } from '../../stripe-server/server.js';
import { authorizeFor, startProviderRig, type ProviderRig, type StepClock } from '../../support/stripe-provider.js';

/**
 * StripePaymentProvider through the real stripe SDK against the Stripe test server: what goes on the wire, what each
 * answer becomes, and the reads reconciliation relies on. Faults, retries and the circuit breaker are in
 * stripe-provider-faults.test.ts. One server per test, so the wire log and the account start empty.
 */
describe('StripePaymentProvider against the Stripe test server', () => {
  let rig: ProviderRig;
  let server: StripeTestServer;
  let provider: StripePaymentProvider;
  let clock: StepClock;
  beforeEach(async () => {
    rig = await startProviderRig();
    ({ server, provider, clock } = rig);
  });
  afterEach(async () => {
    // Every POST the adapter made carried our own key, never one the SDK made up; GETs carry none.
    expect(server.calls.filter((c) => c.idempotencyKeySource !== (c.method === 'POST' ? 'caller' : null))).toEqual([]);
    await rig.close();
  });

  /** Authorizes and returns the outcome, which must be `kind`. */
  async function authorized(req: AuthorizeRequest): Promise<Extract<PaymentOutcome, { kind: 'authorized' }>> {
    const outcome = await provider.authorize(req);
    if (outcome.kind !== 'authorized') throw new Error(`expected authorized, got ${JSON.stringify(outcome)}`);
    return outcome;
  }

  describe('on the wire', () => {
    it('authorizes with one POST /v1/payment_intents: our key, manual capture, confirm, minor units, lower-case currency, the checkout in metadata', async () => {
      const req = authorizeFor({ amountMinor: 1_999, currency: 'EUR' });
      const outcome = await provider.authorize(req);
      const [pi] = server.paymentIntents();
      expect(outcome).toEqual({ kind: 'authorized', authId: pi!.id, amountMinor: 1_999, currency: 'EUR' });
      expect(pi).toMatchObject({ status: 'requires_capture', amount: 1_999, currency: 'eur', capture_method: 'manual' });
      expect(server.calls).toHaveLength(1);
      const call = server.calls[0]!;
      expect(call).toMatchObject({ method: 'POST', path: '/v1/payment_intents', idempotencyKey: `${req.metadata['checkoutId']}:authorize`, status: 200, replayed: false });
      expect(call.params).toEqual({
        amount: '1999',
        currency: 'eur',
        payment_method: 'pm_card_visa',
        confirm: 'true',
        capture_method: 'manual',
        automatic_payment_methods: { enabled: 'true', allow_redirects: 'never' },
        metadata: { checkout_id: req.metadata['checkoutId'], order_id: req.metadata['orderId'], checkout_key: req.metadata['checkoutKey'] },
      });
    });

    it('captures with <orderId>:capture and amount_to_capture, refunds with <orderId>:refund:<n>, voids with <orderId>:void', async () => {
      const first = authorizeFor({ amountMinor: 2_000 });
      const orderId = first.metadata['orderId']!;
      const { authId } = await authorized(first);
      expect(await provider.capture({ idempotencyKey: `${orderId}:capture`, authId, amountMinor: 1_800 })).toEqual({ ok: true });
      expect(await provider.refund({ idempotencyKey: `${orderId}:refund:1`, authId, amountMinor: 500 })).toEqual({ ok: true });
      const second = authorizeFor();
      const other = await authorized(second);
      expect(await provider.void({ idempotencyKey: `${second.metadata['orderId']}:void`, authId: other.authId })).toEqual({ ok: true });

      expect(server.calls.slice(1).map((c) => ({ method: c.method, path: c.path, key: c.idempotencyKey, params: c.params, status: c.status }))).toEqual([
        { method: 'POST', path: `/v1/payment_intents/${authId}/capture`, key: `${orderId}:capture`, params: { amount_to_capture: '1800' }, status: 200 },
        { method: 'POST', path: '/v1/refunds', key: `${orderId}:refund:1`, params: { payment_intent: authId, amount: '500' }, status: 200 },
        expect.objectContaining({ method: 'POST', path: '/v1/payment_intents', key: `${second.metadata['checkoutId']}:authorize` }),
        { method: 'POST', path: `/v1/payment_intents/${other.authId}/cancel`, key: `${second.metadata['orderId']}:void`, params: {}, status: 200 },
      ]);
      expect(await provider.retrieve(authId)).toMatchObject({ status: 'captured', amountMinor: 2_000, capturedMinor: 1_800, refundedMinor: 500 });
      expect(server.refunds().map((r) => [r.payment_intent, r.amount])).toEqual([[authId, 500]]);
    });

    it('reads an authorization back with the checkout, order and key it was made for', async () => {
      const req = authorizeFor({ amountMinor: 700 });
      const { authId } = await authorized(req);
      expect(await provider.retrieve(authId)).toEqual({
        authId,
        status: 'authorized',
        amountMinor: 700,
        capturedMinor: 0,
        refundedMinor: 0,
        checkoutId: req.metadata['checkoutId'],
        orderId: req.metadata['orderId'],
        checkoutKey: req.metadata['checkoutKey'],
        createdMs: Math.floor(clock.now() / 1000) * 1000,
      });
      expect(server.calls[1]).toMatchObject({ method: 'GET', path: `/v1/payment_intents/${authId}`, idempotencyKey: null });
    });
  });

  describe('declines', () => {
    // The message is Stripe's own (the checkout's 402 shows it), without the "[req_…] " the SDK puts before it.
    it.each([
      ['pm_card_chargeDeclined', 'generic_decline', 'Your card was declined.'],
      ['pm_card_chargeDeclinedInsufficientFunds', 'insufficient_funds', 'Your card has insufficient funds.'],
      ['pm_card_chargeDeclinedExpiredCard', 'expired_card', 'Your card has expired.'],
    ])('answers %s with declined %s and leaves nothing open', async (paymentMethod, declineCode, message) => {
      const req = authorizeFor({ paymentMethod });
      const outcome = await provider.authorize(req);
      expect(outcome).toEqual({ kind: 'declined', declineCode, message });
      expect(server.calls.map((c) => c.status)).toEqual([402]);
      const pis = server.paymentIntents();
      expect(pis.map((p) => [p.status, p.amount_capturable])).toEqual([['requires_payment_method', 0]]);
      expect(await provider.retrieve(pis[0]!.id)).toMatchObject({ status: 'failed', capturedMinor: 0 });
      expect(await provider.listOpen(clock.now() + 3_600_000, 10, null)).toEqual({ open: [], next: '1:' });
      // The same request again is answered with the stored decline: no second PaymentIntent, and nothing counted against the circuit.
      expect(await provider.lookup(req)).toEqual(outcome);
      expect(server.paymentIntents()).toHaveLength(1);
      expect(provider.available()).toBe(true);
    });
  });

  describe('3-D Secure', () => {
    it('answers requires_action with the client secret; once the customer authenticates, retrieve says authorized and capture works', async () => {
      const req = authorizeFor({ paymentMethod: 'pm_card_authenticationRequired', amountMinor: 3_000 });
      const outcome = await provider.authorize(req);
      const [pi] = server.paymentIntents();
      expect(outcome).toEqual({ kind: 'requires_action', authId: pi!.id, clientSecret: pi!.client_secret, amountMinor: 3_000, currency: 'EUR' });
      expect(pi!.client_secret).toMatch(/^pi_.+_secret_.+/);
      expect(await provider.retrieve(pi!.id)).toMatchObject({ status: 'requires_action' });
      server.authenticate(pi!.id, 'succeed');
      expect(await provider.retrieve(pi!.id)).toMatchObject({ status: 'authorized', amountMinor: 3_000 });
      expect(await provider.capture({ idempotencyKey: `${req.metadata['orderId']}:capture`, authId: pi!.id, amountMinor: 3_000 })).toEqual({ ok: true });
    });

    it('reads a failed authentication back as failed', async () => {
      const outcome = await provider.authorize(authorizeFor({ paymentMethod: 'pm_card_authenticationRequired' }));
      expect(outcome.kind).toBe('requires_action');
      const authId = (outcome as { authId: string }).authId;
      server.authenticate(authId, 'fail');
      expect(await provider.retrieve(authId)).toMatchObject({ status: 'failed', capturedMinor: 0 });
    });

    it('voids an authorization still waiting for the customer', async () => {
      const req = authorizeFor({ paymentMethod: 'pm_card_threeDSecure2Required' });
      const outcome = await provider.authorize(req);
      const authId = (outcome as { authId: string }).authId;
      expect(await provider.void({ idempotencyKey: `${req.metadata['orderId']}:void`, authId })).toEqual({ ok: true });
      expect(await provider.retrieve(authId)).toMatchObject({ status: 'voided' });
      expect(server.paymentIntents().map((p) => p.status)).toEqual(['canceled']);
    });
  });

  describe('capture, void and refund', () => {
    it('answers a capture repeated with the same key from the first: ok twice, captured once', async () => {
      const req = authorizeFor();
      const { authId } = await authorized(req);
      const capture = { idempotencyKey: `${req.metadata['orderId']}:capture`, authId, amountMinor: 1_500 };
      expect(await provider.capture(capture)).toEqual({ ok: true });
      expect(await provider.capture(capture)).toEqual({ ok: true });
      expect(server.calls.filter((c) => c.path.endsWith('/capture')).map((c) => [c.status, c.replayed])).toEqual([
        [200, false],
        [200, true],
      ]);
      expect(server.charges().map((c) => c.amount_captured)).toEqual([1_500]);
    });

    it('answers a refund repeated with the same key from the first: ok twice, one refund', async () => {
      const req = authorizeFor();
      const { authId } = await authorized(req);
      await provider.capture({ idempotencyKey: `${req.metadata['orderId']}:capture`, authId, amountMinor: 1_500 });
      const refund = { idempotencyKey: `${req.metadata['orderId']}:refund:1`, authId, amountMinor: 600 };
      expect(await provider.refund(refund)).toEqual({ ok: true });
      expect(await provider.refund(refund)).toEqual({ ok: true });
      expect(server.refunds().map((r) => r.amount)).toEqual([600]);
      expect(await provider.retrieve(authId)).toMatchObject({ status: 'captured', refundedMinor: 600 });
    });

    it('refunds in parts, refuses more than is left, and reads back refunded once all of it is', async () => {
      const req = authorizeFor({ amountMinor: 2_000 });
      const orderId = req.metadata['orderId']!;
      const { authId } = await authorized(req);
      await provider.capture({ idempotencyKey: `${orderId}:capture`, authId, amountMinor: 1_500 });
      expect(await provider.refund({ idempotencyKey: `${orderId}:refund:1`, authId, amountMinor: 500 })).toEqual({ ok: true });
      expect(await provider.refund({ idempotencyKey: `${orderId}:refund:2`, authId, amountMinor: 400 })).toEqual({ ok: true });
      expect(await provider.retrieve(authId)).toMatchObject({ status: 'captured', capturedMinor: 1_500, refundedMinor: 900 });
      const tooMuch = await provider.refund({ idempotencyKey: `${orderId}:refund:3`, authId, amountMinor: 601 });
      expect(tooMuch).toEqual({ ok: false, message: expect.stringMatching(/^amount_too_large: /) });
      expect(await provider.refund({ idempotencyKey: `${orderId}:refund:4`, authId, amountMinor: 600 })).toEqual({ ok: true });
      expect(await provider.retrieve(authId)).toMatchObject({ status: 'refunded', capturedMinor: 1_500, refundedMinor: 1_500 });
      expect(server.refunds().map((r) => r.amount)).toEqual([500, 400, 600]);
    });

    it('refuses to refund an authorization that was never captured', async () => {
      const req = authorizeFor();
      const { authId } = await authorized(req);
      const res = await provider.refund({ idempotencyKey: `${req.metadata['orderId']}:refund:1`, authId, amountMinor: 100 });
      expect(res).toEqual({ ok: false, message: expect.stringMatching(/^payment_intent_unexpected_state: /) });
      expect(server.refunds()).toEqual([]);
    });

    it('refuses to void a captured authorization: ok false, still captured', async () => {
      const req = authorizeFor();
      const { authId } = await authorized(req);
      await provider.capture({ idempotencyKey: `${req.metadata['orderId']}:capture`, authId, amountMinor: 1_500 });
      const res = await provider.void({ idempotencyKey: `${req.metadata['orderId']}:void`, authId });
      expect(res).toEqual({ ok: false, message: expect.stringMatching(/^payment_intent_unexpected_state: /) });
      expect(server.paymentIntents().map((p) => p.status)).toEqual(['succeeded']);
    });

    it('counts a cancel that finds the authorization already cancelled (another key) as done, by reading it back', async () => {
      const req = authorizeFor();
      const { authId } = await authorized(req);
      expect(await provider.void({ idempotencyKey: 'reconcile:void', authId })).toEqual({ ok: true });
      expect(await provider.void({ idempotencyKey: `${req.metadata['orderId']}:void`, authId })).toEqual({ ok: true });
      expect(server.calls.slice(-2).map((c) => [c.method, c.path, c.status])).toEqual([
        ['POST', `/v1/payment_intents/${authId}/cancel`, 400],
        ['GET', `/v1/payment_intents/${authId}`, 200],
      ]);
    });

    it('counts a capture that finds the authorization already captured (another key) as done', async () => {
      const req = authorizeFor();
      const { authId } = await authorized(req);
      expect(await provider.capture({ idempotencyKey: 'first:capture', authId, amountMinor: 1_500 })).toEqual({ ok: true });
      expect(await provider.capture({ idempotencyKey: `${req.metadata['orderId']}:capture`, authId, amountMinor: 1_500 })).toEqual({ ok: true });
      expect(server.charges().map((c) => c.amount_captured)).toEqual([1_500]);
    });

    it('reads a voided authorization back with nothing captured and nothing refunded', async () => {
      const req = authorizeFor({ amountMinor: 1_200 });
      const { authId } = await authorized(req);
      await provider.void({ idempotencyKey: `${req.metadata['orderId']}:void`, authId });
      expect(await provider.retrieve(authId)).toMatchObject({ status: 'voided', amountMinor: 1_200, capturedMinor: 0, refundedMinor: 0 });
    });
  });

  describe('reads', () => {
    it('retrieves an id Stripe does not know as null', async () => {
      expect(await provider.retrieve('pi_doesnotexist')).toBeNull();
      expect(server.calls.map((c) => c.status)).toEqual([404]);
    });

    it('finds nothing while the search lags behind, then the authorizations of that checkout only', async () => {
      const lagging = await startProviderRig({ server: { searchLagMs: 2_000 } });
      try {
        const req = authorizeFor();
        const checkoutId = req.metadata['checkoutId']!;
        const outcome = await lagging.provider.authorize(req);
        await lagging.provider.authorize(authorizeFor());
        expect(await lagging.provider.findByCheckout(checkoutId)).toEqual([]);
        lagging.clock.advance(1_999);
        expect(await lagging.provider.findByCheckout(checkoutId)).toEqual([]);
        lagging.clock.advance(1);
        const found = await lagging.provider.findByCheckout(checkoutId);
        expect(found).toEqual([expect.objectContaining({ authId: (outcome as { authId: string }).authId, status: 'authorized', checkoutId })]);
      } finally {
        await lagging.close();
      }
    });

    it('finds by checkout what retrieve reads: amounts captured and refunded included', async () => {
      const req = authorizeFor({ amountMinor: 2_000 });
      const orderId = req.metadata['orderId']!;
      const { authId } = await authorized(req);
      await provider.capture({ idempotencyKey: `${orderId}:capture`, authId, amountMinor: 1_500 });
      await provider.refund({ idempotencyKey: `${orderId}:refund:1`, authId, amountMinor: 300 });
      const found = await provider.findByCheckout(req.metadata['checkoutId']!);
      expect(found).toEqual([await provider.retrieve(authId)]);
      expect(found[0]).toMatchObject({ status: 'captured', capturedMinor: 1_500, refundedMinor: 300 });
    });

    it('finds a checkout whose id holds quotes and backslashes', async () => {
      const req = authorizeFor({ checkoutId: `co-'odd'\\id` });
      const { authId } = await authorized(req);
      expect((await provider.findByCheckout(`co-'odd'\\id`)).map((s) => s.authId)).toEqual([authId]);
      expect(await provider.findByCheckout(`co-'odd'`)).toEqual([]);
    });

    it('lists authorizations open before the cutoff: waiting for capture or for the customer, not settled, declined or newer ones', async () => {
      const open = await authorized(authorizeFor());
      const waiting = await provider.authorize(authorizeFor({ paymentMethod: 'pm_card_authenticationRequired' }));
      const captured = await authorized(authorizeFor());
      await provider.capture({ idempotencyKey: 'c:capture', authId: captured.authId, amountMinor: 1_500 });
      const voided = await authorized(authorizeFor());
      await provider.void({ idempotencyKey: 'v:void', authId: voided.authId });
      await provider.authorize(authorizeFor({ paymentMethod: 'pm_card_chargeDeclined' }));
      clock.advance(5_000);
      const cutoffMs = clock.now();
      clock.advance(5_000);
      await authorized(authorizeFor());
      await provider.authorize(authorizeFor({ paymentMethod: 'pm_card_authenticationRequired' }));

      // Waiting for capture first, then waiting for the customer: one search per status, a page at a time.
      const first = await provider.listOpen(cutoffMs, 10, null);
      expect(first.open.map((s) => [s.authId, s.status])).toEqual([[open.authId, 'authorized']]);
      const second = await provider.listOpen(cutoffMs, 10, first.next);
      expect(second.open.map((s) => [s.authId, s.status])).toEqual([[(waiting as { authId: string }).authId, 'requires_action']]);
      expect(second.next).toBeNull();
    });

    it('pages through a long listing with the cursor it returns, each open authorization once', async () => {
      const made: string[] = [];
      for (let i = 0; i < 7; i++) {
        made.push((await authorized(authorizeFor())).authId);
        clock.advance(1_000);
      }
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page = await provider.listOpen(clock.now(), 3, cursor);
        expect(page.open.length).toBeLessThanOrEqual(3);
        seen.push(...page.open.map((s) => s.authId));
        cursor = page.next;
        pages++;
      } while (cursor !== null && pages < 10);
      expect(cursor).toBeNull();
      // Newest first, as Stripe's search lists them.
      expect(seen).toEqual([...made].reverse());
    });
  });

  describe('webhooks', () => {
    const secret = 'whsec_boxoffice_test';
    const payload = JSON.stringify({ id: 'evt_1', object: 'event', type: 'payment_intent.succeeded', data: { object: { id: 'pi_1', object: 'payment_intent' } } });

    it('accepts an event signed with the endpoint secret', () => {
      const header = provider.stripe.webhooks.generateTestHeaderString({ payload, secret });
      expect(provider.verifyWebhook(Buffer.from(payload), header, secret)).toMatchObject({ id: 'evt_1', type: 'payment_intent.succeeded' });
    });

    it.each([
      ['a tampered body', payload.replace('pi_1', 'pi_2'), secret],
      ['another secret', payload, 'whsec_other'],
    ])('rejects %s', (_, body, verifyWith) => {
      const header = provider.stripe.webhooks.generateTestHeaderString({ payload, secret });
      expect(() => provider.verifyWebhook(Buffer.from(body), header, verifyWith)).toThrow(Stripe.errors.StripeSignatureVerificationError);
    });
  });
});
