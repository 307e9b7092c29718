import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { limits } from '../../../src/config/limits.js';
import { startTestNode, stock, testAddress, testAdminToken, type TestNode } from '../../support/node-harness.js';

/**
 * DESIGN.md invariant 7 over a real socket: every malformed or out-of-range request gets a 4xx with a stable code,
 * never a 5xx, never a stack trace, and changes nothing — the stock, the cart and the product read the same after.
 */
describe('bad input', () => {
  let t: TestNode;
  let cartId: string;
  beforeAll(async () => {
    t = await startTestNode();
    await stock(t, 'BAD-A', 20);
    await stock(t, 'BAD-B', 20);
    const cart = await t.call('POST', '/api/cart/items', { sku: 'BAD-A', qty: 2 });
    cartId = cart.body.cartId;
  });
  afterAll(async () => {
    await t.stop();
  });

  /** Everything a bad request could have touched. */
  async function state() {
    const [a, b, cart, product] = await Promise.all([
      t.call('GET', '/api/inventory/BAD-A'),
      t.call('GET', '/api/inventory/BAD-B'),
      t.call('GET', `/api/carts/${cartId}`),
      t.call('GET', '/api/products/BAD-A'),
    ]);
    return { a: a.body, b: b.body, cart: cart.body, product: product.body };
  }

  function expectCleanError(r: { status: number; body: any }, status: number, code: string): void {
    expect(r.status).toBe(status);
    expect(r.body?.error?.code).toBe(code);
    expect(typeof r.body.error.message).toBe('string');
    const text = JSON.stringify(r.body);
    expect(text).not.toMatch(/\n\s+at |node_modules|\.[jt]s:\d+|ZodError|SyntaxError/);
  }

  describe('the protocol', () => {
    it.each([
      ['an unknown path', 'GET', '/api/nothing-here'],
      ['a path with a trailing slash', 'GET', '/healthz/'],
      ['a route with an extra segment', 'GET', '/api/products/BAD-A/extra'],
      ['a route missing its parameter', 'GET', '/api/carts/'],
      ['malformed percent-encoding in a parameter', 'GET', '/api/orders/%E0%A4%A'],
    ])('answers 404 ROUTE_NOT_FOUND for %s', async (_label, method, path) => {
      expectCleanError(await t.call(method, path), 404, 'ROUTE_NOT_FOUND');
    });

    it.each([
      ['DELETE', '/api/products/BAD-A', 'GET, PUT'],
      ['GET', '/api/checkout', 'POST'],
      ['PUT', '/api/cart/items', 'PATCH, POST'],
      ['POST', '/healthz', 'GET'],
    ])('answers 405 METHOD_NOT_ALLOWED to %s %s with Allow: %s', async (method, path, allow) => {
      const before = await state();
      const r = await t.call(method, path, method === 'GET' ? undefined : {});
      expectCleanError(r, 405, 'METHOD_NOT_ALLOWED');
      expect(r.headers.get('allow')).toBe(allow);
      expect(await state()).toEqual(before);
    });

    it.each([
      ['text/plain', 'text/plain'],
      ['a form', 'application/x-www-form-urlencoded'],
      ['JSON-looking but another type', 'application/jsonp'],
    ])('answers 415 UNSUPPORTED_MEDIA_TYPE to a body sent as %s', async (_label, contentType) => {
      const before = await state();
      const r = await t.call('POST', '/api/cart/items', { cartId, sku: 'BAD-A', qty: 1 }, { 'content-type': contentType });
      expectCleanError(r, 415, 'UNSUPPORTED_MEDIA_TYPE');
      expect(await state()).toEqual(before);
    });

    it('accepts application/json with a charset parameter', async () => {
      const r = await t.call('GET', `/api/carts/${cartId}`);
      const patch = await t.call('PATCH', '/api/cart/items', { cartId, sku: 'BAD-A', qty: 2 }, { 'content-type': 'Application/JSON; charset=utf-8' });
      expect(patch.status).toBe(200);
      expect(patch.body.lines).toEqual(r.body.lines);
    });

    it('answers 413 BODY_TOO_LARGE to a declared body over the limit', async () => {
      const before = await state();
      const body = JSON.stringify({ cartId, sku: 'BAD-A', qty: 1, pad: 'x'.repeat(limits.bodyBytesMax) });
      expectCleanError(await t.call('POST', '/api/cart/items', body), 413, 'BODY_TOO_LARGE');
      expect(await state()).toEqual(before);
    });

    it('answers 413 BODY_TOO_LARGE to a chunked body that grows over the limit', async () => {
      const before = await state();
      const r = await chunkedPost(t.base + '/api/cart/items', 'x'.repeat(limits.bodyBytesMax + 1_024));
      expectCleanError(r, 413, 'BODY_TOO_LARGE');
      expect(await state()).toEqual(before);
    });

    it.each([
      ['a truncated object', '{"sku": "BAD-A", "qty": '],
      ['trailing garbage', '{"sku": "BAD-A", "qty": 1} x'],
      ['single quotes', "{'sku': 'BAD-A', 'qty': 1}"],
      ['a bare word', 'undefined'],
    ])('answers 400 MALFORMED_JSON to %s', async (_label, raw) => {
      const before = await state();
      expectCleanError(await t.call('POST', '/api/cart/items', raw), 400, 'MALFORMED_JSON');
      expect(await state()).toEqual(before);
    });
  });

  const admin = { authorization: `Bearer ${testAdminToken}` };
  const cartItem = (o: Record<string, unknown>) => ({ cartId: 'CART', sku: 'BAD-A', qty: 1, ...o });
  const order = (o: Record<string, unknown>) => ({ items: [{ sku: 'BAD-A', qty: 1 }], paymentMethod: 'pm_card_visa', address: testAddress, ...o });
  const address = (o: Record<string, unknown>) => order({ address: { ...testAddress, ...o } });
  const product = (o: Record<string, unknown>) => ({ name: 'Bad', priceMinor: 100, currency: 'USD', weightGrams: 1, ...o });
  const manyLines = Array.from({ length: limits.cartLinesMax + 1 }, (_, i) => ({ sku: `BAD-${i}`, qty: 1 }));

  // [label, method, path, body, status, code, headers]; 'CART' in a body or path is replaced by the test cart's id.
  type Row = [string, string, string, unknown, number, string, Record<string, string>?];
  const rows: Row[] = [
    // POST /api/cart/items
    ['qty as a string', 'POST', '/api/cart/items', cartItem({ qty: '1' }), 400, 'VALIDATION_FAILED'],
    ['qty zero', 'POST', '/api/cart/items', cartItem({ qty: 0 }), 400, 'VALIDATION_FAILED'],
    ['qty negative', 'POST', '/api/cart/items', cartItem({ qty: -1 }), 400, 'VALIDATION_FAILED'],
    ['qty fractional', 'POST', '/api/cart/items', cartItem({ qty: 1.5 }), 400, 'VALIDATION_FAILED'],
    ['qty null', 'POST', '/api/cart/items', cartItem({ qty: null }), 400, 'VALIDATION_FAILED'],
    ['qty beyond safe integers', 'POST', '/api/cart/items', cartItem({ qty: 1e300 }), 400, 'VALIDATION_FAILED'],
    ['qty huge but whole', 'POST', '/api/cart/items', cartItem({ qty: Number.MAX_SAFE_INTEGER }), 422, 'QUANTITY_LIMIT_EXCEEDED'],
    ['qty one over the line limit', 'POST', '/api/cart/items', cartItem({ qty: limits.lineQtyMax + 1 }), 422, 'QUANTITY_LIMIT_EXCEEDED'],
    ['sku as a number', 'POST', '/api/cart/items', cartItem({ sku: 42 }), 400, 'VALIDATION_FAILED'],
    ['sku over the length limit', 'POST', '/api/cart/items', cartItem({ sku: 'S'.repeat(limits.skuLengthMax + 1) }), 400, 'VALIDATION_FAILED'],
    ['sku with a slash', 'POST', '/api/cart/items', cartItem({ sku: 'BAD/A' }), 400, 'VALIDATION_FAILED'],
    ['an unknown sku', 'POST', '/api/cart/items', cartItem({ sku: 'BAD-UNKNOWN' }), 404, 'PRODUCT_NOT_FOUND'],
    ['an unknown cart', 'POST', '/api/cart/items', cartItem({ cartId: 'cart_unknown' }), 404, 'CART_NOT_FOUND'],
    ['U+0000 in a cart id', 'POST', '/api/cart/items', cartItem({ cartId: 'cart\u0000x' }), 400, 'VALIDATION_FAILED'],
    ['a cart id over the id limit', 'POST', '/api/cart/items', cartItem({ cartId: 'c'.repeat(limits.idLengthMax + 1) }), 400, 'VALIDATION_FAILED'],
    ['an extra field', 'POST', '/api/cart/items', cartItem({ price: 1 }), 400, 'VALIDATION_FAILED'],
    ['a __proto__ field', 'POST', '/api/cart/items', '{"cartId":"CART","sku":"BAD-A","qty":1,"__proto__":{"qty":2}}', 400, 'VALIDATION_FAILED'],
    ['an array body', 'POST', '/api/cart/items', [cartItem({})], 400, 'VALIDATION_FAILED'],
    ['a JSON null body', 'POST', '/api/cart/items', 'null', 400, 'VALIDATION_FAILED'],
    ['no body', 'POST', '/api/cart/items', undefined, 400, 'VALIDATION_FAILED'],
    // PATCH /api/cart/items
    ['a negative quantity', 'PATCH', '/api/cart/items', cartItem({ qty: -1 }), 400, 'VALIDATION_FAILED'],
    ['a fractional quantity', 'PATCH', '/api/cart/items', cartItem({ qty: 0.5 }), 400, 'VALIDATION_FAILED'],
    ['no cart id', 'PATCH', '/api/cart/items', { sku: 'BAD-A', qty: 1 }, 400, 'VALIDATION_FAILED'],
    ['a quantity over the line limit', 'PATCH', '/api/cart/items', cartItem({ qty: limits.lineQtyMax + 1 }), 422, 'QUANTITY_LIMIT_EXCEEDED'],
    ['an unknown sku', 'PATCH', '/api/cart/items', cartItem({ sku: 'BAD-UNKNOWN', qty: 0 }), 404, 'PRODUCT_NOT_FOUND'],
    // POST /api/carts/:cartId/promo
    ['a lower-case code', 'POST', '/api/carts/CART/promo', { code: 'tenoff' }, 400, 'VALIDATION_FAILED'],
    ['a code over the length limit', 'POST', '/api/carts/CART/promo', { code: 'C'.repeat(limits.promoCodeLengthMax + 1) }, 400, 'VALIDATION_FAILED'],
    ['no code', 'POST', '/api/carts/CART/promo', {}, 400, 'VALIDATION_FAILED'],
    ['a cart id over the id limit', 'POST', `/api/carts/${'c'.repeat(limits.idLengthMax + 1)}/promo`, { code: 'X' }, 404, 'CART_NOT_FOUND'],
    // Path parameters that reach PostgreSQL: text it refuses (U+0000, a lone surrogate) is not found, never a 500.
    ['U+0000 in a cart id in the path', 'POST', '/api/carts/a%00b/promo', { code: 'X' }, 404, 'CART_NOT_FOUND'],
    ['U+0000 in a cart id to read', 'GET', '/api/carts/a%00b', undefined, 404, 'CART_NOT_FOUND'],
    ['a lone surrogate in a cart id to read', 'GET', '/api/carts/%ED%A0%80', undefined, 404, 'ROUTE_NOT_FOUND'],
    ['an escape sequence in a cart id to read', 'GET', '/api/carts/%1B%5B31m', undefined, 404, 'CART_NOT_FOUND'],
    ['a right-to-left override in a cart id to read', 'GET', '/api/carts/cart%E2%80%AEx', undefined, 404, 'CART_NOT_FOUND'],
    ['U+0000 in an order id to read', 'GET', '/api/orders/ord%00x', undefined, 404, 'ORDER_NOT_FOUND'],
    ['a zero-width space in an order id to read', 'GET', '/api/orders/ord%E2%80%8Bx', undefined, 404, 'ORDER_NOT_FOUND'],
    ['U+0000 in an order id to refund', 'POST', '/api/orders/ord%00x/refund', {}, 404, 'ORDER_NOT_FOUND', admin],
    // POST /api/checkout
    ['both cartId and items', 'POST', '/api/checkout', order({ cartId: 'CART' }), 400, 'VALIDATION_FAILED'],
    ['neither cartId nor items', 'POST', '/api/checkout', { paymentMethod: 'pm_card_visa', address: testAddress }, 400, 'VALIDATION_FAILED'],
    ['no items', 'POST', '/api/checkout', order({ items: [] }), 400, 'VALIDATION_FAILED'],
    ['a zero quantity', 'POST', '/api/checkout', order({ items: [{ sku: 'BAD-A', qty: 0 }] }), 400, 'VALIDATION_FAILED'],
    ['a quantity as a string', 'POST', '/api/checkout', order({ items: [{ sku: 'BAD-A', qty: '1' }] }), 400, 'VALIDATION_FAILED'],
    ['a quantity over the line limit', 'POST', '/api/checkout', order({ items: [{ sku: 'BAD-A', qty: limits.lineQtyMax + 1 }] }), 422, 'QUANTITY_LIMIT_EXCEEDED'],
    ['one sku twice, over the line limit together', 'POST', '/api/checkout', order({ items: [{ sku: 'BAD-A', qty: 600 }, { sku: 'BAD-A', qty: 600 }] }), 422, 'QUANTITY_LIMIT_EXCEEDED'],
    ['lines over the lines limit', 'POST', '/api/checkout', order({ items: manyLines }), 422, 'CART_LINES_LIMIT_EXCEEDED'],
    ['an unknown sku', 'POST', '/api/checkout', order({ items: [{ sku: 'BAD-A', qty: 1 }, { sku: 'BAD-UNKNOWN', qty: 1 }] }), 404, 'PRODUCT_NOT_FOUND'],
    ['an unknown cart', 'POST', '/api/checkout', { cartId: 'cart_unknown', paymentMethod: 'pm_card_visa', address: testAddress }, 404, 'CART_NOT_FOUND'],
    ['no payment method', 'POST', '/api/checkout', order({ paymentMethod: undefined }), 400, 'VALIDATION_FAILED'],
    ['a payment method with spaces', 'POST', '/api/checkout', order({ paymentMethod: 'pm card visa' }), 400, 'VALIDATION_FAILED'],
    ['no address', 'POST', '/api/checkout', order({ address: undefined }), 400, 'VALIDATION_FAILED'],
    ['a lower-case country', 'POST', '/api/checkout', address({ country: 'us' }), 400, 'VALIDATION_FAILED'],
    ['a blank name', 'POST', '/api/checkout', address({ name: '   ' }), 400, 'VALIDATION_FAILED'],
    ['a name over the text limit', 'POST', '/api/checkout', address({ name: 'n'.repeat(limits.textLengthMax + 1) }), 400, 'VALIDATION_FAILED'],
    ['an extra address field', 'POST', '/api/checkout', address({ phone: '555' }), 400, 'VALIDATION_FAILED'],
    ['an unknown shipping method', 'POST', '/api/checkout', order({ shippingMethod: 'overnight' }), 400, 'VALIDATION_FAILED'],
    // Control characters and unpaired surrogates in free text (PostgreSQL would refuse them only at the order write).
    ['U+0000 in the address name', 'POST', '/api/checkout', address({ name: 'Ada\u0000Lovelace' }), 400, 'VALIDATION_FAILED'],
    ['a tab in an address line', 'POST', '/api/checkout', address({ line1: '1\tMain St' }), 400, 'VALIDATION_FAILED'],
    ['a C1 control in the city', 'POST', '/api/checkout', address({ city: 'New\u0085York' }), 400, 'VALIDATION_FAILED'],
    ['DEL in the postal code', 'POST', '/api/checkout', address({ postalCode: '100\u007f01' }), 400, 'VALIDATION_FAILED'],
    ['a lone high surrogate in the name', 'POST', '/api/checkout', address({ name: 'Ada \ud83d' }), 400, 'VALIDATION_FAILED'],
    ['a lone low surrogate in line2', 'POST', '/api/checkout', address({ line2: '\ude00 Apt 4' }), 400, 'VALIDATION_FAILED'],
    ['U+0000 in a cart id', 'POST', '/api/checkout', { cartId: 'cart\u0000x', paymentMethod: 'pm_card_visa', address: testAddress }, 400, 'VALIDATION_FAILED'],
    ['a customer id over its limit', 'POST', '/api/checkout', order({ customerId: 'c'.repeat(65) }), 400, 'VALIDATION_FAILED'],
    ['an extra field', 'POST', '/api/checkout', order({ amountMinor: 1 }), 400, 'VALIDATION_FAILED'],
    ['a key over the length limit', 'POST', '/api/checkout', order({}), 400, 'IDEMPOTENCY_KEY_INVALID', { 'idempotency-key': 'k'.repeat(limits.idempotencyKeyLengthMax + 1) }],
    ['a body as text/plain', 'POST', '/api/checkout', order({}), 415, 'UNSUPPORTED_MEDIA_TYPE', { 'content-type': 'text/plain' }],
    // Admin routes (authorized)
    ['a negative price', 'PUT', '/api/products/BAD-A', product({ priceMinor: -1 }), 400, 'VALIDATION_FAILED', admin],
    ['a fractional price', 'PUT', '/api/products/BAD-A', product({ priceMinor: 9.99 }), 400, 'VALIDATION_FAILED', admin],
    ['a price as a string', 'PUT', '/api/products/BAD-A', product({ priceMinor: '100' }), 400, 'VALIDATION_FAILED', admin],
    ['a price over the limit', 'PUT', '/api/products/BAD-A', product({ priceMinor: limits.priceMinorMax + 1 }), 400, 'VALIDATION_FAILED', admin],
    ['a lower-case currency', 'PUT', '/api/products/BAD-A', product({ currency: 'usd' }), 400, 'VALIDATION_FAILED', admin],
    ['an empty name', 'PUT', '/api/products/BAD-A', product({ name: '' }), 400, 'VALIDATION_FAILED', admin],
    ['a negative weight', 'PUT', '/api/products/BAD-A', product({ weightGrams: -1 }), 400, 'VALIDATION_FAILED', admin],
    ['an upper-case tax category', 'PUT', '/api/products/BAD-A', product({ taxCategory: 'Standard' }), 400, 'VALIDATION_FAILED', admin],
    ['an extra product field', 'PUT', '/api/products/BAD-A', product({ stock: 5 }), 400, 'VALIDATION_FAILED', admin],
    ['U+0000 in a product name', 'PUT', '/api/products/BAD-A', product({ name: 'Bad\u0000' }), 400, 'VALIDATION_FAILED', admin],
    ['a sku over the length limit in the path', 'PUT', `/api/products/${'S'.repeat(limits.skuLengthMax + 1)}`, product({}), 400, 'VALIDATION_FAILED', admin],
    ['a negative on-hand', 'PUT', '/api/inventory/BAD-A', { onHand: -1 }, 400, 'VALIDATION_FAILED', admin],
    ['a fractional on-hand', 'PUT', '/api/inventory/BAD-A', { onHand: 2.5 }, 400, 'VALIDATION_FAILED', admin],
    ['an on-hand as a string', 'PUT', '/api/inventory/BAD-A', { onHand: '5' }, 400, 'VALIDATION_FAILED', admin],
    ['an on-hand over the limit', 'PUT', '/api/inventory/BAD-A', { onHand: limits.onHandMax + 1 }, 400, 'VALIDATION_FAILED', admin],
    ['no on-hand', 'PUT', '/api/inventory/BAD-A', {}, 400, 'VALIDATION_FAILED', admin],
    ['an extra inventory field', 'PUT', '/api/inventory/BAD-A', { onHand: 5, held: 0 }, 400, 'VALIDATION_FAILED', admin],
    ['stock for a sku over the length limit', 'PUT', `/api/inventory/${'S'.repeat(limits.skuLengthMax + 1)}`, { onHand: 5 }, 400, 'VALIDATION_FAILED', admin],
  ];

  let rowSeq = 0;
  it.each(rows)('refuses %s on %s %s with a 4xx and a code, and changes nothing', async (_label, method, path, body, status, code, headers) => {
    const before = await state();
    const withCart = (s: string) => s.replaceAll('CART', cartId);
    const sentBody = typeof body === 'string' ? withCart(body) : body === undefined ? undefined : JSON.parse(withCart(JSON.stringify(body)));
    // Every checkout row gets its own key: a key remembers its body, and reuse would answer 422 instead.
    const key: Record<string, string> = path === '/api/checkout' ? { 'idempotency-key': `bad-input-${++rowSeq}` } : {};
    const r = await t.call(method, withCart(path), sentBody, { ...key, ...headers });
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect(r.status).toBeLessThan(500);
    expectCleanError(r, status, code);
    expect(await state()).toEqual(before);
  });
});

/** POSTs a body with Transfer-Encoding: chunked (no Content-Length), so only the streamed size can stop it. */
function chunkedPost(url: string, payload: string): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
    });
    // The server answers and closes as soon as the limit is crossed; later writes may fail, the answer still counts.
    req.on('error', (err) => (req.writableEnded ? undefined : reject(err)));
    for (let i = 0; i < payload.length; i += 8_192) req.write(payload.slice(i, i + 8_192));
    req.end();
  });
}
