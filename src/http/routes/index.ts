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
import { dropGate, noDropsInCarts } from './drop-gate.js';
import { getDrop, getTicket, postQueue, putDrop } from './drop-routes.js';
import { cancelOrder, getOrder, refundOrder, shipOrder } from './order-routes.js';
import { postStripeWebhook } from './webhook-routes.js';
import { getCluster, getPartitions, postDrain, postIsolate, postMove, postRebalance } from './cluster-routes.js';
import { cartEntity, checkoutEntity, orderEntity, skuEntity } from '../../domain/entities.js';

/** The entity a request is about (its partition's owner serves it), or null for "any node". */
type EntityOf = (req: HttpRequest) => string | null;

const bySku: EntityOf = (req) => (req.params['sku'] ? skuEntity(req.params['sku']) : null);
const byCartParam: EntityOf = (req) => (req.params['cartId'] ? cartEntity(req.params['cartId']) : null);
const byCartBody: EntityOf = (req) => {
  const id = (req.body as { cartId?: unknown } | undefined)?.cartId;
  return typeof id === 'string' && id !== '' ? cartEntity(id) : null;
};
const byIdempotencyKey: EntityOf = (req) => (req.headers['idempotency-key'] ? checkoutEntity(req.headers['idempotency-key']) : null);
const byOrder: EntityOf = (req) => (req.params['id'] ? orderEntity(req.params['id']) : null);

/** Every route of the public API (docs/API.md lists them with their codes). */
export function buildRouter(s: NodeServices): Router {
  const guard = adminGuard(s.adminToken);
  const admin = (h: Handler): Handler => (req) => guard(req) ?? h(req);
  // In a cluster, a request about an entity served by another node runs there (forwarded whole); on one node, and
  // for entities served here, the handler runs directly.
  const at = (entityOf: EntityOf, h: Handler): Handler => (req) => {
    const entity = entityOf(req);
    if (entity === null) return h(req);
    const placed = s.placement(entity, req);
    return placed === null ? h(req) : placed.then((res) => res ?? h(req));
  };
  return new Router()
    .add('GET', '/healthz', () => ({ status: 200, body: { status: 'ok' } }))
    .add('GET', '/readyz', () => (s.ready() ? { status: 200, body: { ready: true } } : errorResponse('NOT_READY')))
    .add('GET', '/metrics', async () => {
      const m = await s.metrics();
      return { status: 200, body: m.body, headers: { 'content-type': m.contentType } };
    })
    .add('PUT', '/api/products/:sku', admin(at(bySku, putProduct(s))))
    .add('GET', '/api/products/:sku', at(bySku, getProduct(s)))
    .add('PUT', '/api/inventory/:sku', admin(at(bySku, putInventory(s))))
    .add('GET', '/api/inventory/:sku', at(bySku, getInventory(s)))
    .add('POST', '/api/promotions', admin(postPromotion(s)))
    .add('POST', '/api/admin/catalog', admin(postCatalog(s)), { bodyBytesMax: limits.bulkBodyBytesMax })
    .add('POST', '/api/inventory/:sku/holds', admin(at(bySku, postHold(s))))
    .add('DELETE', '/api/inventory/:sku/holds/:holdId', admin(at(bySku, deleteHold(s))))
    .add('POST', '/api/cart/items', at(byCartBody, noDropsInCarts(s, postCartItem(s))))
    .add('PATCH', '/api/cart/items', at(byCartBody, noDropsInCarts(s, patchCartItem(s))))
    .add('GET', '/api/carts/:cartId', at(byCartParam, getCart(s)))
    .add('POST', '/api/carts/:cartId/promo', at(byCartParam, postCartPromo(s)))
    .add('POST', '/api/checkout', at(byIdempotencyKey, dropGate(s, postCheckout(s))))
    .add('PUT', '/api/drops/:sku', admin(at(bySku, putDrop(s))))
    .add('GET', '/api/drops/:sku', at(bySku, getDrop(s)))
    .add('POST', '/api/drops/:sku/queue', at(bySku, postQueue(s)))
    .add('GET', '/api/drops/:sku/queue/:ticket', at(bySku, getTicket(s)))
    .add('GET', '/api/orders/:id', getOrder(s))
    .add('POST', '/api/orders/:id/ship', admin(at(byOrder, shipOrder(s))))
    .add('POST', '/api/orders/:id/cancel', admin(at(byOrder, cancelOrder(s))))
    .add('POST', '/api/orders/:id/refund', admin(at(byOrder, refundOrder(s))))
    .add('POST', '/api/webhooks/stripe', postStripeWebhook(s), { keepRawBody: true, bodyRequired: true })
    .add('GET', '/api/admin/cluster', admin(getCluster(s)))
    .add('GET', '/api/admin/partitions', admin(getPartitions(s)))
    .add('POST', '/api/admin/partitions/:partition/move', admin(postMove(s)))
    .add('POST', '/api/admin/nodes/:nodeId/drain', admin(postDrain(s, true)))
    .add('POST', '/api/admin/nodes/:nodeId/undrain', admin(postDrain(s, false)))
    .add('POST', '/api/admin/rebalance', admin(postRebalance(s)))
    .add('POST', '/api/admin/isolate', admin(postIsolate(s)));
}

/** Until recovery finishes, only health, readiness and metrics answer; everything else is 503 NOT_READY. */
export function readinessGate(s: NodeServices): (req: HttpRequest) => HttpResponse | null {
  return (req) => {
    if (s.ready() || req.path === '/healthz' || req.path === '/readyz' || req.path === '/metrics') return null;
    return errorResponse('NOT_READY', undefined, { 'retry-after': '1' });
  };
}
