import type { Failure } from '../errors.js';
import { isCartExpired, type Cart } from '../domain/cart.js';
import { priceCart } from '../domain/pricing.js';
import type { Product } from '../domain/product.js';
import type { Promotion } from '../domain/promotions.js';
import type { ShippingTable } from '../domain/shipping.js';
import type { TaxRate } from '../domain/tax.js';
import { customerKeyOf, mergeLines, soldOutFromMemory, type CheckoutPlan, type CheckoutRequest, type InventoryViewOf } from '../domain/checkout.js';
import { rejected, type CheckoutRejection } from '../domain/checkout-result.js';
import type { IdSource } from './id-source.js';
import type { PromoUses } from './promo-ledger.js';

export interface PrepareDeps {
  product: (sku: string) => Product | undefined;
  promotion: (code: string) => Promise<Promotion | undefined>;
  cart: (cartId: string) => Promise<Cart | null>;
  /** A SKU's counts here; undefined for a SKU never stocked; null when another node serves it (unknown here). */
  inventoryView: InventoryViewOf;
  promos: PromoUses;
  taxRates: TaxRate[];
  shippingTable: ShippingTable;
  nowMs: () => number;
  /** Checkout and order ids. */
  ids: IdSource;
  /** Whether the payment provider may be asked now; when not, the seconds to wait (its circuit is open). */
  paymentsAvailable?: () => { ok: true } | { ok: false; retryAfterS: number };
}

/** A rejection before any side effect: nothing to undo, replayed from memory only. */
function rejectedBeforeEffects(f: Failure): CheckoutRejection {
  return rejected(f.code, 'memory', f.details);
}

/**
 * Validate and price: the saga's first step, with no side effect and no journal write. It also answers "sold out"
 * from the SKU actors' memory when no write is in flight that could change the answer.
 */
export async function prepareCheckout(req: CheckoutRequest, key: string, fingerprint: string, deps: PrepareDeps): Promise<{ ok: true; plan: CheckoutPlan } | CheckoutRejection> {
  const nowMs = deps.nowMs();
  // Before anything is read or reserved: a provider that cannot be asked now means no checkout can complete.
  const payments = deps.paymentsAvailable?.() ?? { ok: true };
  if (!payments.ok) return rejected('PAYMENT_PROVIDER_UNAVAILABLE', 'forget', { retryAfterS: payments.retryAfterS });
  const source = await linesOf(req, deps, nowMs);
  if (!source.ok) return rejectedBeforeEffects(source);
  const products: { product: Product; qty: number }[] = [];
  for (const l of source.lines) {
    const product = deps.product(l.sku);
    if (!product) return rejectedBeforeEffects({ ok: false, code: 'PRODUCT_NOT_FOUND', details: { sku: l.sku } });
    products.push({ product, qty: l.qty });
  }
  const short = soldOutFromMemory(source.lines, deps.inventoryView);
  if (short.length > 0) return rejectedBeforeEffects({ ok: false, code: 'OUT_OF_STOCK', details: { skus: short } });

  const customerKey = customerKeyOf(req);
  const code = source.promoCode;
  const promo = code ? await deps.promotion(code) : undefined;
  if (code && !promo) return rejectedBeforeEffects({ ok: false, code: 'PROMO_NOT_FOUND', details: { promoCode: code } });
  if (promo) await deps.promos.prepare(promo.code, customerKey);
  const priced = priceCart({
    lines: products,
    promo: promo ?? null,
    promoUsage: promo ? deps.promos.usage(promo.code, customerKey) : { total: 0, byCustomer: 0 },
    address: req.address,
    shippingMethod: req.shippingMethod,
    taxRates: deps.taxRates,
    shippingTable: deps.shippingTable,
    nowMs,
  });
  if (!priced.ok) return rejectedBeforeEffects(priced);
  // Taking the use is one step on the ledger's owner, so two concurrent checkouts cannot both take the last one.
  if (promo && !(await deps.promos.reserve(promo, customerKey))) {
    return rejectedBeforeEffects({ ok: false, code: 'PROMO_USAGE_LIMIT_REACHED', details: { promoCode: promo.code } });
  }
  return {
    ok: true,
    plan: {
      key,
      fingerprint,
      checkoutId: `co_${deps.ids.token(12)}`,
      orderId: `ord_${deps.ids.token(16)}`,
      lines: source.lines,
      priced: priced.priced,
      paymentMethod: req.paymentMethod,
      address: req.address,
      customerKey,
      cartId: req.cartId,
      createdAtMs: nowMs,
      ...(req.correlationId !== undefined ? { correlationId: req.correlationId } : {}),
    },
  };
}

type Lines = { ok: true; lines: { sku: string; qty: number }[]; promoCode: string | null } | Failure;

async function linesOf(req: CheckoutRequest, deps: PrepareDeps, nowMs: number): Promise<Lines> {
  if (req.items) return { ok: true, lines: mergeLines(req.items), promoCode: req.promoCode };
  const cartId = req.cartId ?? '';
  const cart = await deps.cart(cartId);
  if (!cart) return { ok: false, code: 'CART_NOT_FOUND', details: { cartId } };
  if (cart.status === 'checked_out') return { ok: false, code: 'CART_CHECKED_OUT', details: { cartId } };
  if (isCartExpired(cart, nowMs)) return { ok: false, code: 'CART_EXPIRED', details: { cartId } };
  if (cart.lines.length === 0) return { ok: false, code: 'CART_EMPTY', details: { cartId } };
  return { ok: true, lines: cart.lines.map((l) => ({ sku: l.sku, qty: l.qty })), promoCode: cart.promoCode };
}
