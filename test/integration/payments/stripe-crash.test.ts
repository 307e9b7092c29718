import { Client } from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buyNowBody, pollUntil, postCheckout, type CheckoutAnswer } from '../../support/checkout-client.js';
import { adminCall, bootChildNode, ensureNodeBuilt, freePort, kill9, killAllChildNodes, type ChildNode } from '../../support/child-node.js';
import { createPgTestDatabase } from '../../support/databases.js';
import { startStripeTestServer, type StripeTestServer } from '../../stripe-server/server.js';

/**
 * kill -9 of a node selling through the Stripe adapter, at each step of the checkout saga (issue 10): the compiled
 * node runs as a child process against the Stripe test server and a fresh PostgreSQL database, one checkout is sent,
 * and the node dies
 * - right after a step completes (BOXOFFICE_TEST_KILL_AFTER_STEP: reserve, authorize, pin, order, commit), or
 * - inside the authorization call: held at the server before Stripe acts, or after it acted with the answer unsent.
 * A second node starts on the same database; the key is retried until it has a final answer.
 *
 * Then, every time: the buyer's answer is a confirmed order; one PaymentIntent for the key, sent with our own
 * idempotency key only, in requires_capture and named by the order; no authorization without an order; the SKU's
 * stock is conserved with no hold left.
 */

const onHand = 5;
const sku = 'STRIPE-CRASH';
const webhookSecret = 'whsec_stripe_crash_test_0123456789';
const requestTimeoutMs = 20_000;

type Kill = { after: 'reserve' | 'authorize' | 'pin' | 'order' | 'commit' } | { inAuthorize: 'before' | 'after' };

const kills: Kill[] = [
  { after: 'reserve' },
  { inAuthorize: 'before' },
  { inAuthorize: 'after' },
  { after: 'authorize' },
  { after: 'pin' },
  { after: 'order' },
  { after: 'commit' },
];

const nameOf = (k: Kill) => ('after' in k ? `right after the ${k.after} step` : `inside the authorization call, ${k.inAuthorize === 'before' ? 'before Stripe acted' : 'after Stripe acted, its answer unsent'}`);

describe('kill -9 at each step of a checkout paid through Stripe', () => {
  let server: StripeTestServer;
  let port: number;
  const cleanups: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    ensureNodeBuilt();
    port = await freePort();
  }, 150_000);

  afterEach(async () => {
    await killAllChildNodes();
    for (const c of cleanups.splice(0).reverse()) await c(); // last made, first undone: the client before its database
  });

  afterAll(async () => {
    await killAllChildNodes();
  });

  const env = (dbUrl: string): Record<string, string> => ({
    DATABASE_URL: dbUrl,
    PAYMENT_PROVIDER: 'stripe',
    STRIPE_API_KEY: server.apiKey,
    STRIPE_WEBHOOK_SECRET: webhookSecret,
    STRIPE_API_BASE: server.url,
    RECONCILE_INTERVAL_MS: '1000',
  });

  for (const kill of kills) {
    it(`keeps one authorization per key and the right order when the node dies ${nameOf(kill)}`, async () => {
      server = await startStripeTestServer();
      const db = await createPgTestDatabase();
      cleanups.push(() => server.close(), () => db.drop());
      const key = `crash-${'after' in kill ? kill.after : `in-authorize-${kill.inAuthorize}`}`;
      const body = buyNowBody([{ sku, qty: 1 }], 'pm_card_visa');

      let first: ChildNode = await bootChildNode(port, { ...env(db.url), ...('after' in kill ? { BOXOFFICE_TEST_KILL_AFTER_STEP: kill.after } : {}) });
      expect((await adminCall(first.base, 'PUT', `/api/products/${sku}`, { name: sku, priceMinor: 1_500, currency: 'EUR', weightGrams: 200 })).status).toBe(200);
      expect((await adminCall(first.base, 'PUT', `/api/inventory/${sku}`, { onHand })).status).toBe(200);

      const held = 'inAuthorize' in kill ? server.faults.next({ match: { method: 'POST', path: '/v1/payment_intents' }, fault: { t: 'hold', when: kill.inAuthorize } }) : null;
      const answer = postCheckout(first.base, key, body, AbortSignal.timeout(requestTimeoutMs)).then(
        (a) => a,
        () => null, // the connection died with the node
      );
      if (held) {
        await held.reached;
        await kill9(first);
        held.release();
        // The held request ends at the server (executed now if it was held before Stripe acted) before the restart.
        await pollUntil('the held create to end at the server', 10_000, async () => (server.calls.some((c) => c.fault !== null && c.outcome !== 'pending') ? true : undefined));
      } else {
        expect(await first.exited, `the node was not killed by its own hook:\n${first.output.join('')}`).toBe(null);
      }
      const before = await answer;
      expect(before === null || before.status === 201, `answer before the crash: ${JSON.stringify(before)}`).toBe(true);

      const second = await bootChildNode(port, env(db.url));
      const dump = () => `node output:\n${second.output.join('')}\nwire: ${JSON.stringify(server.calls.map((c) => [c.method, c.path, c.idempotencyKey, c.status, c.fault]))}`;
      const final = await settled(second.base, key, body);
      // 201, or 202 when the resumed authorization's answer stayed unknown (the sweeper then confirms the order).
      expect([201, 202], `${JSON.stringify(final.body)}\n${dump()}`).toContain(final.status);
      const orderId = final.body.orderId as string;
      const order = await pollUntil(`order ${orderId} to be confirmed`, 15_000, async () => {
        const res = await fetch(`${second.base}/api/orders/${orderId}`, { signal: AbortSignal.timeout(requestTimeoutMs) });
        const o = (await res.json()) as any;
        return o.status === 'confirmed' ? o : undefined;
      });
      expect(order.status).toBe('confirmed');

      // One PaymentIntent for this key, made with our own key, authorized and named by the order.
      const pg = new Client({ connectionString: db.url });
      await pg.connect();
      cleanups.push(() => pg.end());
      const { rows } = await pg.query<{ auth_id: string; idempotency_key: string }>(`SELECT p.auth_id, o.idempotency_key FROM payments p JOIN orders o USING (order_id)`);
      expect(rows.map((r) => r.idempotency_key)).toEqual([key]);
      const intents = server.paymentIntents();
      expect(intents.map((pi) => [pi.id, pi.status, pi.metadata['checkout_key']]), dump()).toEqual([[rows[0]!.auth_id, 'requires_capture', key]]);
      expect(intents[0]!.metadata['order_id']).toBe(orderId);
      const creates = server.calls.filter((c) => c.method === 'POST' && c.path === '/v1/payment_intents');
      expect(new Set(creates.map((c) => c.idempotencyKey)).size, dump()).toBe(1);
      expect(server.calls.filter((c) => c.method === 'POST').every((c) => c.idempotencyKeySource === 'caller')).toBe(true);

      // Stock: one sold, nothing held, the rest available.
      const inv = (await (await fetch(`${second.base}/api/inventory/${sku}`)).json()) as any;
      expect(inv).toEqual({ sku, onHand, available: onHand - 1, held: 0, sold: 1 });
      await kill9(second);
    }, 90_000);
  }
});

/** Retries the key until it is no longer in use by a saga recovery resumed (bounded). */
function settled(base: string, key: string, body: unknown): Promise<CheckoutAnswer> {
  return pollUntil(`key ${key} to finish`, 30_000, async () => {
    const a = await postCheckout(base, key, body, AbortSignal.timeout(requestTimeoutMs));
    return a.status === 409 && a.body?.error?.code === 'IDEMPOTENCY_KEY_IN_USE' ? undefined : a;
  });
}
