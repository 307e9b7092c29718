import type { Handler, HttpResponse } from '../request.js';
import { errorResponse } from '../error-response.js';
import type { NodeServices } from '../services.js';
import { z } from 'zod/v4';
import { parseBody, validId } from '../validation.js';
import type { Failure } from '../../errors.js';
import type { OrderView } from '../../actors/order-service.js';
import type { RouteDoc } from '../openapi/route-doc.js';
import { orderView } from '../openapi/response-schemas.js';

const orderAnswer = { 200: { description: 'The order', body: orderView } };

export const getOrderDoc: RouteDoc = { summary: 'An order', responses: orderAnswer, errors: ['ORDER_NOT_FOUND'] };

export const shipOrderDoc: RouteDoc = {
  summary: 'Capture the payment and mark a confirmed order shipped (repeating it is a no-op)',
  admin: true,
  partitioned: true,
  responses: orderAnswer,
  errors: ['ORDER_NOT_FOUND', 'ORDER_STATE_CONFLICT', 'PAYMENT_PROVIDER_ERROR'],
};

const answer = (r: { ok: true; order: OrderView } | Failure): HttpResponse => (r.ok ? { status: 200, body: r.order } : errorResponse(r.code, r.details));

/** GET /api/orders/:id → { orderId, status, lines, totals, payment: { status }, createdAt }. */
export const getOrder = (s: NodeServices): Handler => async (req) => {
  const id = req.params['id'];
  if (!validId(id)) return errorResponse('ORDER_NOT_FOUND', { orderId: req.params['id']?.slice(0, 80) });
  return answer(await s.orders.get(id));
};

/** POST /api/orders/:id/ship (admin): captures the payment; repeating it on a shipped order is a no-op. */
export const shipOrder = (s: NodeServices): Handler => async (req) => {
  const id = req.params['id'];
  if (!validId(id)) return errorResponse('ORDER_NOT_FOUND', { orderId: req.params['id']?.slice(0, 80) });
  return answer(await s.orders.ship(id));
};

const cancelBody = z.object({ restock: z.boolean().optional() }).strict();
const refundBody = z.object({ amountMinor: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).optional() }).strict();

export const cancelOrderDoc: RouteDoc = {
  summary: 'Cancel a confirmed order (void) or a shipped one (refund; restock only with restock: true)',
  admin: true,
  partitioned: true,
  body: cancelBody,
  bodyOptional: true,
  responses: orderAnswer,
  errors: ['VALIDATION_FAILED', 'ORDER_NOT_FOUND', 'ORDER_STATE_CONFLICT', 'PAYMENT_PROVIDER_ERROR'],
};

export const refundOrderDoc: RouteDoc = {
  summary: "Refund part or all of a shipped order's capture",
  admin: true,
  partitioned: true,
  body: refundBody,
  bodyOptional: true,
  responses: orderAnswer,
  errors: ['VALIDATION_FAILED', 'ORDER_NOT_FOUND', 'ORDER_STATE_CONFLICT', 'REFUND_EXCEEDS_CAPTURED', 'PAYMENT_PROVIDER_ERROR'],
};

/**
 * POST /api/orders/:id/cancel (admin), body optional `{ restock? }`: voids a confirmed order (its stock comes back)
 * or refunds a shipped one (its stock comes back only with `restock: true`, when the goods came back); gives back
 * promo usage.
 */
export const cancelOrder = (s: NodeServices): Handler => async (req) => {
  const id = req.params['id'];
  if (!validId(id)) return errorResponse('ORDER_NOT_FOUND', { orderId: req.params['id']?.slice(0, 80) });
  const body = req.body === undefined ? { ok: true as const, value: {} } : parseBody(cancelBody, req.body);
  if (!body.ok) return body.response;
  return answer(await s.orders.cancel(id, { restock: body.value.restock === true }));
};

/** POST /api/orders/:id/refund (admin), body optional `{ amountMinor? }` (absent: all that is left of the capture). */
export const refundOrder = (s: NodeServices): Handler => async (req) => {
  const id = req.params['id'];
  if (!validId(id)) return errorResponse('ORDER_NOT_FOUND', { orderId: req.params['id']?.slice(0, 80) });
  const body = req.body === undefined ? { ok: true as const, value: {} } : parseBody(refundBody, req.body);
  if (!body.ok) return body.response;
  return answer(await s.orders.refund(id, body.value.amountMinor ?? null));
};
