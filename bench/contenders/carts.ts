import { randomBytes } from 'node:crypto';
import type { Pool } from 'pg';
import { addToCart, checkCartWritable, createCart, type Cart } from '../../src/domain/cart.js';
import { asCartId } from '../../src/domain/ids.js';
import { priceCart } from '../../src/domain/pricing.js';
import type { Product } from '../../src/domain/product.js';
import { defaultShippingTable } from '../../src/domain/shipping.js';
import { defaultTaxRates } from '../../src/domain/tax.js';
import { errorBody, errorStatus } from '../../src/errors.js';
import { errorResponse } from '../../src/http/error-response.js';
import type { Handler } from '../../src/http/request.js';
import { addItemBody, parseBody, quantityProblem } from '../../src/http/validation.js';
import type { ProductCatalog } from './catalog.js';
import { cartBody } from '../../src/http/routes/cart-routes.js';

/** boxoffice's default idle TTL of a cart (CART_TTL_MS, 24 h). */
export const cartIdleTtlMs = 24 * 60 * 60 * 1000;

/**
 * Carts the way a typical shop keeps them: one jsonb row per cart (boxoffice's carts table and cart shape), read,
 * changed in the application and written back with one upsert per request. Two concurrent changes of one cart are
 * last-writer-wins, as in most shops; a checkout cannot race one, because it flips the status with a guarded UPDATE.
 */
export async function loadCart(pool: Pool, cartId: string): Promise<Cart | null> {
  const { rows } = await pool.query<{ state: Cart }>({ name: 'cart_load', text: 'SELECT state FROM carts WHERE cart_id = $1', values: [cartId] });
  return rows[0]?.state ?? null;
}

async function saveCart(pool: Pool, cart: Cart): Promise<void> {
  await pool.query({
    name: 'cart_save',
    text: `INSERT INTO carts (cart_id, state, updated_at, expires_at) VALUES ($1, $2::jsonb, $3, $4)
           ON CONFLICT (cart_id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at, expires_at = excluded.expires_at`,
    values: [cart.cartId, JSON.stringify(cart), new Date(cart.updatedAtMs), new Date(cart.expiresAtMs)],
  });
}

/** POST /api/cart/items { cartId?, sku, qty } → 201 a new cart, 200 an existing one; boxoffice's errors. */
export const postCartItem =
  (pool: Pool, catalog: ProductCatalog, nowMs: () => number): Handler =>
  async (req) => {
    const body = parseBody(addItemBody, req.body);
    if (!body.ok) return body.response;
    const { cartId, sku, qty } = body.value;
    const tooMany = quantityProblem([{ sku, qty }]);
    if (tooMany) return tooMany;
    const product = catalog.get(sku);
    if (!product) return errorResponse('PRODUCT_NOT_FOUND', { sku });
    const now = nowMs();
    let cart: Cart;
    if (cartId === undefined) {
      cart = createCart(asCartId(`cart_${randomBytes(16).toString('base64url')}`), now, cartIdleTtlMs);
    } else {
      const stored = await loadCart(pool, cartId);
      if (!stored) return errorResponse('CART_NOT_FOUND', { cartId });
      const writable = checkCartWritable(stored, now);
      if (!writable.ok) return errorResponse(writable.code, { ...writable.details, cartId });
      cart = stored;
    }
    const next = addToCart(cart, product, qty, now, cartIdleTtlMs);
    if (!next.ok) return { status: errorStatus(next.code), body: errorBody(next.code, next.details) };
    await saveCart(pool, next.cart);
    return { status: cartId === undefined ? 201 : 200, body: cartView(next.cart, catalog, now) };
  };

/** The cart as boxoffice answers it (src/http/routes/cart-routes.ts cartView); the contenders have no promotions. */
export function cartView(cart: Cart, catalog: ProductCatalog, nowMs: number) {
  const lines: { product: Product; qty: number }[] = [];
  for (const l of cart.lines) {
    const product = catalog.get(l.sku);
    if (product) lines.push({ product, qty: l.qty });
  }
  const priced =
    lines.length === 0
      ? null
      : priceCart({ lines, promo: null, promoUsage: { total: 0, byCustomer: 0 }, address: null, shippingMethod: 'standard', taxRates: defaultTaxRates, shippingTable: defaultShippingTable, nowMs });
  return cartBody(cart, priced && priced.ok ? priced.priced : null);
}
