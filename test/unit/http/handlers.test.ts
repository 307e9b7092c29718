import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { CheckoutReply } from '../../../src/actors/checkout-actor.js';
import type { CheckoutRequest } from '../../../src/domain/checkout.js';
import { limits } from '../../../src/config/limits.js';
import { fail } from '../../../src/errors.js';
import { markPlacementAnswer, type HttpRequest, type HttpResponse } from '../../../src/http/request.js';
import { errorResponse } from '../../../src/http/error-response.js';
import { Router } from '../../../src/http/router.js';
import { buildRouter, readinessGate } from '../../../src/http/routes/index.js';
import type { NodeServices } from '../../../src/http/services.js';

/**
 * Route handlers are plain functions of request data (STYLE.md habit 10): these tests call them through the router
 * with request literals and hand-made services, no socket and no database. They reach what a socket test cannot
 * reach on demand: a node that is not ready, a node at its in-flight limit, an actor whose mailbox is full.
 */
const adminToken = 'unit-admin-token-0123456789';

function services(overrides: Partial<NodeServices> = {}): NodeServices {
  const unused = () => {
    throw new Error('not used by this test');
  };
  return {
    adminToken,
    nowMs: () => Date.UTC(2030, 0, 1),
    ready: () => true,
    catalog: { product: () => undefined, promotion: async () => undefined },
    inventory: { view: () => undefined, setOnHand: unused },
    checkout: { inFlight: () => 0, inFlightMax: limits.checkoutsInFlightMax, submit: unused },
    metrics: async () => ({ contentType: 'text/plain', body: '' }),
    placement: () => null,
    ...overrides,
  } as unknown as NodeServices;
}

function request(method: string, path: string, opts: { headers?: Record<string, string>; body?: unknown } = {}): HttpRequest {
  return { method, path, params: {}, query: new URLSearchParams(), headers: opts.headers ?? {}, body: opts.body, rawBodyBytes: 0, remoteAddress: '127.0.0.1' };
}

/** What the server does after its protocol checks: the readiness gate, then the matched handler. */
async function dispatch(s: NodeServices, req: HttpRequest): Promise<HttpResponse> {
  const early = readinessGate(s)(req);
  if (early) return early;
  const match = buildRouter(s).match(req.method, req.path);
  if (!('handler' in match)) throw new Error(`no route for ${req.method} ${req.path}`);
  return match.handler({ ...req, params: match.params });
}

const address = { name: 'Ada Lovelace', line1: '1 Main St', city: 'New York', postalCode: '10001', country: 'US', region: 'NY' };
const order = { items: [{ sku: 'SKU-1', qty: 1 }], paymentMethod: 'pm_card_visa', address };
const errorCode = (r: HttpResponse) => (r.body as { error: { code: string } }).error.code;

afterEach(() => {
  vi.restoreAllMocks();
});

describe('readiness', () => {
  it.each(['/api/checkout', '/api/cart/items', '/api/products/SKU-1'])('answers %s with 503 NOT_READY and Retry-After until recovery finished', async (path) => {
    const r = await dispatch(services({ ready: () => false }), request('POST', path, { body: {} }));
    expect(r.status).toBe(503);
    expect(errorCode(r)).toBe('NOT_READY');
    expect(r.headers?.['retry-after']).toBe('1');
  });

  it('still answers /healthz and /metrics while recovering, and /readyz says not ready', async () => {
    const s = services({ ready: () => false });
    expect((await dispatch(s, request('GET', '/healthz'))).status).toBe(200);
    expect((await dispatch(s, request('GET', '/metrics'))).status).toBe(200);
    const ready = await dispatch(s, request('GET', '/readyz'));
    expect(ready.status).toBe(503);
    expect(errorCode(ready)).toBe('NOT_READY');
  });
});

describe('POST /api/checkout without a socket', () => {
  it('answers 429 OVERLOADED with Retry-After at the in-flight limit, before running anything', async () => {
    const submit = vi.fn();
    const s = services({ checkout: { inFlight: () => limits.checkoutsInFlightMax, inFlightMax: limits.checkoutsInFlightMax, submit } });
    const r = await dispatch(s, request('POST', '/api/checkout', { headers: { 'idempotency-key': 'k1' }, body: order }));
    expect(r.status).toBe(429);
    expect(errorCode(r)).toBe('OVERLOADED');
    expect(r.headers?.['retry-after']).toBe('1');
    expect(submit).not.toHaveBeenCalled();
  });

  it('hands the saga the validated request and the same fingerprint for the same body in another key order', async () => {
    const seen: { fingerprint: string; request: CheckoutRequest }[] = [];
    const submit = async (_key: string, fingerprint: string, req: CheckoutRequest): Promise<CheckoutReply> => {
      seen.push({ fingerprint, request: req });
      return { result: { t: 'recorded', response: { statusCode: 201, body: { orderId: 'ord_1', status: 'confirmed' } } }, replayed: seen.length > 1 };
    };
    const s = services({ checkout: { inFlight: () => 0, inFlightMax: limits.checkoutsInFlightMax, submit } });
    const reordered = { address: { ...address }, paymentMethod: 'pm_card_visa', items: [{ qty: 1, sku: 'SKU-1' }] };
    const first = await dispatch(s, request('POST', '/api/checkout', { headers: { 'idempotency-key': 'k2' }, body: order }));
    const second = await dispatch(s, request('POST', '/api/checkout', { headers: { 'idempotency-key': 'k2' }, body: reordered }));
    expect(seen[0]!.fingerprint).toBe(seen[1]!.fingerprint);
    expect(seen[0]!.request).toMatchObject({ cartId: null, items: [{ sku: 'SKU-1', qty: 1 }], shippingMethod: 'standard', customerId: null, promoCode: null });
    expect(first.headers).toEqual({ 'idempotency-key': 'k2' });
    expect(second.headers).toEqual({ 'idempotency-key': 'k2', 'idempotent-replayed': 'true' });
  });

  it.each([
    ['no key', {}, 'IDEMPOTENCY_KEY_MISSING'],
    ['a key of 256 characters', { 'idempotency-key': 'k'.repeat(256) }, 'IDEMPOTENCY_KEY_INVALID'],
    ['a key with a non-ASCII character', { 'idempotency-key': 'clé' }, 'IDEMPOTENCY_KEY_INVALID'],
  ])('refuses %s with 400 before reading the body', async (_label, headers, code) => {
    const r = await dispatch(services(), request('POST', '/api/checkout', { headers, body: 'not even an object' }));
    expect(r.status).toBe(400);
    expect(errorCode(r)).toBe(code);
  });
});

describe('PUT /api/inventory/:sku without a socket', () => {
  it('answers 429 OVERLOADED with Retry-After when the SKU actor refuses for a full mailbox', async () => {
    const s = services({
      catalog: { product: () => ({ sku: 'SKU-1' }) } as unknown as NodeServices['catalog'],
      inventory: { view: () => undefined, setOnHand: async () => fail('OVERLOADED', { retryAfterS: 1 }), ask: async () => fail('OVERLOADED', { retryAfterS: 1 }), holdTtlMs: 60_000 },
    });
    const r = await dispatch(s, request('PUT', '/api/inventory/SKU-1', { headers: { authorization: `Bearer ${adminToken}` }, body: { onHand: 5 } }));
    expect(r.status).toBe(429);
    expect(errorCode(r)).toBe('OVERLOADED');
    expect(r.headers?.['retry-after']).toBe('1');
  });
});

describe('the route table', () => {
  it('serves exactly the routes docs/API.md lists', () => {
    const added: string[] = [];
    const add = Router.prototype.add;
    vi.spyOn(Router.prototype, 'add').mockImplementation(function (this: Router, method, pattern, handler, opts) {
      added.push(`${method} ${pattern}`);
      return add.call(this, method, pattern, handler, opts);
    });
    buildRouter(services());
    const doc = readFileSync(join(__dirname, '..', '..', '..', 'docs', 'API.md'), 'utf8');
    const documented = [...doc.matchAll(/^\| (GET|PUT|POST|PATCH|DELETE) \| `(\/[^`]*)` \|/gm)].map((m) => `${m[1]} ${m[2]}`);
    expect(documented.sort()).toEqual(added.sort());
    for (const route of documented) expect(doc, `a section for ${route}`).toContain(`### \`${route}\``);
  });
});

describe('POST /api/checkout answered by placement (a cluster)', () => {
  const checkoutWith = (answered: (r: HttpResponse) => void) => ({ inFlight: () => 0, inFlightMax: limits.checkoutsInFlightMax, submit: vi.fn(), answered });

  it('counts on the entry node an answer placement made here (the owner unreachable or moving), once', async () => {
    const answered = vi.fn();
    const made = markPlacementAnswer(errorResponse('PARTITION_UNAVAILABLE', { partition: 3, reason: 'moving' }, { 'retry-after': '1' }));
    const s = services({ checkout: checkoutWith(answered), placement: () => Promise.resolve(made) });
    const r = await dispatch(s, request('POST', '/api/checkout', { headers: { 'idempotency-key': 'k1' }, body: order }));
    expect(r.status).toBe(503);
    expect(answered).toHaveBeenCalledTimes(1);
    expect(answered.mock.calls[0]![0]).toMatchObject({ status: 503 });
  });

  it('leaves an answer relayed from the owner to the owner to count', async () => {
    const answered = vi.fn();
    const s = services({ checkout: checkoutWith(answered), placement: () => Promise.resolve({ status: 201, body: { status: 'confirmed' } }) });
    const r = await dispatch(s, request('POST', '/api/checkout', { headers: { 'idempotency-key': 'k1' }, body: order }));
    expect(r.status).toBe(201);
    expect(answered).not.toHaveBeenCalled();
  });
});
