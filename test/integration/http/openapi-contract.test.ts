import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestNode, testAddress, testAdminToken, type TestNode } from '../../support/node-harness.js';
import type { OpenApiContract } from '../../support/openapi-contract.js';

/**
 * Drives a request through every route of a real node and checks each answer's status and body against the node's
 * own GET /openapi.json (the harness's `call` throws on an answer the document does not describe). The last test
 * fails when a documented route was reached by none of them: a new route gets a line here.
 */
describe('the OpenAPI contract on a real node', () => {
  let t: TestNode;
  let contract: OpenApiContract;
  const expectStatus = async (status: number, r: Promise<{ status: number; body: any }>) => {
    const answer = await r;
    expect(answer.status, JSON.stringify(answer.body)).toBe(status);
    return answer.body;
  };
  const checkout = (key: string, body: Record<string, unknown>) => t.call('POST', '/api/checkout', { paymentMethod: 'pm_card_visa', address: testAddress, ...body }, { 'idempotency-key': key });

  beforeAll(async () => {
    t = await startTestNode();
    contract = await t.contract();
  });
  afterAll(async () => {
    await t.stop();
  });

  it('serves the document without credentials, as JSON naming OpenAPI 3.1', async () => {
    const r = await fetch(`${t.base}/openapi.json`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/json');
    expect(((await r.json()) as { openapi: string }).openapi).toBe('3.1.0');
    await expectStatus(200, t.call('GET', '/openapi.json'));
  });

  it('matches the probes and the router answers', async () => {
    await expectStatus(200, t.call('GET', '/healthz'));
    await expectStatus(200, t.call('GET', '/readyz'));
    await expectStatus(200, t.call('GET', '/metrics'));
    await expectStatus(404, t.call('GET', '/api/nothing-here'));
    await expectStatus(405, t.call('PUT', '/api/checkout', {}));
    await expectStatus(415, t.call('POST', '/api/cart/items', 'x', { 'content-type': 'text/plain' }));
    await expectStatus(400, t.call('POST', '/api/cart/items', '{not json'));
  });

  it('matches the catalog, stock and promotion routes', async () => {
    await expectStatus(401, t.call('PUT', '/api/products/OA-1', { name: 'Tee', priceMinor: 2_500, currency: 'USD', weightGrams: 300 }));
    await expectStatus(400, t.admin('PUT', '/api/products/OA-1', { name: 'Tee', priceMinor: -1, currency: 'USD', weightGrams: 300 }));
    await expectStatus(200, t.admin('PUT', '/api/products/OA-1', { name: 'Tee', priceMinor: 2_500, currency: 'USD', weightGrams: 300 }));
    await expectStatus(200, t.call('GET', '/api/products/OA-1'));
    await expectStatus(404, t.call('GET', '/api/products/OA-NONE'));
    await expectStatus(200, t.admin('PUT', '/api/inventory/OA-1', { onHand: 20 }));
    await expectStatus(200, t.call('GET', '/api/inventory/OA-1'));
    await expectStatus(200, t.admin('POST', '/api/admin/catalog', { items: [{ sku: 'OA-2', name: 'Cap', priceMinor: 1_000, currency: 'USD', weightGrams: 100, onHand: 1 }] }));
    await expectStatus(201, t.admin('POST', '/api/promotions', { code: 'OATEN', kind: 'percentage', percentBps: 1_000 }));
    await expectStatus(409, t.admin('POST', '/api/promotions', { code: 'OATEN', kind: 'percentage', percentBps: 1_000 }));
    const hold = await expectStatus(201, t.admin('POST', '/api/inventory/OA-1/holds', { qty: 1, ttlMs: 60_000 }));
    await expectStatus(409, t.admin('POST', '/api/inventory/OA-2/holds', { qty: 2 }));
    await expectStatus(200, t.admin('DELETE', `/api/inventory/OA-1/holds/${hold.holdId}`));
  });

  it('matches the cart routes', async () => {
    const cart = await expectStatus(201, t.call('POST', '/api/cart/items', { sku: 'OA-1', qty: 2 }));
    await expectStatus(200, t.call('POST', '/api/cart/items', { cartId: cart.cartId, sku: 'OA-1', qty: 1 }));
    await expectStatus(200, t.call('PATCH', '/api/cart/items', { cartId: cart.cartId, sku: 'OA-1', qty: 2 }));
    await expectStatus(200, t.call('POST', `/api/carts/${cart.cartId}/promo`, { code: 'OATEN' }));
    await expectStatus(404, t.call('POST', `/api/carts/${cart.cartId}/promo`, { code: 'NOPE' }));
    await expectStatus(200, t.call('GET', `/api/carts/${cart.cartId}`));
    await expectStatus(404, t.call('GET', '/api/carts/cart_none'));
    await expectStatus(201, checkout('oa-cart', { cartId: cart.cartId }));
    await expectStatus(409, t.call('POST', '/api/cart/items', { cartId: cart.cartId, sku: 'OA-1', qty: 1 }));
  });

  it('matches the checkout and order routes', async () => {
    await expectStatus(400, t.call('POST', '/api/checkout', { items: [{ sku: 'OA-1', qty: 1 }], paymentMethod: 'pm_card_visa', address: testAddress }));
    const first = await expectStatus(201, checkout('oa-1', { items: [{ sku: 'OA-1', qty: 1 }] }));
    await expectStatus(201, checkout('oa-1', { items: [{ sku: 'OA-1', qty: 1 }] }));
    await expectStatus(422, checkout('oa-1', { items: [{ sku: 'OA-1', qty: 2 }] }));
    await expectStatus(402, checkout('oa-declined', { items: [{ sku: 'OA-1', qty: 1 }], paymentMethod: 'pm_card_chargeDeclined' }));
    await expectStatus(202, checkout('oa-3ds', { items: [{ sku: 'OA-1', qty: 1 }], paymentMethod: 'pm_card_authenticationRequired' }));
    await expectStatus(409, checkout('oa-sold-out', { items: [{ sku: 'OA-2', qty: 5 }] }));
    const second = await expectStatus(201, checkout('oa-2', { items: [{ sku: 'OA-1', qty: 1 }] }));
    await expectStatus(200, t.call('GET', `/api/orders/${first.orderId}`));
    await expectStatus(404, t.call('GET', '/api/orders/ord_none'));
    await expectStatus(409, t.admin('POST', `/api/orders/${first.orderId}/refund`, { amountMinor: 100 }));
    await expectStatus(200, t.admin('POST', `/api/orders/${first.orderId}/ship`));
    await expectStatus(200, t.admin('POST', `/api/orders/${first.orderId}/refund`, { amountMinor: 100 }));
    await expectStatus(200, t.admin('POST', `/api/orders/${second.orderId}/cancel`));
  });

  it('matches the webhook and cluster routes of a node running alone', async () => {
    await expectStatus(400, t.call('POST', '/api/webhooks/stripe', { id: 'evt_1', type: 'payment_intent.succeeded' }, { 'stripe-signature': 't=1,v1=00' }));
    const cluster = await expectStatus(200, t.admin('GET', '/api/admin/cluster'));
    expect(cluster.mode).toBe('single');
    await expectStatus(200, t.admin('GET', '/api/admin/partitions'));
    await expectStatus(400, t.admin('GET', '/api/admin/partitions?node=no%20such'));
    await expectStatus(409, t.admin('POST', '/api/admin/partitions/1/move', { to: 'node-b' }));
    await expectStatus(409, t.admin('POST', '/api/admin/nodes/node-b/drain'));
    await expectStatus(409, t.admin('POST', '/api/admin/nodes/node-b/undrain'));
    await expectStatus(409, t.admin('POST', '/api/admin/rebalance'));
    await expectStatus(409, t.admin('POST', '/api/admin/isolate', { sku: 'OA-1' }));
  });

  it('matches the outgoing webhook routes', async () => {
    await expectStatus(400, t.admin('POST', '/api/admin/webhooks', { url: 'ftp://example.com/hook', events: ['order.confirmed'] }));
    const hook = await expectStatus(201, t.admin('POST', '/api/admin/webhooks', { url: 'http://127.0.0.1:9/hook', events: ['order.confirmed', 'order.shipped'] }));
    await expectStatus(200, t.admin('GET', '/api/admin/webhooks'));
    await expectStatus(200, t.admin('GET', `/api/admin/webhooks/${hook.id}`));
    await expectStatus(200, t.admin('DELETE', `/api/admin/webhooks/${hook.id}`));
    await expectStatus(404, t.admin('DELETE', `/api/admin/webhooks/${hook.id}`));
  });

  it('matches the drop routes', async () => {
    await expectStatus(200, t.admin('PUT', '/api/products/OA-DROP', { name: 'Drop', priceMinor: 9_000, currency: 'USD', weightGrams: 300 }));
    await expectStatus(200, t.admin('PUT', '/api/inventory/OA-DROP', { onHand: 5 }));
    await expectStatus(404, t.call('GET', '/api/drops/OA-DROP'));
    await expectStatus(400, t.admin('PUT', '/api/drops/OA-DROP', { startsAt: 'soon', perCustomerLimit: 1, admissionTtlMs: 10_000 }));
    await expectStatus(200, t.admin('PUT', '/api/drops/OA-DROP', { startsAt: new Date(Date.now() + 3_600_000).toISOString(), perCustomerLimit: 1, admissionTtlMs: 10_000 }));
    await expectStatus(200, t.call('GET', '/api/drops/OA-DROP'));
    const joined = await expectStatus(202, t.call('POST', '/api/drops/OA-DROP/queue', { customerId: 'cust-1' }));
    await expectStatus(200, t.call('GET', `/api/drops/OA-DROP/queue/${joined.ticket}`));
    await expectStatus(404, t.call('GET', '/api/drops/OA-DROP/queue/tk_none'));
    await expectStatus(403, checkout('oa-drop-1', { items: [{ sku: 'OA-DROP', qty: 1 }] }));
  });

  it('matches the dashboard routes', async () => {
    for (const path of ['/dashboard', '/dashboard/app.js', '/dashboard/app.css']) await expectStatus(200, t.call('GET', path));
    await expectStatus(401, t.call('GET', '/api/admin/dashboard'));
    await expectStatus(200, t.admin('GET', '/api/admin/dashboard'));
    await expectStatus(401, t.call('GET', '/api/admin/dashboard/stream'));
    // An endless stream: its head and first event are checked against the document, then the client goes away.
    const abort = new AbortController();
    const r = await fetch(`${t.base}/api/admin/dashboard/stream`, { headers: { authorization: `Bearer ${testAdminToken}` }, signal: abort.signal });
    const first = await r.body!.getReader().read();
    abort.abort();
    const problems = contract.problems({ method: 'GET', path: '/api/admin/dashboard/stream', status: r.status, contentType: r.headers.get('content-type'), body: new TextDecoder().decode(first.value), headers: r.headers });
    expect(problems).toEqual([]);
  });

  it('reached every documented route', () => {
    const reached = new Set([...contract.seen].map((s) => s.slice(0, s.lastIndexOf(' '))));
    expect(contract.operationKeys().filter((k) => !reached.has(k))).toEqual([]);
  });
});
