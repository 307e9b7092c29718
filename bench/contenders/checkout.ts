import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Pool } from 'pg';
import { customerKeyOf, mergeLines } from '../../src/domain/checkout.js';
import type { CheckoutPlan, CheckoutRequest } from '../../src/domain/checkout.js';
import { isCartExpired, type Cart } from '../../src/domain/cart.js';
import { priceCart } from '../../src/domain/pricing.js';
import type { Product } from '../../src/domain/product.js';
import { defaultShippingTable } from '../../src/domain/shipping.js';
import { defaultTaxRates } from '../../src/domain/tax.js';
import { errorBody, errorStatus, type ErrorCode } from '../../src/errors.js';
import type { Handler } from '../../src/http/request.js';
import { parseCheckout } from '../../src/http/routes/checkout-request.js';
import type { PaymentProvider } from '../../src/payments/provider.js';
import type { ProductCatalog } from './catalog.js';
import { loadCart } from './carts.js';
import { runOrder } from './checkout-order.js';
import { answerFromRecord, type IdempotencyKeys, type Reply } from './idempotency.js';
import { shortLines, type Line, type StockBackend } from './stock-backend.js';

export interface CheckoutDeps {
  pool: Pool;
  stock: StockBackend;
  catalog: ProductCatalog;
  keys: IdempotencyKeys;
  payments: PaymentProvider;
  log: Logger;
  nowMs: () => number;
  /** Told about each confirmed order (the process's held/sold tally). */
  onSold: (lines: Line[]) => void;
}


/**
 * POST /api/checkout: boxoffice's header and body checks in boxoffice's order (src/http/routes/checkout-routes.ts),
 * the same fingerprint, the same 429 bound on checkouts in flight, then the contender's checkout.
 */
export function postCheckout(d: CheckoutDeps): Handler {
  let inFlight = 0;
  return async (req) => {
    const parsed = parseCheckout(req, inFlight);
    if (!parsed.ok) return parsed.response;
    const { key, fingerprint, request } = parsed;
    inFlight++;
    let reply: Reply;
    try {
      reply = await runCheckout(d, key, fingerprint, request);
    } finally {
      inFlight--;
    }
    const headers: Record<string, string> = { 'idempotency-key': key };
    if (reply.replayed) headers['idempotent-replayed'] = 'true';
    return { status: reply.statusCode, body: reply.body, headers };
  };
}

/**
 * Key first (a finished key replays whatever happened since), then the checks that need no write: cart state,
 * products, the unlocked stock pre-check, pricing. A refusal there claims nothing. Then the contender takes stock,
 * charges and writes the order (checkout-order.ts).
 */
async function runCheckout(d: CheckoutDeps, key: string, fingerprint: string, req: CheckoutRequest): Promise<Reply> {
  const remembered = d.keys.remembered(key);
  if (remembered !== undefined) return answerFromRecord(remembered, fingerprint);
  const cart = req.cartId === null ? null : await loadCart(d.pool, req.cartId);
  const lines = req.items !== null ? mergeLines(req.items) : (cart?.lines.map((l) => ({ sku: l.sku, qty: l.qty })) ?? []);
  const found = await d.stock.lookup(key, lines.map((l) => l.sku));
  if (found.record !== null) return answerFromRecord(found.record, fingerprint);
  const prepared = prepare(d, req, cart, lines, found.available);
  if (!prepared.ok) return d.keys.refuse(key, fingerprint, errorStatus(prepared.code), errorBody(prepared.code, prepared.details));
  // redis-lua takes here, before claiming, so that a sold-out answer writes nothing (like the pg kinds' pre-check);
  // runOrder gives the stock back if the claim is lost or anything later fails.
  const short = await d.stock.takeBeforePayment(lines);
  if (short !== null) return d.keys.refuse(key, fingerprint, 409, errorBody('OUT_OF_STOCK', { skus: short }));
  const nowMs = d.nowMs();
  const plan: CheckoutPlan = {
    key,
    fingerprint,
    checkoutId: `co_${randomBytes(12).toString('base64url')}`,
    orderId: `ord_${randomBytes(16).toString('base64url')}`,
    lines,
    priced: prepared.priced,
    paymentMethod: req.paymentMethod,
    address: req.address,
    customerKey: customerKeyOf(req),
    cartId: req.cartId,
    createdAtMs: nowMs,
  };
  return runOrder(d, plan);
}

type Prepared = { ok: true; priced: CheckoutPlan['priced'] } | { ok: false; code: ErrorCode; details?: Record<string, unknown> };

/** boxoffice's order of refusals (src/actors/checkout-prepare.ts): cart, products, sold out, promo, price. */
function prepare(d: CheckoutDeps, req: CheckoutRequest, cart: Cart | null, lines: Line[], available: Map<string, number> | null): Prepared {
  if (req.cartId !== null) {
    const cartId = req.cartId;
    if (cart === null) return { ok: false, code: 'CART_NOT_FOUND', details: { cartId } };
    if (cart.status === 'checked_out') return { ok: false, code: 'CART_CHECKED_OUT', details: { cartId } };
    if (isCartExpired(cart, d.nowMs())) return { ok: false, code: 'CART_EXPIRED', details: { cartId } };
    if (cart.lines.length === 0) return { ok: false, code: 'CART_EMPTY', details: { cartId } };
  }
  const products: { product: Product; qty: number }[] = [];
  for (const l of lines) {
    const product = d.catalog.get(l.sku);
    if (!product) return { ok: false, code: 'PRODUCT_NOT_FOUND', details: { sku: l.sku } };
    products.push({ product, qty: l.qty });
  }
  if (available !== null) {
    const short = shortLines(lines, (sku) => available.get(sku) ?? 0);
    if (short.length > 0) return { ok: false, code: 'OUT_OF_STOCK', details: { skus: short } };
  }
  // The contenders serve no promotion route, so no code can exist: boxoffice answers an unknown code this way.
  const promoCode = req.items !== null ? req.promoCode : (cart?.promoCode ?? null);
  if (promoCode) return { ok: false, code: 'PROMO_NOT_FOUND', details: { promoCode } };
  const priced = priceCart({
    lines: products,
    promo: null,
    promoUsage: { total: 0, byCustomer: 0 },
    address: req.address,
    shippingMethod: req.shippingMethod,
    taxRates: defaultTaxRates,
    shippingTable: defaultShippingTable,
    nowMs: d.nowMs(),
  });
  return priced.ok ? { ok: true, priced: priced.priced } : priced;
}
