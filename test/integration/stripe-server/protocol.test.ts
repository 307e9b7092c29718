import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStripeTestServer, type StripeTestServer } from '../../stripe-server/server.js';

/**
 * The server's HTTP surface with plain fetch, as curl or a non-SDK client sees it: authentication, routing, the form
 * encoding, the body limit and the headers Stripe answers with.
 */
describe('Stripe test server: HTTP protocol', () => {
  let server: StripeTestServer;
  beforeAll(async () => {
    server = await startStripeTestServer({ limits: { bodyBytesMax: 2_048 } });
  });
  afterAll(async () => {
    await server.close();
  });

  const form = 'application/x-www-form-urlencoded';
  async function call(method: string, path: string, opts: { body?: string; headers?: Record<string, string>; auth?: string | null } = {}) {
    const auth = opts.auth === undefined ? `Bearer ${server.apiKey}` : opts.auth;
    const headers: Record<string, string> = { ...(auth === null ? {} : { authorization: auth }), ...(opts.body === undefined ? {} : { 'content-type': form }), ...opts.headers };
    const res = await fetch(`${server.url}${path}`, { method, headers, ...(opts.body === undefined ? {} : { body: opts.body }) });
    return { status: res.status, headers: res.headers, body: (await res.json()) as { error?: Record<string, unknown> } & Record<string, unknown> };
  }

  it.each([
    ['no Authorization header', null, /did not provide an API key/],
    ['another key', 'Bearer sk_test_not_this_one', /Invalid API Key provided: sk_test_\*\*\*\*_one/],
    ['a malformed header', 'Token abc', /Invalid API Key/],
  ])('answers 401 invalid_request_error for %s', async (_name, auth, message) => {
    const r = await call('GET', '/v1/payment_intents/pi_1', { auth });
    expect(r.status).toBe(401);
    expect(r.body.error).toMatchObject({ type: 'invalid_request_error', message: expect.stringMatching(message) });
  });

  it('accepts Basic authentication with the key as user name, as curl -u sends it', async () => {
    const basic = `Basic ${Buffer.from(`${server.apiKey}:`).toString('base64')}`;
    const r = await call('POST', '/v1/payment_intents', { auth: basic, body: 'amount=100&currency=usd' });
    expect(r.status).toBe(200);
  });

  it('answers 404 invalid_request_error for a route it does not implement', async () => {
    const r = await call('GET', '/v1/customers');
    expect(r.status).toBe(404);
    expect(r.body.error).toMatchObject({ type: 'invalid_request_error', message: expect.stringMatching(/Unrecognized request URL \(GET: \/v1\/customers\)/) });
  });

  it('takes payment_method_types[]=card (curl) and payment_method_types[0]=card (stripe-node) on API versions that have it', async () => {
    const base = 'amount=100&currency=usd&payment_method=pm_card_visa&confirm=true&capture_method=manual';
    for (const types of ['payment_method_types[]=card', 'payment_method_types[0]=card']) {
      const r = await call('POST', '/v1/payment_intents', { body: `${base}&${types}`, headers: { 'stripe-version': '2025-03-31.basil' } });
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ status: 'requires_capture', payment_method_types: ['card'], automatic_payment_methods: null });
    }
  });

  it('answers with Request-Id, echoes Stripe-Version and Idempotency-Key, and logs the same request id', async () => {
    const r = await call('POST', '/v1/payment_intents', { body: 'amount=100&currency=usd', headers: { 'stripe-version': '2025-03-31.basil', 'idempotency-key': 'proto-1' } });
    expect(r.headers.get('request-id')).toMatch(/^req_/);
    expect(r.headers.get('stripe-version')).toBe('2025-03-31.basil');
    expect(r.headers.get('idempotency-key')).toBe('proto-1');
    expect(server.calls.at(-1)!.requestId).toBe(r.headers.get('request-id'));
  });

  it('refuses a JSON body: the v1 API takes form encoding', async () => {
    const r = await call('POST', '/v1/payment_intents', { body: '{"amount":100}', headers: { 'content-type': 'application/json' } });
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({ type: 'invalid_request_error', message: expect.stringMatching(/Content-Type/) });
  });

  it('refuses a body past bodyBytesMax with 400 invalid_request_error, and stores nothing under its key', async () => {
    const big = `amount=100&currency=usd&description=${'x'.repeat(2_100)}`;
    const r = await call('POST', '/v1/payment_intents', { body: big, headers: { 'idempotency-key': 'proto-big' } });
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({ type: 'invalid_request_error', message: expect.stringMatching(/larger than 2048 bytes/) });
    const small = await call('POST', '/v1/payment_intents', { body: 'amount=100&currency=usd', headers: { 'idempotency-key': 'proto-big' } });
    expect(small.status).toBe(200);
  });

  it('refuses a form key that cannot be read', async () => {
    const r = await call('POST', '/v1/payment_intents', { body: 'amount=100&amount[x]=1&currency=usd' });
    expect(r.status).toBe(400);
  });

  it('refuses to create past paymentIntentsMax with test_server_capacity, storing nothing under the key', async () => {
    const small = await startStripeTestServer({ limits: { paymentIntentsMax: 1 } });
    try {
      const post = (key: string) =>
        fetch(`${small.url}/v1/payment_intents`, { method: 'POST', headers: { authorization: `Bearer ${small.apiKey}`, 'content-type': form, 'idempotency-key': key }, body: 'amount=1&currency=usd' });
      expect((await post('cap-1')).status).toBe(200);
      for (const attempt of [1, 2]) {
        const refused = await post('cap-2');
        expect(refused.status).toBe(400);
        expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('test_server_capacity');
        // Not stored: the second refusal is decided afresh, not replayed.
        expect(refused.headers.get('idempotent-replayed')).toBeNull();
        expect(small.calls.at(-1)!.replayed, `attempt ${attempt}`).toBe(false);
      }
      expect(small.paymentIntents()).toHaveLength(1);
    } finally {
      await small.close();
    }
  });
});
