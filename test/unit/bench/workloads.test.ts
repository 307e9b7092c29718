import { describe, expect, it } from 'vitest';
import { catalogSku, createSequence, samplerFor, type WorkloadSpec } from '../../../bench/lib/workloads.js';

const ctx = (connectionIndex = 0) => ({ connectionIndex, runTag: 'run1' });

describe('buy-now sequence', () => {
  it('sends checkouts of the SKU with a fresh Idempotency-Key every time', () => {
    const seq = createSequence({ kind: 'buy-now', sku: 'FLASH-1', qty: 1 }, ctx(3));
    const keys = new Set<string>();
    for (let i = 0; i < 100; i++) {
      const r = seq.next();
      expect(r).toMatchObject({ op: 'checkout', method: 'POST', path: '/api/checkout' });
      keys.add(r.headers['idempotency-key']!);
      seq.onResponse(409, '{}');
    }
    expect(keys.size).toBe(100);
    expect([...keys][0]).toBe('run1-3-0');
    const body = JSON.parse(seq.next().body!);
    expect(body).toEqual({ items: [{ sku: 'FLASH-1', qty: 1 }], paymentMethod: 'pm_card_visa', address: { name: 'Bench Buyer', line1: '1 Main St', city: 'New York', postalCode: '10001', country: 'US', region: 'NY' } });
  });

  it('gives different connections different keys', () => {
    const a = createSequence({ kind: 'buy-now', sku: 'X', qty: 1 }, ctx(0)).next().headers['idempotency-key'];
    const b = createSequence({ kind: 'buy-now', sku: 'X', qty: 1 }, ctx(1)).next().headers['idempotency-key'];
    expect(a).not.toBe(b);
  });
});

describe('holds sequence', () => {
  const spec: WorkloadSpec = { kind: 'holds', sku: 'HOLD-1', qty: 1, adminToken: 'tok' };

  it('alternates a hold and the release of exactly that hold, with the admin token', () => {
    const seq = createSequence(spec, ctx());
    const hold = seq.next();
    expect(hold).toMatchObject({ op: 'hold', method: 'POST', path: '/api/inventory/HOLD-1/holds', body: '{"qty":1}' });
    expect(hold.headers['authorization']).toBe('Bearer tok');
    seq.onResponse(201, JSON.stringify({ holdId: 'hold_abc', qty: 1 }));
    expect(seq.answeredOp).toBe('hold');
    const release = seq.next();
    expect(release).toMatchObject({ op: 'release', method: 'DELETE', path: '/api/inventory/HOLD-1/holds/hold_abc' });
    seq.onResponse(200, '{"released":true}');
    expect(seq.answeredOp).toBe('release');
    expect(seq.next().op).toBe('hold');
  });

  it('tries a new hold after a refused one, and after a request that never got an answer', () => {
    const seq = createSequence(spec, ctx());
    seq.next();
    seq.onResponse(409, '{"error":{"code":"OUT_OF_STOCK"}}');
    expect(seq.next().op).toBe('hold');
    seq.onResponse(201, '{"holdId":"h1"}');
    seq.next(); // the release times out: no onResponse
    expect(seq.next().op).toBe('hold');
  });
});

describe('cart-checkout sequence', () => {
  const spec: WorkloadSpec = { kind: 'cart-checkout', skuCount: 1_000, zipfExponent: 1, cartItemsMin: 1, cartItemsMax: 5, seed: 5 };

  it('fills a cart of 1–5 catalog SKUs (the first add creates it) and checks it out by cartId', () => {
    const seq = createSequence(spec, { ...ctx(), zipf: samplerFor(spec) });
    const cartSizes: number[] = [];
    for (let cart = 0; cart < 50; cart++) {
      const first = seq.next();
      expect(first).toMatchObject({ op: 'cart-add', method: 'POST', path: '/api/cart/items' });
      expect(JSON.parse(first.body!)).toEqual({ sku: expect.stringMatching(/^CAT-\d{7}$/), qty: 1 });
      seq.onResponse(201, JSON.stringify({ cartId: `cart_${cart}` }));
      let adds = 1;
      let r = seq.next();
      while (r.op === 'cart-add') {
        expect(JSON.parse(r.body!)).toMatchObject({ cartId: `cart_${cart}`, qty: 1 });
        seq.onResponse(200, JSON.stringify({ cartId: `cart_${cart}` }));
        adds += 1;
        r = seq.next();
      }
      expect(r).toMatchObject({ op: 'checkout', path: '/api/checkout' });
      expect(JSON.parse(r.body!)).toMatchObject({ cartId: `cart_${cart}`, paymentMethod: 'pm_card_visa' });
      expect(r.headers['idempotency-key']).toBe(`run1-0-${cart}`);
      seq.onResponse(201, '{"orderId":"ord_1"}');
      cartSizes.push(adds);
    }
    expect(Math.min(...cartSizes)).toBe(1);
    expect(Math.max(...cartSizes)).toBe(5);
  });

  it('abandons the cart when an add is refused or unanswered', () => {
    const seq = createSequence(spec, { ...ctx(), zipf: samplerFor(spec) });
    seq.next();
    seq.onResponse(404, '{"error":{"code":"PRODUCT_NOT_FOUND"}}');
    expect(JSON.parse(seq.next().body!)).not.toHaveProperty('cartId');
    seq.onResponse(201, '{"cartId":"c1"}');
    // Whatever comes next times out; the sequence starts a new cart rather than reuse c1 half-known.
    seq.next();
    expect(JSON.parse(seq.next().body!)).not.toHaveProperty('cartId');
  });

  it('names catalog SKUs by rank, 1-based and zero-padded', () => {
    expect(catalogSku(1)).toBe('CAT-0000001');
    expect(catalogSku(100_000)).toBe('CAT-0100000');
  });

  it('refuses to build without the worker-wide Zipf sampler', () => {
    expect(() => createSequence(spec, ctx())).toThrow(/Zipf/);
  });
});
