import { limits } from '../../config/limits.js';
import type { Handler, HttpRequest, HttpResponse } from '../request.js';
import { Router } from '../router.js';
import { errorResponse } from '../error-response.js';
import type { NodeServices } from '../services.js';
import { adminGuard } from '../auth.js';
import { getInventory, getProduct, postPromotion, putInventory, putProduct } from './catalog-routes.js';
import { deleteHold, postCatalog, postHold } from './admin-routes.js';
import { getCart, patchCartItem, postCartItem, postCartPromo } from './cart-routes.js';
import { postCheckout } from './checkout-routes.js';
import { cancelOrder, getOrder, shipOrder } from './order-routes.js';

/** Every route of the public API (docs/API.md lists them with their codes). */
export function buildRouter(s: NodeServices): Router {
  const guard = adminGuard(s.adminToken);
  const admin = (h: Handler): Handler => (req) => guard(req) ?? h(req);
  return new Router()
    .add('GET', '/healthz', () => ({ status: 200, body: { status: 'ok' } }))
    .add('GET', '/readyz', () => (s.ready() ? { status: 200, body: { ready: true } } : errorResponse('NOT_READY')))
    .add('GET', '/metrics', async () => {
      const m = await s.metrics();
      return { status: 200, body: m.body, headers: { 'content-type': m.contentType } };
    })
    .add('PUT', '/api/products/:sku', admin(putProduct(s)))
    .add('GET', '/api/products/:sku', getProduct(s))
    .add('PUT', '/api/inventory/:sku', admin(putInventory(s)))
    .add('GET', '/api/inventory/:sku', getInventory(s))
    .add('POST', '/api/promotions', admin(postPromotion(s)))
    .add('POST', '/api/admin/catalog', admin(postCatalog(s)), { bodyBytesMax: limits.bulkBodyBytesMax })
    .add('POST', '/api/inventory/:sku/holds', admin(postHold(s)))
    .add('DELETE', '/api/inventory/:sku/holds/:holdId', admin(deleteHold(s)))
    .add('POST', '/api/cart/items', postCartItem(s))
    .add('PATCH', '/api/cart/items', patchCartItem(s))
    .add('GET', '/api/carts/:cartId', getCart(s))
    .add('POST', '/api/carts/:cartId/promo', postCartPromo(s))
    .add('POST', '/api/checkout', postCheckout(s))
    .add('GET', '/api/orders/:id', getOrder(s))
    .add('POST', '/api/orders/:id/ship', admin(shipOrder(s)))
    .add('POST', '/api/orders/:id/cancel', admin(cancelOrder(s)));
}

/** Until recovery finishes, only health, readiness and metrics answer; everything else is 503 NOT_READY. */
export function readinessGate(s: NodeServices): (req: HttpRequest) => HttpResponse | null {
  return (req) => {
    if (s.ready() || req.path === '/healthz' || req.path === '/readyz' || req.path === '/metrics') return null;
    return errorResponse('NOT_READY', undefined, { 'retry-after': '1' });
  };
}
