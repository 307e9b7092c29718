import type { Handler, HttpResponse } from '../request.js';
import { errorResponse } from '../error-response.js';
import type { NodeServices } from '../services.js';
import { validId } from '../validation.js';
import type { Failure } from '../../errors.js';
import type { OrderView } from '../../actors/order-service.js';

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

/** POST /api/orders/:id/cancel (admin): voids or refunds, restocks and gives back promo usage. */
export const cancelOrder = (s: NodeServices): Handler => async (req) => {
  const id = req.params['id'];
  if (!validId(id)) return errorResponse('ORDER_NOT_FOUND', { orderId: req.params['id']?.slice(0, 80) });
  return answer(await s.orders.cancel(id));
};
