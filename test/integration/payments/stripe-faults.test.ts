import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stripeLimits } from '../../../src/config/limits.js';
import { pollUntil } from '../../support/checkout-client.js';
import { startTestNode, stock, testAddress, type TestNode } from '../../support/node-harness.js';
import { sdkFor } from '../../support/stripe-sdk.js';
import { startStripeTestServer, type StripeTestServer } from '../../stripe-server/server.js';

/**
 * A node with PAYMENT_PROVIDER=stripe when Stripe misbehaves (the real SDK against the Stripe test server): answers
 * lost until the checkout gives up waiting (202 pending, then the sweeper confirms it from the one PaymentIntent),
 * a provider failing until the circuit opens (503 before anything is reserved), and reconciliation cancelling an
 * authorization that no order will ever claim.
 */

const webhookSecret = 'whsec_stripe_faults_test_0123456789';
const createPath = '/v1/payment_intents';

function stripeEnv(server: StripeTestServer, extra: Record<string, string> = {}): Record<string, string> {
  return { PAYMENT_PROVIDER: 'stripe', STRIPE_API_KEY: server.apiKey, STRIPE_WEBHOOK_SECRET: webhookSecret, STRIPE_API_BASE: server.url, ...extra };
}

describe('a node selling through a failing Stripe', () => {
  let server: StripeTestServer;
  let t: TestNode;
  let seq = 0;

  beforeAll(async () => {
    server = await startStripeTestServer();
    t = await startTestNode({ driver: 'pg', env: stripeEnv(server) });
  });
  afterAll(async () => {
    await t?.stop();
    await server?.close();
  });

  const buy = (sku: string, key: string) => t.call('POST', '/api/checkout', { items: [{ sku, qty: 1 }], paymentMethod: 'pm_card_visa', address: testAddress }, { 'idempotency-key': key });
  const inventory = async (sku: string) => (await t.call('GET', `/api/inventory/${sku}`)).body;
  const intentsOf = (orderId: string) => server.paymentIntents().filter((pi) => pi.metadata['order_id'] === orderId);

  it('answers 202 when every answer is lost, then confirms the order from its one PaymentIntent', async () => {
    await stock(t, 'SF-LOST', 2);
    // Every answer to the create is lost, the SDK's own resend's too: the checkout's attempts all end unknown.
    const lost = server.faults.next({ match: { method: 'POST', path: createPath }, fault: { t: 'drop', when: 'after' }, times: 6 });
    const r = await buy('SF-LOST', `sf-lost-${++seq}`);
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    expect(r.body).toMatchObject({ status: 'pending' });
    await lost.consumed;
    // The sweeper sends the create again with the same key: Stripe answers with the PaymentIntent made the first time.
    await pollUntil('the pending order to be confirmed', 10_000, async () => ((await t.call('GET', `/api/orders/${r.body.orderId}`)).body.status === 'confirmed' ? true : undefined));
    const intents = intentsOf(r.body.orderId);
    expect(intents.map((pi) => pi.status)).toEqual(['requires_capture']);
    const keys = new Set(server.calls.filter((c) => c.method === 'POST' && c.path === createPath && (c.params['metadata'] as any)?.order_id === r.body.orderId).map((c) => c.idempotencyKey));
    expect(keys.size).toBe(1);
    expect(await inventory('SF-LOST')).toMatchObject({ available: 1, held: 0, sold: 1 });
  });

  it('answers 503 PAYMENT_PROVIDER_UNAVAILABLE with Retry-After once the circuit is open, reserving nothing', async () => {
    await stock(t, 'SF-OPEN', stripeLimits.breakerFailuresMax + 2);
    server.faults.next({ match: { method: 'POST', path: createPath }, fault: { t: 'status', status: 503, when: 'before' }, times: 1_000 });
    // Each checkout is retried with backoff, then unknown: pending (nothing reached Stripe, but it cannot know that).
    // Failures from breakerFailuresMax keys open the circuit.
    for (let i = 0; i < stripeLimits.breakerFailuresMax; i++) {
      const pending = await buy('SF-OPEN', `sf-open-${++seq}`);
      expect(pending.status, JSON.stringify(pending.body)).toBe(202);
    }
    const before = await inventory('SF-OPEN');
    const callsBefore = server.calls.length;

    const refused = await buy('SF-OPEN', `sf-open-${++seq}`);
    expect(refused.status).toBe(503);
    expect(refused.body.error.code).toBe('PAYMENT_PROVIDER_UNAVAILABLE');
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(Math.ceil(stripeLimits.breakerOpenMs / 1000));
    expect(await inventory('SF-OPEN')).toEqual(before);
    expect(server.calls.length).toBe(callsBefore);
    server.faults.clear();
  });
});

describe('reconciliation with Stripe', () => {
  let server: StripeTestServer;
  let t: TestNode;

  beforeAll(async () => {
    // The server's clock runs ten minutes behind, so every PaymentIntent it makes is already past ORPHAN_AUTH_MAX_AGE_MS.
    server = await startStripeTestServer({ clock: { now: () => Date.now() - 10 * 60_000 } });
    t = await startTestNode({ driver: 'pg', env: stripeEnv(server, { RECONCILE_INTERVAL_MS: '1000', ORPHAN_AUTH_MAX_AGE_MS: '60000' }) });
  });
  afterAll(async () => {
    await t?.stop();
    await server?.close();
  });

  it('cancels an authorization whose checkout ended without an order, and leaves confirmed orders and strangers alone', async () => {
    await stock(t, 'REC-A', 2);
    const sale = await t.call('POST', '/api/checkout', { items: [{ sku: 'REC-A', qty: 1 }], paymentMethod: 'pm_card_visa', address: testAddress }, { 'idempotency-key': 'rec-sale' });
    expect(sale.status).toBe(201);
    const stripe = sdkFor(server);
    const params = { amount: 1_234, currency: 'usd', payment_method: 'pm_card_visa', confirm: true, capture_method: 'manual' as const, automatic_payment_methods: { enabled: true, allow_redirects: 'never' as const } };
    // An authorization a crashed checkout left behind: it names a checkout whose saga never got an order.
    const orphan = await stripe.paymentIntents.create({ ...params, metadata: { checkout_id: 'chk_lost', order_id: 'ord_lost', checkout_key: 'rec-lost-key' } }, { idempotencyKey: 'chk_lost:authorize' });
    // Someone else's PaymentIntent on the same account: nothing says it is ours.
    const stranger = await stripe.paymentIntents.create(params, { idempotencyKey: 'not-ours' });

    await pollUntil('the orphan to be cancelled', 15_000, async () => (server.paymentIntents().find((pi) => pi.id === orphan.id)?.status === 'canceled' ? true : undefined));
    const statusOf = (id: string) => server.paymentIntents().find((pi) => pi.id === id)!.status;
    expect(server.calls.find((c) => c.path === `/v1/payment_intents/${orphan.id}/cancel`)!.idempotencyKey).toBe(`${orphan.id}:void`);
    expect(statusOf(stranger.id)).toBe('requires_capture');
    const sold = server.paymentIntents().find((pi) => pi.metadata['order_id'] === sale.body.orderId)!;
    expect(sold.status).toBe('requires_capture');
    const metrics = await (await fetch(`${t.base}/metrics`)).text();
    expect(metrics).toMatch(/boxoffice_reconcile_findings_total\{kind="orphan_voided"\} [1-9]/);
    expect(metrics).toMatch(/boxoffice_reconcile_findings_total\{kind="orphan_unattributed"\} [1-9]/);
  });
});
