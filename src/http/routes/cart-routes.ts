import { addToCart, setCartLineQty, type Cart } from '../../domain/cart.js';
import { priceCart, type PricedCart } from '../../domain/pricing.js';
import { checkPromotion, type Promotion } from '../../domain/promotions.js';
import type { Product } from '../../domain/product.js';
import { errorBody, errorStatus, type ErrorCode, type Failure } from '../../errors.js';
import type { Handler, HttpResponse } from '../request.js';
import { errorResponse } from '../error-response.js';
import type { NodeServices } from '../services.js';
import { addItemBody, parseBody, promoBody, quantityProblem, setItemBody, validId } from '../validation.js';
import type { RouteDoc } from '../openapi/route-doc.js';
import { cartView as cartSchema } from '../openapi/response-schemas.js';

const cartLineErrors: ErrorCode[] = [
  'VALIDATION_FAILED', 'PRODUCT_NOT_FOUND', 'CART_NOT_FOUND', 'CART_CHECKED_OUT', 'CART_EXPIRED',
  'CURRENCY_MISMATCH', 'CART_LINES_LIMIT_EXCEEDED', 'QUANTITY_LIMIT_EXCEEDED', 'ADMISSION_REQUIRED',
];

export const postCartItemDoc: RouteDoc = {
  summary: 'Add units of a SKU to a cart (a new cart without cartId)',
  partitioned: true,
  body: addItemBody,
  responses: { 201: { description: 'The new cart', body: cartSchema }, 200: { description: 'The cart', body: cartSchema } },
  errors: cartLineErrors,
};

export const patchCartItemDoc: RouteDoc = {
  summary: "Set a cart line's quantity (0 removes the line)",
  partitioned: true,
  body: setItemBody,
  responses: { 200: { description: 'The cart', body: cartSchema } },
  errors: cartLineErrors,
};

export const getCartDoc: RouteDoc = {
  summary: 'A cart with its current prices',
  partitioned: true,
  responses: { 200: { description: 'The cart', body: cartSchema } },
  errors: ['CART_NOT_FOUND', 'CART_EXPIRED'],
};

export const postCartPromoDoc: RouteDoc = {
  summary: 'Apply a promo code to a cart',
  partitioned: true,
  body: promoBody,
  responses: { 200: { description: 'The cart priced with the code', body: cartSchema } },
  errors: ['VALIDATION_FAILED', 'PROMO_NOT_FOUND', 'CART_NOT_FOUND', 'CART_CHECKED_OUT', 'CART_EXPIRED', 'PROMO_NOT_ACTIVE', 'PROMO_CURRENCY_MISMATCH', 'PROMO_MIN_SUBTOTAL_NOT_MET'],
};

/**
 * POST /api/cart/items { cartId?, sku, qty } → 201 with a new cart, or 200 { cartId, lines, totals } (adds qty);
 * PATCH /api/cart/items { cartId, sku, qty } → 200 the cart (sets qty; 0 removes the line).
 */
export const postCartItem = (s: NodeServices): Handler => cartLineHandler(s, addItemBody, addToCart);
export const patchCartItem = (s: NodeServices): Handler => cartLineHandler(s, setItemBody, setCartLineQty);

function cartLineHandler(
  s: NodeServices,
  schema: typeof addItemBody | typeof setItemBody,
  change: (cart: Cart, product: Product, qty: number, nowMs: number, idleTtlMs: number) => { ok: true; cart: Cart } | Failure,
): Handler {
  return async (req) => {
    const body = parseBody(schema, req.body);
    if (!body.ok) return body.response;
    const { cartId, sku, qty } = body.value;
    const tooMany = quantityProblem([{ sku, qty }]);
    if (tooMany) return tooMany;
    const product = s.catalog.product(sku);
    if (!product) return errorResponse('PRODUCT_NOT_FOUND', { sku });
    const r = await s.carts.mutate(cartId ?? null, (cart, nowMs) => change(cart, product, qty, nowMs, s.carts.idleTtlMs));
    return cartResult(s, r, r.ok && r.created ? 201 : 200);
  };
}

/** GET /api/carts/:cartId → the cart with its current prices. */
export const getCart = (s: NodeServices): Handler => async (req) => {
  const cartId = req.params['cartId'];
  const cart = validId(cartId) ? await s.carts.get(cartId) : null;
  if (!cart) return errorResponse('CART_NOT_FOUND', { cartId });
  if (cart.status === 'open' && s.nowMs() >= cart.expiresAtMs) return errorResponse('CART_EXPIRED', { cartId });
  return { status: 200, body: await cartView(s, cart) };
};

/** POST /api/carts/:cartId/promo { code } → 200 the cart priced with the code; 404/422 when it does not apply. */
export const postCartPromo = (s: NodeServices): Handler => async (req) => {
  const cartId = req.params['cartId'];
  if (!validId(cartId)) return errorResponse('CART_NOT_FOUND', { cartId });
  const body = parseBody(promoBody, req.body);
  if (!body.ok) return body.response;
  const promo = await s.catalog.promotion(body.value.code);
  if (!promo) return errorResponse('PROMO_NOT_FOUND', { promoCode: body.value.code });
  const cart = await s.carts.get(cartId);
  if (!cart) return errorResponse('CART_NOT_FOUND', { cartId });
  const priced = cart.currency ? priceLines(s, cart, null) : null;
  if (priced && priced.ok) {
    const check = checkPromotion(promo, { subtotalMinor: priced.priced.subtotalMinor, currency: priced.priced.currency, nowMs: s.nowMs(), usage: { total: 0, byCustomer: 0 } });
    if (!check.ok) return errorResponse(check.code, { promoCode: promo.code, ...check.details });
  }
  const r = await s.carts.setPromo(cartId, promo.code);
  return cartResult(s, r, 200);
};

async function cartResult(s: NodeServices, r: { ok: true; cart: Cart } | Failure, status: number): Promise<HttpResponse> {
  if (!r.ok) return { status: errorStatus(r.code), body: errorBody(r.code, r.details) };
  return { status, body: await cartView(s, r.cart) };
}

function priceLines(s: NodeServices, cart: Cart, promo: Promotion | null) {
  const lines: { product: Product; qty: number }[] = [];
  for (const l of cart.lines) {
    const product = s.catalog.product(l.sku);
    if (product) lines.push({ product, qty: l.qty });
  }
  if (lines.length === 0) return null;
  return priceCart({ lines, promo, promoUsage: { total: 0, byCustomer: 0 }, address: null, shippingMethod: 'standard', taxRates: s.taxRates, shippingTable: s.shippingTable, nowMs: s.nowMs() });
}

/** A cart as the API shows it: lines with prices, and totals before tax and shipping (they need an address). */
export async function cartView(s: NodeServices, cart: Cart) {
  const promo = cart.promoCode ? ((await s.catalog.promotion(cart.promoCode)) ?? null) : null;
  let priced = priceLines(s, cart, promo);
  let promoError: string | null = null;
  if (priced && !priced.ok && promo) {
    // The code no longer applies (e.g. the subtotal fell below its minimum): show the cart without it.
    promoError = priced.code;
    priced = priceLines(s, cart, null);
  }
  return cartBody(cart, priced && priced.ok ? priced.priced : null, promoError);
}

/**
 * The cart as the API shows it: lines with prices, and totals before tax and shipping (they need an address). The
 * one place this public shape is built (the bench contenders answer with it too).
 */
export function cartBody(cart: Cart, p: PricedCart | null, promoError: string | null = null) {
  return {
    cartId: cart.cartId,
    status: cart.status,
    currency: cart.currency,
    promoCode: cart.promoCode,
    ...(promoError ? { promoError } : {}),
    lines: p
      ? p.lines.map((l) => ({ sku: l.sku, name: l.name, qty: l.qty, unitPriceMinor: l.unitPriceMinor, subtotalMinor: l.subtotalMinor, discountMinor: l.discountMinor }))
      : [],
    totals: {
      currency: cart.currency,
      subtotalMinor: p?.subtotalMinor ?? 0,
      discountMinor: p?.discountMinor ?? 0,
      totalMinor: p ? p.subtotalMinor - p.discountMinor : 0,
    },
    expiresAt: new Date(cart.expiresAtMs).toISOString(),
  };
}
