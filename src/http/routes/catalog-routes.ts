import { countsOf, emptyInventory } from '../../domain/inventory.js';
import { asSku } from '../../domain/ids.js';
import { promotionProblems, type Promotion } from '../../domain/promotions.js';
import type { Product } from '../../domain/product.js';
import type { Handler, HttpResponse } from '../request.js';
import { errorResponse } from '../error-response.js';
import type { NodeServices } from '../services.js';
import { inventoryBody, parseBody, productBody, promotionBody, skuSchema, validSku } from '../validation.js';
import type { RouteDoc } from '../openapi/route-doc.js';
import { inventoryCounts, productView, promotionView as promotionSchema } from '../openapi/response-schemas.js';

const badSku = (sku: string | undefined): HttpResponse =>
  errorResponse('VALIDATION_FAILED', { field: 'sku', reason: 'expected 1-64 of A-Z a-z 0-9 . _ : - starting alphanumeric', sku: sku?.slice(0, 80) });

export const putProductDoc: RouteDoc = {
  summary: 'Create or replace a product',
  admin: true,
  partitioned: true,
  params: { sku: skuSchema },
  body: productBody,
  responses: { 200: { description: 'The product', body: productView } },
  errors: ['VALIDATION_FAILED'],
};

/** PUT /api/products/:sku (admin) → 200 the product. */
export const putProduct = (s: NodeServices): Handler => async (req) => {
  const sku = req.params['sku'];
  if (!validSku(sku)) return badSku(sku);
  const body = parseBody(productBody, req.body);
  if (!body.ok) return body.response;
  const product: Product = { sku: asSku(sku), ...body.value };
  return { status: 200, body: await s.catalog.upsertProduct(product) };
};

export const getProductDoc: RouteDoc = {
  summary: 'A product',
  partitioned: true,
  responses: { 200: { description: 'The product', body: productView } },
  errors: ['PRODUCT_NOT_FOUND'],
};

/** GET /api/products/:sku → the product, or 404 PRODUCT_NOT_FOUND. */
export const getProduct = (s: NodeServices): Handler => (req) => {
  const sku = req.params['sku'];
  const product = validSku(sku) ? s.catalog.product(sku) : undefined;
  return product ? { status: 200, body: product } : errorResponse('PRODUCT_NOT_FOUND', { sku });
};

export const putInventoryDoc: RouteDoc = {
  summary: 'Set the on-hand stock of a product',
  admin: true,
  partitioned: true,
  params: { sku: skuSchema },
  body: inventoryBody,
  responses: { 200: { description: 'The counts (available + held + sold == onHand)', body: inventoryCounts } },
  errors: ['VALIDATION_FAILED', 'PRODUCT_NOT_FOUND', 'ON_HAND_BELOW_COMMITTED', 'OVERLOADED'],
};

/** PUT /api/inventory/:sku (admin) { onHand } → 200 { sku, onHand, available, held, sold }. */
export const putInventory = (s: NodeServices): Handler => async (req) => {
  const sku = req.params['sku'];
  if (!validSku(sku)) return badSku(sku);
  const body = parseBody(inventoryBody, req.body);
  if (!body.ok) return body.response;
  if (!s.catalog.product(sku)) return errorResponse('PRODUCT_NOT_FOUND', { sku });
  const r = await s.inventory.setOnHand(sku, body.value.onHand);
  if (!r.ok) return errorResponse(r.code, r.details);
  return { status: 200, body: countsBody(r) };
};

export const getInventoryDoc: RouteDoc = {
  summary: "A SKU's stock counts, from its actor's memory",
  partitioned: true,
  responses: { 200: { description: 'The counts (zeros for a product never stocked)', body: inventoryCounts } },
  errors: ['PRODUCT_NOT_FOUND'],
};

/** GET /api/inventory/:sku → { sku, onHand, available, held, sold }, answered from the SKU actor's memory. */
export const getInventory = (s: NodeServices): Handler => (req) => {
  const sku = req.params['sku'];
  if (!validSku(sku) || !s.catalog.product(sku)) return errorResponse('PRODUCT_NOT_FOUND', { sku });
  const v = s.inventory.view(sku);
  const counts = v ? { sku: v.sku, onHand: v.onHand, available: v.available, held: v.held, sold: v.sold } : countsOf(emptyInventory(asSku(sku)));
  return { status: 200, body: counts };
};

export const postPromotionDoc: RouteDoc = {
  summary: 'Define a promotion code (immutable once created)',
  admin: true,
  body: promotionBody,
  responses: { 201: { description: 'The promotion', body: promotionSchema } },
  errors: ['VALIDATION_FAILED', 'PROMOTION_EXISTS'],
};

/** POST /api/promotions (admin) → 201 the promotion; 409 PROMOTION_EXISTS for a taken code. */
export const postPromotion = (s: NodeServices): Handler => async (req) => {
  const body = parseBody(promotionBody, req.body);
  if (!body.ok) return body.response;
  const b = body.value;
  const promo: Promotion = {
    code: b.code,
    kind: b.kind,
    percentBps: b.percentBps ?? null,
    amountMinor: b.amountMinor ?? null,
    currency: b.currency ?? null,
    minSubtotalMinor: b.minSubtotalMinor,
    startsAtMs: b.startsAt ?? null,
    endsAtMs: b.endsAt ?? null,
    usageLimitTotal: b.usageLimitTotal ?? null,
    usageLimitPerCustomer: b.usageLimitPerCustomer ?? null,
  };
  const problems = promotionProblems(promo);
  if (problems.length > 0) return errorResponse('VALIDATION_FAILED', { field: '', reason: problems.join('; ') });
  const r = await s.catalog.createPromotion(promo);
  return r === 'created' ? { status: 201, body: promotionView(promo) } : errorResponse('PROMOTION_EXISTS', { promoCode: promo.code });
};

function promotionView(p: Promotion) {
  return {
    ...p,
    startsAt: p.startsAtMs === null ? null : new Date(p.startsAtMs).toISOString(),
    endsAt: p.endsAtMs === null ? null : new Date(p.endsAtMs).toISOString(),
  };
}

/** The public counts of an inventory reply. */
export function countsBody(r: { sku: string; onHand: number; available: number; held: number; sold: number }) {
  return { sku: r.sku, onHand: r.onHand, available: r.available, held: r.held, sold: r.sold };
}
