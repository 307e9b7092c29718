import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';
import { afterEach, describe, expect, it } from 'vitest';
import { startStripeTestServer, type StripeTestServer, type StripeTestServerOptions } from '../../stripe-server/server.js';
import { authorizeParams, sdkFor } from '../../support/stripe-sdk.js';

/**
 * Webhook events from the Stripe test server to a receiver on a real socket, verified the way an integration must:
 * stripe.webhooks.constructEvent on the raw body with the Stripe-Signature header and the endpoint secret.
 * Tests wait for deliveries with `webhooksIdle()`, never with a timer.
 */
interface Delivered {
  body: string;
  signature: string;
}

interface Receiver {
  url: string;
  delivered: Delivered[];
  close(): Promise<void>;
}

/** A webhook endpoint that answers `status(n)` to its n-th request (1-based); `hold` keeps an answer until released. */
async function startReceiver(status: (n: number) => number = () => 200, hold?: Promise<void>): Promise<Receiver> {
  const delivered: Delivered[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      delivered.push({ body: Buffer.concat(chunks).toString('utf8'), signature: String(req.headers['stripe-signature']) });
      if (hold !== undefined) await hold;
      res.writeHead(status(delivered.length)).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/stripe`,
    delivered,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

describe('Stripe test server: webhooks', () => {
  const secret = 'whsec_boxoffice_test';
  const verifier = new Stripe('sk_test_unused');
  const opened: { close(): Promise<void> }[] = [];
  afterEach(async () => {
    for (const o of opened.splice(0).reverse()) await o.close();
  });

  async function setup(receiverStatus?: (n: number) => number, options: StripeTestServerOptions = {}, hold?: Promise<void>) {
    const receiver = await startReceiver(receiverStatus, hold);
    opened.push(receiver);
    const server: StripeTestServer = await startStripeTestServer({ webhook: { url: receiver.url, secret }, ...options });
    opened.push(server);
    return { receiver, server, stripe: sdkFor(server) };
  }

  const verified = (d: Delivered) => verifier.webhooks.constructEvent(d.body, d.signature, secret);

  it('sends one signed event per state change, each verified by constructEvent, in order', async () => {
    const { receiver, server, stripe } = await setup();
    const pi = await stripe.paymentIntents.create(authorizeParams('pm_card_visa'), { idempotencyKey: 'co-hooks:authorize' });
    await stripe.paymentIntents.capture(pi.id, {}, { idempotencyKey: 'co-hooks:capture' });
    await stripe.refunds.create({ payment_intent: pi.id, amount: 400 }, { idempotencyKey: 'co-hooks:refund' });
    await server.webhooksIdle();
    const events = receiver.delivered.map(verified);
    expect(events.map((e) => e.type)).toEqual([
      'payment_intent.created',
      'payment_intent.amount_capturable_updated',
      'payment_intent.succeeded',
      'charge.refunded',
    ]);
    for (const e of events) {
      expect(e).toMatchObject({ object: 'event', livemode: false, pending_webhooks: 1, api_version: Stripe.API_VERSION });
      expect(e.id).toMatch(/^evt_[0-9A-Za-z]{24}$/);
    }
    expect(events[1]!.data.object).toMatchObject({ id: pi.id, status: 'requires_capture', amount_capturable: 1_000 });
    expect(events[0]!.data.object).toMatchObject({ id: pi.id, status: 'requires_confirmation' });
    expect(events[3]!.data.object).toMatchObject({ object: 'charge', amount_refunded: 400, payment_intent: pi.id });
    expect(events.map((e) => e.request?.idempotency_key)).toEqual(['co-hooks:authorize', 'co-hooks:authorize', 'co-hooks:capture', 'co-hooks:refund']);
    expect(events[2]!.request?.id).toBe(server.calls[1]!.requestId);
    expect(server.webhookDeliveries().every((d) => d.ok && d.attempt === 1)).toBe(true);
  });

  it('signs exactly as stripe-node computes it (generateTestHeaderString is the reference)', async () => {
    const { receiver, server, stripe } = await setup();
    await stripe.paymentIntents.create({ amount: 100, currency: 'usd' });
    await server.webhooksIdle();
    const [{ body, signature }] = receiver.delivered as [Delivered];
    expect(signature).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    const timestamp = Number(/^t=(\d+)/.exec(signature)![1]);
    expect(Math.abs(timestamp - Date.now() / 1000)).toBeLessThan(60);
    expect(signature).toBe(verifier.webhooks.generateTestHeaderString({ payload: body, secret, timestamp }));
  });

  it.each([
    ['pm_card_chargeDeclined', 'payment_intent.payment_failed'],
    ['pm_card_authenticationRequired', 'payment_intent.requires_action'],
  ])('announces %s as %s', async (pm, type) => {
    const { receiver, server, stripe } = await setup();
    await stripe.paymentIntents.create(authorizeParams(pm)).catch(() => undefined);
    await server.webhooksIdle();
    expect(receiver.delivered.map((d) => verified(d).type)).toEqual(['payment_intent.created', type]);
  });

  it('announces a cancel, and the outcome of 3-D Secure', async () => {
    const { receiver, server, stripe } = await setup();
    const pi = await stripe.paymentIntents.create(authorizeParams('pm_card_authenticationRequired'));
    server.authenticate(pi.id, 'fail');
    await stripe.paymentIntents.cancel(pi.id);
    await server.webhooksIdle();
    const events = receiver.delivered.map(verified);
    expect(events.map((e) => e.type)).toEqual(['payment_intent.created', 'payment_intent.requires_action', 'payment_intent.payment_failed', 'payment_intent.canceled']);
    expect(events[2]!.request).toEqual({ id: null, idempotency_key: null });
  });

  it('does not make the API answer wait for a delivery', async () => {
    let release = (): void => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    const { receiver, server, stripe } = await setup(() => 200, {}, held);
    const pi = await stripe.paymentIntents.create({ amount: 100, currency: 'usd' });
    expect(pi.status).toBe('requires_payment_method');
    expect(server.webhookDeliveries()).toHaveLength(0);
    release();
    await server.webhooksIdle();
    expect(receiver.delivered).toHaveLength(1);
    expect(server.webhookDeliveries()).toMatchObject([{ ok: true, status: 200 }]);
  });

  it('retries a failing endpoint up to webhookAttemptsMax attempts, records each, then gives up', async () => {
    const { receiver, server, stripe } = await setup((n) => (n <= 3 ? 500 : 200), { limits: { webhookAttemptsMax: 3, webhookRetryDelayMs: 1 } });
    await stripe.paymentIntents.create({ amount: 100, currency: 'usd' });
    await server.webhooksIdle();
    expect(receiver.delivered).toHaveLength(3);
    expect(server.webhookDeliveries().map((d) => [d.attempt, d.status, d.ok])).toEqual([
      [1, 500, false],
      [2, 500, false],
      [3, 500, false],
    ]);
  });

  it('delivers on the second attempt after a failure', async () => {
    const { receiver, server, stripe } = await setup((n) => (n === 1 ? 503 : 200), { limits: { webhookRetryDelayMs: 1 } });
    await stripe.paymentIntents.create({ amount: 100, currency: 'usd' });
    await server.webhooksIdle();
    expect(receiver.delivered.map((d) => verified(d).id)).toEqual([server.webhookEvents()[0]!.id, server.webhookEvents()[0]!.id]);
    expect(server.webhookDeliveries().map((d) => d.ok)).toEqual([false, true]);
  });

  it('records an unreachable endpoint as failed attempts with the connection error', async () => {
    const gone = await startReceiver();
    await gone.close();
    const server = await startStripeTestServer({ webhook: { url: gone.url, secret }, limits: { webhookAttemptsMax: 2, webhookRetryDelayMs: 1 } });
    opened.push(server);
    await sdkFor(server).paymentIntents.create({ amount: 100, currency: 'usd' });
    await server.webhooksIdle();
    expect(server.webhookDeliveries()).toMatchObject([
      { attempt: 1, status: null, ok: false, error: expect.stringMatching(/ECONNREFUSED/) },
      { attempt: 2, status: null, ok: false },
    ]);
  });

  it('records an unusable endpoint URL as a failed attempt instead of stopping deliveries', async () => {
    const server = await startStripeTestServer({ webhook: { url: 'not a url', secret }, limits: { webhookAttemptsMax: 1 } });
    opened.push(server);
    await sdkFor(server).paymentIntents.create({ amount: 100, currency: 'usd' });
    await server.webhooksIdle();
    expect(server.webhookDeliveries()).toMatchObject([{ status: null, ok: false, error: expect.stringMatching(/Invalid URL/) }]);
  });

  it('holds events back for the test to deliver: twice, and out of order', async () => {
    const receiver = await startReceiver();
    opened.push(receiver);
    const server = await startStripeTestServer({ webhook: { url: receiver.url, secret, hold: true } });
    opened.push(server);
    const stripe = sdkFor(server);
    const pi = await stripe.paymentIntents.create(authorizeParams('pm_card_visa'));
    await stripe.paymentIntents.capture(pi.id);
    await server.webhooksIdle();
    expect(receiver.delivered).toHaveLength(0);
    const [created, capturable, succeeded] = server.webhookEvents();
    await server.deliverWebhook(succeeded!.id);
    await server.deliverWebhook(capturable!.id);
    const again = await server.deliverWebhook(succeeded!.id);
    expect(again).toMatchObject({ eventId: succeeded!.id, attempt: 2, manual: true, ok: true });
    expect(receiver.delivered.map((d) => verified(d).type)).toEqual(['payment_intent.succeeded', 'payment_intent.amount_capturable_updated', 'payment_intent.succeeded']);
    expect(created!.type).toBe('payment_intent.created');
  });

  it('records events without an endpoint, and starts sending once one is set', async () => {
    const receiver = await startReceiver();
    opened.push(receiver);
    const server = await startStripeTestServer();
    opened.push(server);
    const stripe = sdkFor(server);
    await stripe.paymentIntents.create({ amount: 100, currency: 'usd' });
    expect(server.webhookEvents().map((e) => e.type)).toEqual(['payment_intent.created']);
    server.setWebhook({ url: receiver.url, secret });
    await stripe.paymentIntents.create({ amount: 200, currency: 'usd' });
    await server.webhooksIdle();
    expect(receiver.delivered).toHaveLength(1);
    expect((verified(receiver.delivered[0]!).data.object as Stripe.PaymentIntent).amount).toBe(200);
  });
});
