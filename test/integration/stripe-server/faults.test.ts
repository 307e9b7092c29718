import Stripe from 'stripe';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { startStripeTestServer, type StripeTestServer } from '../../stripe-server/server.js';
import { authorizeParams, rejectionOf, sdkFor } from '../../support/stripe-sdk.js';

/**
 * Each scripted fault as the real SDK (maxNetworkRetries: 0) meets it: which error class, whether anything
 * happened at the server, and what a retry with the same key gets. One server per test, so counts start at 0.
 */
describe('Stripe test server: scripted faults through the real SDK', () => {
  let server: StripeTestServer;
  let stripe: Stripe;
  beforeEach(async () => {
    server = await startStripeTestServer();
    stripe = sdkFor(server);
  });
  afterEach(async () => {
    await server.close();
  });

  const create = { method: 'POST', path: '/v1/payment_intents' };
  const authorize = (key: string, client = stripe) => client.paymentIntents.create(authorizeParams('pm_card_visa'), { idempotencyKey: key });

  it.each([
    [500, Stripe.errors.StripeAPIError],
    [503, Stripe.errors.StripeAPIError],
    [429, Stripe.errors.StripeRateLimitError],
  ] as const)('answers a scripted %i before processing: %o, nothing created, the key still free', async (status, errorClass) => {
    server.faults.next({ match: create, fault: { t: 'status', status, when: 'before' } });
    const err = await rejectionOf(authorize('fault-status'));
    expect(err).toBeInstanceOf(errorClass);
    expect(err.statusCode).toBe(status);
    expect(server.paymentIntents()).toHaveLength(0);
    const retry = await authorize('fault-status');
    expect(retry.lastResponse.headers['idempotent-replayed']).toBeUndefined();
    expect(server.paymentIntents()).toHaveLength(1);
  });

  it('drops a connection before processing once: the SDK retries by itself with the same key, and succeeds', async () => {
    server.faults.next({ match: create, fault: { t: 'drop', when: 'before' } });
    const pi = await authorize('fault-drop-once');
    expect(pi.status).toBe('requires_capture');
    expect(server.calls.map((c) => [c.outcome, c.idempotencyKey])).toEqual([
      ['dropped', 'fault-drop-once'],
      ['answered', 'fault-drop-once'],
    ]);
  });

  it('drops before processing twice: StripeConnectionError, nothing created', async () => {
    const drop = server.faults.next({ match: create, fault: { t: 'drop', when: 'before' }, times: 2 });
    const err = await rejectionOf(authorize('fault-drop-before'));
    expect(err).toBeInstanceOf(Stripe.errors.StripeConnectionError);
    expect(err.message).toMatch(/retried 1 times/);
    await drop.consumed;
    expect(server.paymentIntents()).toHaveLength(0);
    expect(server.calls.map((c) => c.outcome)).toEqual(['dropped', 'dropped']);
  });

  it('drops after processing: StripeConnectionError, yet the PaymentIntent exists and a retry with the key returns it, replayed', async () => {
    server.faults.next({ match: create, fault: { t: 'drop', when: 'after' }, times: 2 });
    const err = await rejectionOf(authorize('fault-drop-after'));
    expect(err).toBeInstanceOf(Stripe.errors.StripeConnectionError);
    const [created] = server.paymentIntents();
    expect(server.paymentIntents()).toHaveLength(1);
    // The SDK's own retry after the first drop was answered from the store, and dropped too.
    expect(server.calls.map((c) => [c.outcome, c.replayed])).toEqual([
      ['dropped', false],
      ['dropped', true],
    ]);
    const retry = await authorize('fault-drop-after');
    expect(retry.id).toBe(created!.id);
    expect(retry.lastResponse.headers['idempotent-replayed']).toBe('true');
    expect(server.paymentIntents()).toHaveLength(1);
  });

  it('delays the answer past the SDK timeout: a timeout StripeConnectionError, the PaymentIntent exists, a retry replays it', async () => {
    const impatient = sdkFor(server, { timeout: 100 });
    server.faults.next({ match: create, fault: { t: 'delay', ms: 60_000, when: 'after' } });
    const err = await rejectionOf(authorize('fault-delay-after', impatient));
    expect(err).toBeInstanceOf(Stripe.errors.StripeConnectionError);
    expect(err.message).toMatch(/timeout/);
    expect(server.paymentIntents()).toHaveLength(1);
    const retry = await authorize('fault-delay-after');
    expect(retry.id).toBe(server.paymentIntents()[0]!.id);
    expect(retry.lastResponse.headers['idempotent-replayed']).toBe('true');
  });

  it('holds processing past the SDK timeout: the client gives up first and the PaymentIntent appears after', async () => {
    const impatient = sdkFor(server, { timeout: 100 });
    const hold = server.faults.next({ match: create, fault: { t: 'hold', when: 'before' } });
    const err = await rejectionOf(authorize('fault-hold-before', impatient));
    expect(err).toBeInstanceOf(Stripe.errors.StripeConnectionError);
    expect(err.message).toMatch(/timeout/);
    expect(server.paymentIntents()).toHaveLength(0);
    await vi.waitFor(() => expect(server.calls[0]!.outcome).toBe('client-gone'), { timeout: 2_000, interval: 10 });
    hold.release();
    await vi.waitFor(() => expect(server.paymentIntents()).toHaveLength(1), { timeout: 2_000, interval: 10 });
    expect(server.calls[0]!.status).toBeNull();
  });

  it('delays processing while holding the key: a retry after the client timed out gets 409 idempotency_key_in_use', async () => {
    const impatient = sdkFor(server, { timeout: 100 });
    server.faults.next({ match: create, fault: { t: 'delay', ms: 60_000, when: 'before' } });
    expect(await rejectionOf(authorize('fault-delay-before', impatient))).toBeInstanceOf(Stripe.errors.StripeConnectionError);
    const err = await rejectionOf(authorize('fault-delay-before'));
    expect(err).toBeInstanceOf(Stripe.errors.StripeAPIError);
    expect(err).toMatchObject({ statusCode: 409, code: 'idempotency_key_in_use' });
    expect(server.paymentIntents()).toHaveLength(0);
  });

  it('applies faults to GETs too, only to the requests they match, and not after clear()', async () => {
    const pi = await authorize('fault-get');
    server.faults.next({ match: { method: 'GET' }, fault: { t: 'status', status: 503, when: 'before' } });
    server.faults.next({ match: { method: 'GET' }, fault: { t: 'status', status: 503, when: 'before' } });
    const capture = await stripe.paymentIntents.capture(pi.id);
    expect(capture.status).toBe('succeeded');
    expect(await rejectionOf(stripe.paymentIntents.retrieve(pi.id))).toBeInstanceOf(Stripe.errors.StripeAPIError);
    expect(server.faults.clear()).toBe(1);
    expect((await stripe.paymentIntents.retrieve(pi.id)).status).toBe('succeeded');
  });

  it('adds the configured latency before every answer', async () => {
    const slow = await startStripeTestServer({ latencyMs: (call) => (call.method === 'GET' ? 80 : 0) });
    try {
      const client = sdkFor(slow);
      const pi = await client.paymentIntents.create({ amount: 100, currency: 'usd' });
      const started = performance.now();
      await client.paymentIntents.retrieve(pi.id);
      expect(performance.now() - started).toBeGreaterThanOrEqual(75);
    } finally {
      await slow.close();
    }
  });
});
