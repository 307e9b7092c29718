import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pollUntil } from '../../support/checkout-client.js';
import { startTestNode, stock, testAddress, type TestNode } from '../../support/node-harness.js';
import { sdkFor } from '../../support/stripe-sdk.js';
import { startStripeTestServer, type StripeTestServer } from '../../stripe-server/server.js';

/**
 * A node with PAYMENT_PROVIDER=stripe against the Stripe test server (the real SDK on both sides): a sale, a
 * decline, 3-D Secure finished by a webhook, refunds through the route, and the webhook endpoint under bad
 * signatures, duplicates, reordering and intents it does not know.
 */

const webhookSecret = 'whsec_stripe_node_test_0123456789';
const signer = new Stripe('sk_test_signer_only', { telemetry: false });

/** A body signed as Stripe signs it, with the SDK's own test helper. */
function signed(payload: string, secret = webhookSecret): Record<string, string> {
  return { 'stripe-signature': signer.webhooks.generateTestHeaderString({ payload, secret }), 'content-type': 'application/json' };
}

describe('a node selling through Stripe', () => {
  let server: StripeTestServer;
  let t: TestNode;
  let seq = 0;

  beforeAll(async () => {
    server = await startStripeTestServer();
    t = await startTestNode({
      driver: 'pg',
      env: { PAYMENT_PROVIDER: 'stripe', STRIPE_API_KEY: server.apiKey, STRIPE_WEBHOOK_SECRET: webhookSecret, STRIPE_API_BASE: server.url },
    });
    server.setWebhook({ url: `${t.base}/api/webhooks/stripe`, secret: webhookSecret });
  });
  afterAll(async () => {
    await t?.stop();
    await server?.close();
  });

  const buy = (sku: string, qty: number, paymentMethod: string) =>
    t.call('POST', '/api/checkout', { items: [{ sku, qty }], paymentMethod, address: testAddress }, { 'idempotency-key': `stripe-node-${++seq}` });
  const inventory = async (sku: string) => (await t.call('GET', `/api/inventory/${sku}`)).body;
  const order = async (orderId: string) => (await t.call('GET', `/api/orders/${orderId}`)).body;
  const intent = (id: string) => server.paymentIntents().find((pi) => pi.id === id);
  const settledOrder = (orderId: string, status: string) =>
    pollUntil(`order ${orderId} to be ${status}`, 10_000, async () => ((await order(orderId)).status === status ? true : undefined));

  it('confirms a sale with one manual-capture PaymentIntent, captures it on ship and refunds through the route', async () => {
    await stock(t, 'ST-SALE', 3, 2_000, 'EUR');
    const r = await buy('ST-SALE', 1, 'pm_card_visa');
    expect(r.status).toBe(201);
    const { orderId } = r.body;
    const [create] = server.calls.filter((c) => c.path === '/v1/payment_intents' && c.params['metadata'] && (c.params['metadata'] as any).order_id === orderId);
    expect(create).toMatchObject({ method: 'POST', idempotencyKeySource: 'caller', params: { capture_method: 'manual', confirm: 'true', currency: 'eur', payment_method: 'pm_card_visa' } });
    expect(create!.idempotencyKey).toMatch(/:authorize$/);
    const pi = server.paymentIntents().find((p) => p.metadata['order_id'] === orderId)!;
    expect(pi).toMatchObject({ status: 'requires_capture', currency: 'eur', capture_method: 'manual' });
    expect(pi.amount).toBe((await order(orderId)).totals.totalMinor);

    expect((await t.admin('POST', `/api/orders/${orderId}/ship`)).status).toBe(200);
    expect(intent(pi.id)!.status).toBe('succeeded');
    expect(server.calls.find((c) => c.path === `/v1/payment_intents/${pi.id}/capture`)!.idempotencyKey).toBe(`${orderId}:capture`);

    const part = await t.admin('POST', `/api/orders/${orderId}/refund`, { amountMinor: 500 });
    expect(part.status).toBe(200);
    const tooMuch = await t.admin('POST', `/api/orders/${orderId}/refund`, { amountMinor: pi.amount });
    expect(tooMuch.status).toBe(409);
    expect(tooMuch.body.error.code).toBe('REFUND_EXCEEDS_CAPTURED');
    expect((await t.admin('POST', `/api/orders/${orderId}/refund`, {})).status).toBe(200);
    const refunds = server.calls.filter((c) => c.path === '/v1/refunds' && c.status === 200);
    expect(refunds.map((c) => [c.idempotencyKey, c.params['amount']])).toEqual([
      [`${orderId}:refund:1`, '500'],
      [`${orderId}:refund:2`, String(pi.amount - 500)],
    ]);
    expect((await order(orderId)).payment).toEqual({ status: 'refunded', capturedMinor: pi.amount, refundedMinor: pi.amount });
  });

  it('answers a declined card with 402 PAYMENT_DECLINED and its decline code, and gives the stock back', async () => {
    await stock(t, 'ST-DECLINE', 2);
    const r = await buy('ST-DECLINE', 1, 'pm_card_chargeDeclinedInsufficientFunds');
    expect(r.status).toBe(402);
    expect(r.body.error).toMatchObject({ code: 'PAYMENT_DECLINED', declineCode: 'insufficient_funds' });
    expect(await inventory('ST-DECLINE')).toMatchObject({ available: 2, held: 0, sold: 0 });
  });

  it('answers 3-D Secure with 202 and the client secret, and confirms the order when the webhook says authorized', async () => {
    await stock(t, 'ST-3DS', 2);
    const r = await buy('ST-3DS', 1, 'pm_card_authenticationRequired');
    expect(r.status).toBe(202);
    expect(r.body).toMatchObject({ status: 'pending', nextAction: { type: 'use_stripe_sdk', clientSecret: expect.stringMatching(/^pi_.+_secret_/) } });
    const pi = server.paymentIntents().find((p) => p.metadata['order_id'] === r.body.orderId)!;
    expect(r.body.nextAction.clientSecret).toBe(pi.client_secret);
    expect(await inventory('ST-3DS')).toMatchObject({ held: 1, sold: 0 });

    server.authenticate(pi.id, 'succeed');
    await server.webhooksIdle();
    await settledOrder(r.body.orderId, 'confirmed');
    expect(await inventory('ST-3DS')).toMatchObject({ available: 1, held: 0, sold: 1 });
    expect(intent(pi.id)!.status).toBe('requires_capture');
  });

  it('fails the order, frees its stock and cancels the PaymentIntent when 3-D Secure fails', async () => {
    await stock(t, 'ST-3DS-FAIL', 2);
    const r = await buy('ST-3DS-FAIL', 1, 'pm_card_authenticationRequired');
    expect(r.status).toBe(202);
    const pi = server.paymentIntents().find((p) => p.metadata['order_id'] === r.body.orderId)!;
    server.authenticate(pi.id, 'fail');
    await server.webhooksIdle();
    await settledOrder(r.body.orderId, 'failed');
    expect(await inventory('ST-3DS-FAIL')).toMatchObject({ available: 2, held: 0, sold: 0 });
    expect(intent(pi.id)!.status).toBe('canceled');
  });

  describe('the webhook endpoint', () => {
    const post = (payload: string, headers: Record<string, string>) => t.call('POST', '/api/webhooks/stripe', payload, headers);
    const storedEvents = async () => (await t.node.sql.query<{ event_id: string }>('SELECT event_id FROM webhook_events')).map((r) => r.event_id);

    it.each([
      ['no signature', (p: string) => ({ body: p, headers: { 'content-type': 'application/json' } })],
      ['a signature made with another secret', (p: string) => ({ body: p, headers: signed(p, 'whsec_someone_else_0123456789') })],
      ['a body changed after signing', (p: string) => ({ body: p.replace('"amount":100', '"amount":1'), headers: signed(p) })],
    ])('answers 400 WEBHOOK_SIGNATURE_INVALID for %s and records nothing', async (_label, requestOf) => {
      const eventId = `evt_forged_${++seq}`;
      const payload = JSON.stringify({ id: eventId, object: 'event', type: 'payment_intent.succeeded', livemode: false, data: { object: { id: 'pi_x', object: 'payment_intent', amount: 100, metadata: {} } } });
      const { body, headers } = requestOf(payload);
      const r = await post(body, headers);
      expect(r.status).toBe(400);
      expect(r.body.error.code).toBe('WEBHOOK_SIGNATURE_INVALID');
      // (Other tests' genuine events may arrive meanwhile: only this one is looked for.)
      expect(await storedEvents()).not.toContain(eventId);
    });

    it('handles an event once: a redelivery is answered 200 as a duplicate', async () => {
      await stock(t, 'ST-DUP', 1);
      const r = await buy('ST-DUP', 1, 'pm_card_visa');
      const event = server.webhookEvents().find((e) => e.type === 'payment_intent.amount_capturable_updated' && (e.data.object as Stripe.PaymentIntent).metadata['order_id'] === r.body.orderId)!;
      await server.webhooksIdle();
      const payload = JSON.stringify(event);
      const again = await post(payload, signed(payload));
      expect(again.status).toBe(200);
      expect(again.body).toEqual({ received: true, eventId: event.id, outcome: 'duplicate' });
    });

    it('keeps a confirmed order confirmed when an older event about it arrives late', async () => {
      await stock(t, 'ST-ORDER', 1);
      server.setWebhook({ url: `${t.base}/api/webhooks/stripe`, secret: webhookSecret, hold: true });
      try {
        const r = await buy('ST-ORDER', 1, 'pm_card_authenticationRequired');
        const pi = server.paymentIntents().find((p) => p.metadata['order_id'] === r.body.orderId)!;
        server.authenticate(pi.id, 'succeed');
        const events = server.webhookEvents().filter((e) => (e.data.object as Stripe.PaymentIntent).id === pi.id);
        const late = events.find((e) => e.type === 'payment_intent.requires_action')!;
        const capturable = events.find((e) => e.type === 'payment_intent.amount_capturable_updated')!;
        // Newest first, then the older one: the order follows the PaymentIntent's state, never the event's.
        expect((await server.deliverWebhook(capturable.id)).status).toBe(200);
        await settledOrder(r.body.orderId, 'confirmed');
        const payload = JSON.stringify(late);
        const old = await post(payload, signed(payload));
        expect(old.body).toMatchObject({ received: true, outcome: 'ignored' });
        expect((await order(r.body.orderId)).status).toBe('confirmed');
      } finally {
        server.setWebhook({ url: `${t.base}/api/webhooks/stripe`, secret: webhookSecret });
      }
    });

    it('answers 200 for an intent it does not know and for event types it does not handle', async () => {
      const stranger = await sdkFor(server).paymentIntents.create({ amount: 700, currency: 'usd', payment_method: 'pm_card_visa', confirm: true, capture_method: 'manual', automatic_payment_methods: { enabled: true, allow_redirects: 'never' } });
      await server.webhooksIdle();
      const event = server.webhookEvents().find((e) => e.type === 'payment_intent.amount_capturable_updated' && (e.data.object as Stripe.PaymentIntent).id === stranger.id)!;
      await t.node.sql.query('DELETE FROM webhook_events WHERE event_id = $1', [event.id]);
      const payload = JSON.stringify(event);
      expect((await post(payload, signed(payload))).body).toMatchObject({ outcome: 'unknown' });
      const other = JSON.stringify({ id: `evt_other_${++seq}`, object: 'event', type: 'customer.created', livemode: false, data: { object: { id: 'cus_1', object: 'customer' } } });
      const r = await post(other, signed(other));
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ outcome: 'ignored' });
      // Nothing of ours touched the stranger's PaymentIntent.
      expect(intent(stranger.id)!.status).toBe('requires_capture');
    });
  });
});
