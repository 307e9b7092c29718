import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { limits } from '../config/limits.js';
import { fail, type Failure } from '../errors.js';
import { canonicalJson } from './canonical-json.js';
import type { SkuId } from './ids.js';
import { allocate, sumMinor } from './money.js';
import type { Product } from './product.js';
import { checkPromotion, promotionDiscountMinor, type PromoUsage, type Promotion } from './promotions.js';
import { shippingQuote, type ShippingMethod, type ShippingTable } from './shipping.js';
import { lineTaxesMinor, taxRateBps, type TaxRate } from './tax.js';

export interface Address {
  name: string;
  line1: string;
  city: string;
  postalCode: string;
  /** ISO 3166-1 alpha-2. */
  country: string;
  /** A state or province code where tax depends on it (US states), else null or absent. */
  region?: string | null;
}

/** One priced line. weightGrams is the whole line's weight (unit weight × qty), like subtotalMinor. */
export interface PricedLine {
  sku: SkuId;
  name: string;
  qty: number;
  unitPriceMinor: number;
  /** unitPriceMinor × qty. */
  subtotalMinor: number;
  /** This line's share of the order-level discount. */
  discountMinor: number;
  taxRateBps: number;
  /** Tax on subtotalMinor − discountMinor. */
  taxMinor: number;
  /** subtotalMinor − discountMinor + taxMinor; shipping is order-level and in no line. */
  totalMinor: number;
  weightGrams: number;
}

/**
 * A priced cart. Invariants: totalMinor = subtotalMinor − discountMinor + shippingMinor + taxMinor, and the
 * lines' subtotals, discounts, taxes and totals each sum to the cart's subtotal, discount, tax and
 * (totalMinor − shippingMinor). hash identifies the whole price, so a checkout can tell the price it showed
 * from the price it is about to charge.
 */
export interface PricedCart {
  currency: string;
  lines: PricedLine[];
  subtotalMinor: number;
  discountMinor: number;
  shippingMethod: ShippingMethod;
  shippingMinor: number;
  taxMinor: number;
  totalMinor: number;
  promoCode: string | null;
  hash: string;
}

export interface PriceCartInput {
  lines: { product: Product; qty: number }[];
  promo: Promotion | null;
  promoUsage: PromoUsage;
  /** null prices a cart view before checkout: no tax and no shipping yet, because both depend on the address. */
  address: Address | null;
  shippingMethod: ShippingMethod;
  taxRates: TaxRate[];
  shippingTable: ShippingTable;
  nowMs: number;
}

export type PriceCartResult = { ok: true; priced: PricedCart } | Failure;

/**
 * Prices a cart. The order-level discount is spread over the lines by allocate(), weighted by line subtotal, so the
 * line discounts sum to it exactly; each line is taxed on its subtotal less its discount; shipping is not taxed.
 */
export function priceCart(input: PriceCartInput): PriceCartResult {
  const checked = checkLines(input.lines);
  if (!checked.ok) return checked;
  const { currency } = checked;
  const lineSubtotals = input.lines.map(({ product, qty }) => product.priceMinor * qty);
  const subtotalMinor = sumMinor(lineSubtotals);
  let discountMinor = 0;
  if (input.promo !== null) {
    const ctx = { subtotalMinor, currency, nowMs: input.nowMs, usage: input.promoUsage };
    const promoCheck = checkPromotion(input.promo, ctx);
    if (!promoCheck.ok) return promoCheck;
    discountMinor = promotionDiscountMinor(input.promo, subtotalMinor);
  }
  const lineDiscounts = allocate(discountMinor, lineSubtotals);
  const weightGrams = sumMinor(input.lines.map(({ product, qty }) => product.weightGrams * qty));
  let shippingMinor = 0;
  let rates = input.lines.map(() => 0);
  const { address } = input;
  if (address !== null) {
    const quote = shippingQuote(input.shippingTable, {
      country: address.country,
      weightGrams,
      subtotalMinor: subtotalMinor - discountMinor,
      currency,
      method: input.shippingMethod,
    });
    if (!quote.ok) return quote;
    // A free-shipping promotion still needs a destination we can ship to, hence quote first, then zero.
    shippingMinor = input.promo?.kind === 'free_shipping' ? 0 : quote.amountMinor;
    const region = address.region ?? null;
    rates = input.lines.map(({ product }) => taxRateBps(input.taxRates, address.country, region, product.taxCategory));
  }
  const nets = lineSubtotals.map((s, i) => s - (lineDiscounts[i] ?? 0));
  const taxes = lineTaxesMinor(nets.map((netMinor, i) => ({ netMinor, rateBps: rates[i] ?? 0 })));
  const lines: PricedLine[] = input.lines.map(({ product, qty }, i) => ({
    sku: product.sku,
    name: product.name,
    qty,
    unitPriceMinor: product.priceMinor,
    subtotalMinor: lineSubtotals[i] ?? 0,
    discountMinor: lineDiscounts[i] ?? 0,
    taxRateBps: rates[i] ?? 0,
    taxMinor: taxes.perLine[i] ?? 0,
    totalMinor: (nets[i] ?? 0) + (taxes.perLine[i] ?? 0),
    weightGrams: product.weightGrams * qty,
  }));
  const unhashed: Omit<PricedCart, 'hash'> = {
    currency,
    lines,
    subtotalMinor,
    discountMinor,
    shippingMethod: input.shippingMethod,
    shippingMinor,
    taxMinor: taxes.totalMinor,
    totalMinor: subtotalMinor - discountMinor + shippingMinor + taxes.totalMinor,
    promoCode: input.promo?.code ?? null,
  };
  return { ok: true, priced: { ...unhashed, hash: pricedCartHash(unhashed) } };
}

/**
 * sha256 hex of the canonical JSON of everything but the hash. A full PricedCart may be passed: its own hash field
 * is left out, so pricedCartHash(priced) === priced.hash checks a stored price.
 */
export function pricedCartHash(p: Omit<PricedCart, 'hash'>): string {
  const { hash: _ignored, ...rest } = p as Omit<PricedCart, 'hash'> & { hash?: unknown };
  return createHash('sha256').update(canonicalJson(rest)).digest('hex');
}

/**
 * Business checks on the lines before any arithmetic. The limits also keep every product of price, quantity and
 * rate a safe integer. Buy-now checkouts reach here without a cart, so the cart limits are checked again.
 */
function checkLines(lines: PriceCartInput['lines']): { ok: true; currency: string } | Failure {
  const first = lines[0];
  if (first === undefined) return fail('CART_EMPTY');
  if (lines.length > limits.cartLinesMax) return fail('CART_LINES_LIMIT_EXCEEDED', { max: limits.cartLinesMax });
  const currency = first.product.currency;
  for (const { product, qty } of lines) {
    assert(Number.isSafeInteger(qty) && qty >= 1, `qty must be a positive integer, got ${qty}`);
    assert(Number.isSafeInteger(product.priceMinor) && product.priceMinor >= 0, `bad priceMinor for ${product.sku}`);
    assert(Number.isSafeInteger(product.weightGrams) && product.weightGrams >= 0, `bad weightGrams for ${product.sku}`);
    if (qty > limits.lineQtyMax) return fail('QUANTITY_LIMIT_EXCEEDED', { sku: product.sku, max: limits.lineQtyMax });
    if (product.currency !== currency) {
      return fail('CURRENCY_MISMATCH', { cartCurrency: currency, productCurrency: product.currency });
    }
  }
  return { ok: true, currency };
}
