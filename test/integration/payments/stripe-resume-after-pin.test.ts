import { Client } from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buyNowBody, pollUntil, postCheckout, type CheckoutAnswer } from '../../support/checkout-client.js';
import { adminCall, bootChildNode, ensureNodeBuilt, freePort, kill9, killAllChildNodes } from '../../support/child-node.js';
import { createPgTestDatabase } from '../../support/databases.js';
import { startStripeTestServer, type StripeTestServer } from '../../stripe-server/server.js';

/**
 * A node dies right after the pin step (docs/payments.md, "A crash at each saga step": the re-run
 * "pins again and writes the order; the pinned-hold resolver leaves those of a running saga alone"). It restarts once
 * the hold's deadline has passed. Recovery queues the saga's resume in the checkout actor's mailbox, and the
 * pinned-hold resolver runs at start in the same turn, before the mailbox is drained: `isRunning(key)` is false for a
 * saga queued to resume. The resolver finds no order yet, voids the checkout's PaymentIntent and releases the hold,
 * while the resumed saga re-authorizes (Stripe replays the stored `requires_capture`) and carries on: the checkout
 * ends either 409 HOLD_EXPIRED (the buyer's completed payment thrown away) or confirmed on a cancelled
 * PaymentIntent with its stock given back.
 */
const onHand = 5;
const sku = 'RESOLVER-START';
const holdTtlMs = 1_000;
const webhookSecret = 'whsec_resume_after_pin_0123456789';
const requestTimeoutMs = 20_000;

describe('restart after a crash right after the pin, once the hold deadline passed (Stripe)', () => {
  let server: StripeTestServer;
  let port: number;
  const cleanups: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    ensureNodeBuilt();
    port = await freePort();
  }, 150_000);
  afterEach(async () => {
    await killAllChildNodes();
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  afterAll(() => killAllChildNodes());

  it('resumes the saga to a confirmed order on its one open PaymentIntent; the resolver leaves it alone', async () => {
    server = await startStripeTestServer();
    const db = await createPgTestDatabase();
    cleanups.push(() => server.close(), () => db.drop());
    const env = {
      DATABASE_URL: db.url,
      PAYMENT_PROVIDER: 'stripe',
      STRIPE_API_KEY: server.apiKey,
      STRIPE_WEBHOOK_SECRET: webhookSecret,
      STRIPE_API_BASE: server.url,
      HOLD_TTL_MS: String(holdTtlMs),
    };
    const key = 'resolver-at-start';
    const body = buyNowBody([{ sku, qty: 1 }], 'pm_card_visa');

    const first = await bootChildNode(port, { ...env, BOXOFFICE_TEST_KILL_AFTER_STEP: 'pin' });
    expect((await adminCall(first.base, 'PUT', `/api/products/${sku}`, { name: sku, priceMinor: 1_500, currency: 'EUR', weightGrams: 200 })).status).toBe(200);
    expect((await adminCall(first.base, 'PUT', `/api/inventory/${sku}`, { onHand })).status).toBe(200);
    const sentAt = Date.now();
    await postCheckout(first.base, key, body, AbortSignal.timeout(requestTimeoutMs)).catch(() => null);
    expect(await first.exited, `the node was not killed by its own hook:\n${first.output.join('')}`).toBe(null);
    // The pinned hold's deadline (reserve + HOLD_TTL_MS) is behind us before the restart.
    await pollUntil('the hold deadline to pass', 10_000, async () => (Date.now() > sentAt + holdTtlMs + 200 ? true : undefined));

    const second = await bootChildNode(port, env);
    const dump = () => `node output:\n${second.output.join('')}\nwire: ${JSON.stringify(server.calls.map((c) => [c.method, c.path, c.idempotencyKey, c.status]))}`;
    const final = await pollUntil<CheckoutAnswer>(`key ${key} to finish`, 30_000, async () => {
      const a = await postCheckout(second.base, key, body, AbortSignal.timeout(requestTimeoutMs));
      return a.status === 409 && a.body?.error?.code === 'IDEMPOTENCY_KEY_IN_USE' ? undefined : a;
    });
    const intents = server.paymentIntents().map((pi) => ({ status: pi.status, checkoutKey: pi.metadata['checkout_key'] }));
    const pg = new Client({ connectionString: db.url });
    await pg.connect();
    cleanups.push(() => pg.end());
    const { rows } = await pg.query<{ status: string }>('SELECT status FROM orders');
    const inv = (await (await fetch(`${second.base}/api/inventory/${sku}`)).json()) as Record<string, unknown>;
    expect({ answer: final.status, orders: rows.map((r) => r.status), intents, inv }, dump()).toEqual({
      answer: 201,
      orders: ['confirmed'],
      intents: [{ status: 'requires_capture', checkoutKey: key }],
      inv: { sku, onHand, available: onHand - 1, held: expect.any(Number), sold: expect.any(Number) },
    });
    await kill9(second);
  }, 90_000);
});
