import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStripeTestServer, type StripeTestServer } from '../../stripe-server/server.js';
import { authorizeParams, rejectionOf, sdkFor } from '../../support/stripe-sdk.js';

/**
 * paymentIntents.search through the real SDK. The server runs on a clock the test moves, so "not indexed yet"
 * and "indexed now" are reached without waiting.
 */
describe('Stripe test server: search', () => {
  let nowMs = 1_700_000_000_000;
  const searchLagMs = 2_000;
  let server: StripeTestServer;
  let stripe: Stripe;
  beforeAll(async () => {
    server = await startStripeTestServer({ searchLagMs, clock: { now: () => nowMs } });
    stripe = sdkFor(server);
  });
  afterAll(async () => {
    await server.close();
  });

  const search = (query: string, extra: Partial<Stripe.PaymentIntentSearchParams> = {}) => stripe.paymentIntents.search({ query, ...extra });

  it('finds a PaymentIntent by metadata only once the search lag has passed', async () => {
    const pi = await stripe.paymentIntents.create(authorizeParams('pm_card_visa', { metadata: { checkout_id: 'co-lag', order_id: 'ord-lag' } }));
    const early = await search("metadata['checkout_id']:'co-lag'");
    expect(early).toMatchObject({ object: 'search_result', data: [], has_more: false, next_page: null, url: '/v1/payment_intents/search' });
    // Retrieve, unlike search, sees it at once: read-after-write is what retrieve is for.
    expect((await stripe.paymentIntents.retrieve(pi.id)).id).toBe(pi.id);
    nowMs += searchLagMs - 1;
    expect((await search("metadata['checkout_id']:'co-lag'")).data).toHaveLength(0);
    nowMs += 1;
    const found = await search("metadata['checkout_id']:'co-lag'");
    expect(found.data.map((p) => p.id)).toEqual([pi.id]);
    expect((await search("metadata['order_id']:'ord-lag'")).data.map((p) => p.id)).toEqual([pi.id]);
  });

  it('combines clauses with AND and sees status changes at once', async () => {
    const pi = await stripe.paymentIntents.create(authorizeParams('pm_card_visa', { metadata: { checkout_id: 'co-and' } }));
    nowMs += searchLagMs;
    expect((await search("metadata['checkout_id']:'co-and' AND status:'requires_capture'")).data).toHaveLength(1);
    await stripe.paymentIntents.capture(pi.id);
    expect((await search("metadata['checkout_id']:'co-and' AND status:'requires_capture'")).data).toHaveLength(0);
    expect((await search("metadata['checkout_id']:'co-and' AND status:'succeeded'")).data.map((p) => p.id)).toEqual([pi.id]);
  });

  it('pages newest first with limit and next_page', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i += 1) ids.push((await stripe.paymentIntents.create({ amount: 100 + i, currency: 'usd', metadata: { batch: 'paged' } })).id);
    nowMs += searchLagMs;
    const first = await search("metadata['batch']:'paged'", { limit: 2 });
    expect(first.data.map((p) => p.id)).toEqual([ids[2], ids[1]]);
    expect(first.has_more).toBe(true);
    const second = await search("metadata['batch']:'paged'", { limit: 2, page: first.next_page! });
    expect(second.data.map((p) => p.id)).toEqual([ids[0]]);
    expect(second).toMatchObject({ has_more: false, next_page: null });
  });

  it('refuses a query it cannot read with 400 invalid_request_error, param query', async () => {
    const err = await rejectionOf(search("metadata['checkout_id']='x' OR"));
    expect(err).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(err.param).toBe('query');
  });
});
