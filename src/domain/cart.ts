import assert from 'node:assert/strict';
import { limits } from '../config/limits.js';
import { fail, type Failure } from '../errors.js';
import type { CartId, SkuId } from './ids.js';
import type { Product } from './product.js';

export interface CartLine {
  sku: SkuId;
  qty: number;
}

/**
 * A shopping cart. It holds one currency, fixed by its first line and released when it empties again.
 * Carts are immutable values: every change returns a new object, so an actor can keep the old state until the
 * change is persisted.
 */
export interface Cart {
  cartId: CartId;
  currency: string | null;
  lines: CartLine[];
  promoCode: string | null;
  status: 'open' | 'checked_out';
  createdAtMs: number;
  updatedAtMs: number;
  /** An idle cart expires; every successful change pushes this to nowMs + idleTtlMs. */
  expiresAtMs: number;
}

export type CartResult = { ok: true; cart: Cart } | Failure;

export function createCart(cartId: CartId, nowMs: number, idleTtlMs: number): Cart {
  assertTimes(nowMs, idleTtlMs);
  return {
    cartId,
    currency: null,
    lines: [],
    promoCode: null,
    status: 'open',
    createdAtMs: nowMs,
    updatedAtMs: nowMs,
    expiresAtMs: nowMs + idleTtlMs,
  };
}

/** A cart is expired from its expiry instant on. */
export function isCartExpired(cart: Cart, nowMs: number): boolean {
  return nowMs >= cart.expiresAtMs;
}

/**
 * Whether the cart may still change. The cart functions below do not check expiry themselves: whether an expired
 * cart is gone or revived is the owner's decision, so the owner calls this first.
 */
export function checkCartWritable(cart: Cart, nowMs: number): { ok: true } | Failure {
  if (cart.status === 'checked_out') return fail('CART_CHECKED_OUT');
  if (isCartExpired(cart, nowMs)) return fail('CART_EXPIRED', { expiresAtMs: cart.expiresAtMs });
  return { ok: true };
}

/** Adds qty units of the product: to its existing line, or as a new line at the end. */
export function addToCart(cart: Cart, product: Product, qty: number, nowMs: number, idleTtlMs: number): CartResult {
  assertQty(qty, 1);
  const existing = cart.lines.find((line) => line.sku === product.sku);
  return setLine(cart, product, (existing?.qty ?? 0) + qty, nowMs, idleTtlMs);
}

/** Sets the line's quantity outright; qty 0 removes the line, and an emptied cart forgets its currency. */
export function setCartLineQty(
  cart: Cart,
  product: Product,
  qty: number,
  nowMs: number,
  idleTtlMs: number,
): CartResult {
  assertQty(qty, 0);
  return setLine(cart, product, qty, nowMs, idleTtlMs);
}

/** Sets or clears the promo code. The code is only checked at pricing, because its validity changes with time. */
export function applyPromoCode(cart: Cart, code: string | null, nowMs: number, idleTtlMs: number): Cart {
  assert(cart.status === 'open', 'applyPromoCode on a checked-out cart; call checkCartWritable first');
  assertTimes(nowMs, idleTtlMs);
  return { ...cart, promoCode: code, updatedAtMs: nowMs, expiresAtMs: nowMs + idleTtlMs };
}

/** Marks the cart checked out; later changes get CART_CHECKED_OUT. */
export function markCartCheckedOut(cart: Cart, nowMs: number): Cart {
  assert(cart.status === 'open', 'cart is already checked out');
  return { ...cart, status: 'checked_out', updatedAtMs: nowMs };
}

function setLine(cart: Cart, product: Product, qty: number, nowMs: number, idleTtlMs: number): CartResult {
  assertTimes(nowMs, idleTtlMs);
  if (cart.status === 'checked_out') return fail('CART_CHECKED_OUT');
  const index = cart.lines.findIndex((line) => line.sku === product.sku);
  let lines: CartLine[];
  if (qty === 0) {
    // Removing is always allowed, whatever the product's currency, so no currency check on this branch.
    lines = cart.lines.filter((_, i) => i !== index);
  } else {
    if (cart.currency !== null && cart.currency !== product.currency) {
      return fail('CURRENCY_MISMATCH', { cartCurrency: cart.currency, productCurrency: product.currency });
    }
    if (qty > limits.lineQtyMax) return fail('QUANTITY_LIMIT_EXCEEDED', { sku: product.sku, max: limits.lineQtyMax });
    if (index === -1 && cart.lines.length >= limits.cartLinesMax) {
      return fail('CART_LINES_LIMIT_EXCEEDED', { max: limits.cartLinesMax });
    }
    const line = { sku: product.sku, qty };
    lines = index === -1 ? [...cart.lines, line] : cart.lines.map((l, i) => (i === index ? line : l));
  }
  const currency = lines.length === 0 ? null : (cart.currency ?? product.currency);
  return { ok: true, cart: { ...cart, lines, currency, updatedAtMs: nowMs, expiresAtMs: nowMs + idleTtlMs } };
}

// Quantity format is the HTTP layer's job (400 VALIDATION_FAILED); a bad qty here is a bug.
function assertQty(qty: number, min: number): void {
  assert(Number.isSafeInteger(qty) && qty >= min, `qty must be an integer >= ${min}, got ${qty}`);
}

function assertTimes(nowMs: number, idleTtlMs: number): void {
  assert(Number.isSafeInteger(nowMs) && nowMs >= 0, `nowMs must be a non-negative integer, got ${nowMs}`);
  assert(Number.isSafeInteger(idleTtlMs) && idleTtlMs > 0, `idleTtlMs must be a positive integer, got ${idleTtlMs}`);
}
