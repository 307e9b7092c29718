import { describe, expect, it } from 'vitest';
import { limits } from '../../../src/config/limits.js';
import {
  addToCart,
  applyPromoCode,
  checkCartWritable,
  createCart,
  isCartExpired,
  markCartCheckedOut,
  setCartLineQty,
  type Cart,
} from '../../../src/domain/cart.js';
import { asCartId, asSku } from '../../../src/domain/ids.js';
import type { Product } from '../../../src/domain/product.js';

const ttlMs = 60_000;
const t0 = 1_700_000_000_000;

function product(sku: string, currency = 'USD'): Product {
  return { sku: asSku(sku), name: `Product ${sku}`, priceMinor: 1_000, currency, weightGrams: 100, taxCategory: 'standard' };
}

function mustCart(result: ReturnType<typeof addToCart>): Cart {
  if (!result.ok) throw new Error(`expected ok, got ${result.code}`);
  return result.cart;
}

const empty = (): Cart => createCart(asCartId('cart-1'), t0, ttlMs);
const withLines = (n: number, qty = 1): Cart => {
  let cart = empty();
  for (let i = 0; i < n; i++) cart = mustCart(addToCart(cart, product(`SKU-${i}`), qty, t0, ttlMs));
  return cart;
};

describe('createCart', () => {
  it('creates an open, empty cart with no currency that expires one idle TTL from now', () => {
    expect(empty()).toEqual({
      cartId: 'cart-1', currency: null, lines: [], promoCode: null, status: 'open',
      createdAtMs: t0, updatedAtMs: t0, expiresAtMs: t0 + ttlMs,
    });
  });
});

describe('addToCart', () => {
  it('appends a new line and takes the product currency', () => {
    const cart = mustCart(addToCart(empty(), product('A', 'EUR'), 2, t0 + 5, ttlMs));
    expect(cart.lines).toEqual([{ sku: 'A', qty: 2 }]);
    expect(cart.currency).toBe('EUR');
    expect(cart.updatedAtMs).toBe(t0 + 5);
    expect(cart.expiresAtMs).toBe(t0 + 5 + ttlMs);
    expect(cart.createdAtMs).toBe(t0);
  });

  it('adds to the existing line instead of appending a second one', () => {
    const once = mustCart(addToCart(empty(), product('A'), 2, t0, ttlMs));
    const twice = mustCart(addToCart(once, product('B'), 1, t0, ttlMs));
    const thrice = mustCart(addToCart(twice, product('A'), 3, t0, ttlMs));
    expect(thrice.lines).toEqual([{ sku: 'A', qty: 5 }, { sku: 'B', qty: 1 }]);
  });

  it('leaves the cart it was given untouched', () => {
    const before = withLines(2);
    const snapshot = structuredClone(before);
    mustCart(addToCart(before, product('SKU-0'), 4, t0 + 1, ttlMs));
    mustCart(addToCart(before, product('NEW'), 1, t0 + 1, ttlMs));
    expect(before).toEqual(snapshot);
  });

  it('accepts a line at exactly lineQtyMax and the cartLinesMax-th line', () => {
    const full = withLines(limits.cartLinesMax);
    expect(full.lines).toHaveLength(limits.cartLinesMax);
    expect(addToCart(empty(), product('A'), limits.lineQtyMax, t0, ttlMs).ok).toBe(true);
  });

  it('still adds to an existing line of a full cart', () => {
    const cart = mustCart(addToCart(withLines(limits.cartLinesMax), product('SKU-7'), 2, t0, ttlMs));
    expect(cart.lines.find((l) => l.sku === 'SKU-7')?.qty).toBe(3);
  });

  const checkedOut = markCartCheckedOut(withLines(1), t0);
  it.each([
    ['a product in another currency', withLines(1), product('EUR-1', 'EUR'), 1,
      { code: 'CURRENCY_MISMATCH', details: { cartCurrency: 'USD', productCurrency: 'EUR' } }],
    ['a line past cartLinesMax', withLines(limits.cartLinesMax), product('ONE-MORE'), 1,
      { code: 'CART_LINES_LIMIT_EXCEEDED', details: { max: limits.cartLinesMax } }],
    ['a quantity past lineQtyMax', empty(), product('A'), limits.lineQtyMax + 1,
      { code: 'QUANTITY_LIMIT_EXCEEDED', details: { sku: 'A', max: limits.lineQtyMax } }],
    ['a quantity that takes an existing line past lineQtyMax', withLines(1, limits.lineQtyMax - 1), product('SKU-0'), 2,
      { code: 'QUANTITY_LIMIT_EXCEEDED', details: { sku: 'SKU-0', max: limits.lineQtyMax } }],
    ['anything on a checked-out cart', checkedOut, product('SKU-0'), 1, { code: 'CART_CHECKED_OUT' }],
  ])('rejects %s', (_name, cart, p, qty, expected) => {
    expect(addToCart(cart, p, qty, t0, ttlMs)).toEqual({ ok: false, ...expected });
  });

  it.each([0, -1, 1.5, Number.NaN])('asserts on quantity %d, which the HTTP layer should have refused', (qty) => {
    expect(() => addToCart(empty(), product('A'), qty, t0, ttlMs)).toThrow();
  });
});

describe('setCartLineQty', () => {
  it('sets the quantity outright', () => {
    const cart = mustCart(setCartLineQty(withLines(2, 5), product('SKU-1'), 2, t0 + 9, ttlMs));
    expect(cart.lines).toEqual([{ sku: 'SKU-0', qty: 5 }, { sku: 'SKU-1', qty: 2 }]);
    expect(cart.expiresAtMs).toBe(t0 + 9 + ttlMs);
  });

  it('appends a line for a product not yet in the cart', () => {
    const cart = mustCart(setCartLineQty(empty(), product('A', 'GBP'), 3, t0, ttlMs));
    expect(cart.lines).toEqual([{ sku: 'A', qty: 3 }]);
    expect(cart.currency).toBe('GBP');
  });

  it('removes the line at quantity 0 and keeps the currency while lines remain', () => {
    const cart = mustCart(setCartLineQty(withLines(2), product('SKU-0'), 0, t0, ttlMs));
    expect(cart.lines).toEqual([{ sku: 'SKU-1', qty: 1 }]);
    expect(cart.currency).toBe('USD');
  });

  it('resets the currency when the last line goes, so the next product may be in any currency', () => {
    const emptied = mustCart(setCartLineQty(withLines(1), product('SKU-0'), 0, t0, ttlMs));
    expect(emptied.lines).toEqual([]);
    expect(emptied.currency).toBeNull();
    expect(mustCart(addToCart(emptied, product('B', 'EUR'), 1, t0, ttlMs)).currency).toBe('EUR');
  });

  it('treats removing a line that is not there as a successful no-op that refreshes the expiry', () => {
    const cart = mustCart(setCartLineQty(withLines(1), product('GHOST', 'EUR'), 0, t0 + 100, ttlMs));
    expect(cart.lines).toEqual([{ sku: 'SKU-0', qty: 1 }]);
    expect(cart.expiresAtMs).toBe(t0 + 100 + ttlMs);
  });

  it.each([
    ['a quantity past lineQtyMax', withLines(1), product('SKU-0'), limits.lineQtyMax + 1, 'QUANTITY_LIMIT_EXCEEDED'],
    ['a new line in a full cart', withLines(limits.cartLinesMax), product('NEW'), 1, 'CART_LINES_LIMIT_EXCEEDED'],
    ['a product in another currency', withLines(1), product('E', 'EUR'), 1, 'CURRENCY_MISMATCH'],
    ['a removal on a checked-out cart', markCartCheckedOut(withLines(1), t0), product('SKU-0'), 0, 'CART_CHECKED_OUT'],
  ])('rejects %s', (_name, cart, p, qty, code) => {
    const result = setCartLineQty(cart, p, qty, t0, ttlMs);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.code).toBe(code);
  });

  it.each([-1, 2.5])('asserts on quantity %d', (qty) => {
    expect(() => setCartLineQty(empty(), product('A'), qty, t0, ttlMs)).toThrow();
  });
});

describe('applyPromoCode', () => {
  it('sets and clears the code and refreshes the expiry', () => {
    const withCode = applyPromoCode(withLines(1), 'SPRING10', t0 + 1, ttlMs);
    expect(withCode.promoCode).toBe('SPRING10');
    expect(withCode.expiresAtMs).toBe(t0 + 1 + ttlMs);
    expect(applyPromoCode(withCode, null, t0 + 2, ttlMs).promoCode).toBeNull();
  });

  it('asserts on a checked-out cart, which checkCartWritable should have caught', () => {
    expect(() => applyPromoCode(markCartCheckedOut(empty(), t0), 'X', t0, ttlMs)).toThrow();
  });
});

describe('expiry', () => {
  it('expires exactly one idle TTL after the last change', () => {
    const cart = mustCart(addToCart(empty(), product('A'), 1, t0 + 1_000, ttlMs));
    expect(isCartExpired(cart, t0 + 1_000 + ttlMs - 1)).toBe(false);
    expect(isCartExpired(cart, t0 + 1_000 + ttlMs)).toBe(true);
  });

  it('says an open, unexpired cart is writable', () => {
    expect(checkCartWritable(empty(), t0)).toEqual({ ok: true });
  });

  it.each([
    ['checked out', markCartCheckedOut(empty(), t0), t0, 'CART_CHECKED_OUT'],
    ['expired', empty(), t0 + ttlMs, 'CART_EXPIRED'],
  ])('says a %s cart is not writable', (_name, cart, nowMs, code) => {
    const result = checkCartWritable(cart, nowMs);
    expect(!result.ok && result.code).toBe(code);
  });
});
