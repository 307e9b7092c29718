import { z } from 'zod/v4';
import { limits } from '../../config/limits.js';
import { asHoldId, asSku } from '../../domain/ids.js';
import type { Product } from '../../domain/product.js';
import { errorResponse } from '../error-response.js';
import type { Handler } from '../request.js';
import type { NodeServices } from '../services.js';
import { parseBody, productBody, skuSchema, validId, validSku } from '../validation.js';
import { countsBody } from './catalog-routes.js';
import { randomToken } from '../../actors/random-token.js';
import type { RouteDoc } from '../openapi/route-doc.js';
import { catalogImported, holdCreated, holdReleased } from '../openapi/response-schemas.js';

const catalogBody = z
  .object({
    items: z
      .array(productBody.extend({ sku: skuSchema, onHand: z.number().int().min(0).max(limits.onHandMax).optional() }).strict())
      .min(1)
      .max(limits.bulkItemsMax),
  })
  .strict();

export const postCatalogDoc: RouteDoc = {
  summary: 'Import up to 10,000 products, with optional stock',
  admin: true,
  body: catalogBody,
  responses: { 200: { description: 'What was upserted and stocked; refused lists SKUs whose stock was not set', body: catalogImported } },
  errors: ['VALIDATION_FAILED'],
};

/**
 * POST /api/admin/catalog (admin): imports up to 10,000 products in one request, with optional stock — the way an
 * operator loads a catalog before a sale (and the bench loads a million SKUs). Products are upserted in one
 * statement; stock is set per SKU through its actor, so an onHand below held + sold is refused per SKU.
 */
export const postCatalog = (s: NodeServices): Handler => async (req) => {
  const body = parseBody(catalogBody, req.body);
  if (!body.ok) return body.response;
  const products: Product[] = body.value.items.map(({ onHand: _onHand, ...p }) => ({ ...p, sku: asSku(p.sku) }));
  await s.catalog.upsertProducts(products);
  const stocked = body.value.items.filter((i) => i.onHand !== undefined);
  const replies = await Promise.all(stocked.map((i) => s.inventory.setOnHand(i.sku, i.onHand!)));
  const refused = replies.flatMap((r, i) => (r.ok ? [] : [{ sku: stocked[i]!.sku, code: r.code, ...r.details }]));
  return { status: 200, body: { upserted: products.length, stocked: stocked.length - refused.length, refused } };
};

const holdBody = z.object({ qty: z.number().int().positive().max(limits.lineQtyMax), ttlMs: z.number().int().min(limits.holdTtlMsMin).max(limits.holdTtlMsMax).optional() }).strict();

export const postHoldDoc: RouteDoc = {
  summary: 'Hold stock outside a checkout (expires like a checkout hold)',
  admin: true,
  partitioned: true,
  body: holdBody,
  responses: { 201: { description: 'The hold and the counts after it', body: holdCreated } },
  errors: ['VALIDATION_FAILED', 'PRODUCT_NOT_FOUND', 'OUT_OF_STOCK', 'OVERLOADED'],
};

/** POST /api/inventory/:sku/holds (admin) { qty, ttlMs? } → 201 { holdId, sku, qty, expiresAt }; 409 OUT_OF_STOCK. */
export const postHold = (s: NodeServices): Handler => async (req) => {
  const sku = req.params['sku'];
  if (!validSku(sku) || !s.catalog.product(sku)) return errorResponse('PRODUCT_NOT_FOUND', { sku });
  const body = parseBody(holdBody, req.body);
  if (!body.ok) return body.response;
  const ttlMs = body.value.ttlMs ?? s.inventory.holdTtlMs;
  const holdId = asHoldId(`hold_${randomToken(12)}`);
  const expiresAtMs = s.nowMs() + ttlMs;
  const r = await s.inventory.ask(sku, { t: 'reserve', holdId, qty: body.value.qty, ttlMs, checkoutId: 'admin' });
  if (!r.ok) return errorResponse(r.code, r.code === 'OUT_OF_STOCK' ? { skus: [r.details] } : r.details);
  return { status: 201, body: { holdId, qty: body.value.qty, expiresAt: new Date(expiresAtMs).toISOString(), ...countsBody(r) } };
};

export const deleteHoldDoc: RouteDoc = {
  summary: 'Release a hold (idempotent)',
  admin: true,
  partitioned: true,
  responses: { 200: { description: 'Whether this call released it, and the counts', body: holdReleased } },
  errors: ['PRODUCT_NOT_FOUND', 'OVERLOADED'],
};

/** DELETE /api/inventory/:sku/holds/:holdId (admin) → 200 { released, …counts }; releasing twice is a no-op. */
export const deleteHold = (s: NodeServices): Handler => async (req) => {
  const sku = req.params['sku'];
  const holdId = req.params['holdId'];
  if (!validSku(sku) || !s.catalog.product(sku)) return errorResponse('PRODUCT_NOT_FOUND', { sku });
  if (!validId(holdId)) return { status: 200, body: { released: false, ...countsBody(s.inventory.view(sku) ?? { sku, onHand: 0, available: 0, held: 0, sold: 0 }) } };
  const r = await s.inventory.ask(sku, { t: 'release', holdId: asHoldId(holdId), reason: 'cancelled' });
  if (!r.ok) return errorResponse(r.code, r.details);
  return { status: 200, body: { released: r.changed, ...countsBody(r) } };
};
