import { createHash } from 'node:crypto';
import type { InventoryView } from './inventory.js';
import type { Address, PricedCart } from './pricing.js';
import type { ShippingMethod } from './shipping.js';

/**
 * A checkout as data: the request after HTTP validation, the plan a saga runs from, and the pure rules the edge
 * and the checkout actor share (merging lines, the customer key, "sold out" judged from memory).
 */

/** A checkout request after HTTP validation: a cart, or buy-now lines. */
export interface CheckoutRequest {
  cartId: string | null;
  items: CheckoutLine[] | null;
  paymentMethod: string;
  address: Address;
  shippingMethod: ShippingMethod;
  customerId: string | null;
  /** Buy-now only: a cart checkout uses the cart's code. */
  promoCode: string | null;
  /** The request's correlation id (x-correlation-id): carried to the plan, so the saga's logs and spans name it. */
  correlationId?: string;
  /** Opaque here: the caller's trace context (OpenTelemetry), carried through the checkout actor's mailbox. */
  traceContext?: unknown;
}

export interface CheckoutLine {
  sku: string;
  qty: number;
}

/** Everything a saga needs to run or re-run: recorded in its `started` journal event before any side effect. */
export interface CheckoutPlan {
  key: string;
  fingerprint: string;
  checkoutId: string;
  orderId: string;
  lines: CheckoutLine[];
  priced: PricedCart;
  paymentMethod: string;
  address: Address;
  customerKey: string;
  cartId: string | null;
  createdAtMs: number;
  /** The correlation id of the request that started the checkout; absent in plans journaled before it was recorded. */
  correlationId?: string;
}

/** Buy-now lines naming one SKU twice are merged, so each SKU gets one hold. */
export function mergeLines(items: CheckoutLine[]): CheckoutLine[] {
  const merged = new Map<string, number>();
  for (const i of items) merged.set(i.sku, (merged.get(i.sku) ?? 0) + i.qty);
  return [...merged].map(([sku, qty]) => ({ sku, qty }));
}

/**
 * What this node knows of a SKU's counts: its view when the SKU is served here (undefined: never stocked), or, for
 * a SKU served elsewhere, the owner's last sold-out word (null: unknown here).
 */
export type InventoryViewOf = (sku: string) => InventoryView | undefined | null;

/** Lines short of stock, judged from memory only when no write in flight could change the answer. */
export function soldOutFromMemory(lines: CheckoutLine[], inventoryView: InventoryViewOf): { sku: string; requested: number; available: number }[] {
  const short: { sku: string; requested: number; available: number }[] = [];
  for (const l of lines) {
    const v = inventoryView(l.sku);
    if (v === null) continue;
    const available = v?.available ?? 0;
    if (available < l.qty && (v === undefined || v.pendingWrites === 0)) short.push({ sku: l.sku, requested: l.qty, available });
  }
  return short;
}

/** Per-customer promo limits count by customerId, or by a hash of the shipping name and postcode for guests. */
export function customerKeyOf(req: Pick<CheckoutRequest, 'customerId' | 'address'>): string {
  if (req.customerId) return `cus:${req.customerId}`;
  const a = req.address;
  const h = createHash('sha256').update(`${a.name.trim().toLowerCase()}|${a.postalCode.trim().toLowerCase()}|${a.country}`).digest('base64url');
  return `anon:${h.slice(0, 24)}`;
}
