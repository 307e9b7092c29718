import { limits } from '../../config/limits.js';
import { isPlacementAnswer, type Handler, type HttpRequest, type HttpResponse } from '../request.js';
import { Router } from '../router.js';
import { errorResponse } from '../error-response.js';
import type { NodeServices } from '../services.js';
import { adminGuard } from '../auth.js';
import * as catalog from './catalog-routes.js';
import * as stock from './admin-routes.js';
import * as cart from './cart-routes.js';
import { countedCheckout, postCheckout, postCheckoutDoc } from './checkout-routes.js';
import * as order from './order-routes.js';
import { postStripeWebhook, postStripeWebhookDoc } from './webhook-routes.js';
import * as cluster from './cluster-routes.js';
import * as hooks from './event-webhook-routes.js';
import { dropGate, noDropsInCarts } from './drop-gate.js';
import * as drop from './drop-routes.js';
import * as dashboard from './dashboard-routes.js';
import { healthzDoc, metricsDoc, readyzDoc } from './probe-docs.js';
import { openApiDoc, serveOpenApi } from '../openapi/openapi-route.js';
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
  // `counted` hears the answers placement made on this node (the owner unreachable or moving): the owner never saw
  // those requests, so the entry node counts them; an answer relayed from the owner is the owner's to count.
  const at = (entityOf: EntityOf, h: Handler, counted?: (res: HttpResponse) => void): Handler => (req) => {
    const entity = entityOf(req);
    if (entity === null) return h(req);
    const placed = s.placement(entity, req);
    if (placed === null) return h(req);
    return placed.then((res) => {
      if (res === null) return h(req);
      if (counted !== undefined && isPlacementAnswer(res)) counted(res);
      return res;
    });
  };
  // Read per request: routers built for handler tests may have no checkout service at all.
  const checkoutAnswered = (res: HttpResponse) => (s.checkout as NodeServices['checkout'] | undefined)?.answered?.(res);
  // Each route's `doc` is its entry in GET /openapi.json (docs/openapi.md); a route without one fails the tests.
  const router = new Router();
  return router
    .add('GET', '/healthz', () => ({ status: 200, body: { status: 'ok' } }), { doc: healthzDoc })
    .add('GET', '/readyz', () => (s.ready() ? { status: 200, body: { ready: true } } : errorResponse('NOT_READY')), { doc: readyzDoc })
    .add('GET', '/metrics', async (req) => {
      const m = await s.metrics(req.headers['accept']);
      return { status: 200, body: m.body, headers: { 'content-type': m.contentType } };
    }, { doc: metricsDoc })
    .add('GET', '/openapi.json', serveOpenApi(router), { doc: openApiDoc })
    .add('PUT', '/api/products/:sku', admin(at(bySku, catalog.putProduct(s))), { doc: catalog.putProductDoc })
    .add('GET', '/api/products/:sku', at(bySku, catalog.getProduct(s)), { doc: catalog.getProductDoc })
    .add('PUT', '/api/inventory/:sku', admin(at(bySku, catalog.putInventory(s))), { doc: catalog.putInventoryDoc })
    .add('GET', '/api/inventory/:sku', at(bySku, catalog.getInventory(s)), { doc: catalog.getInventoryDoc })
    .add('POST', '/api/promotions', admin(catalog.postPromotion(s)), { doc: catalog.postPromotionDoc })
    .add('POST', '/api/admin/catalog', admin(stock.postCatalog(s)), { bodyBytesMax: limits.bulkBodyBytesMax, doc: stock.postCatalogDoc })
    .add('POST', '/api/inventory/:sku/holds', admin(at(bySku, stock.postHold(s))), { doc: stock.postHoldDoc })
    .add('DELETE', '/api/inventory/:sku/holds/:holdId', admin(at(bySku, stock.deleteHold(s))), { doc: stock.deleteHoldDoc })
    .add('POST', '/api/cart/items', at(byCartBody, noDropsInCarts(s, cart.postCartItem(s))), { doc: cart.postCartItemDoc })
    .add('PATCH', '/api/cart/items', at(byCartBody, noDropsInCarts(s, cart.patchCartItem(s))), { doc: cart.patchCartItemDoc })
    .add('GET', '/api/carts/:cartId', at(byCartParam, cart.getCart(s)), { doc: cart.getCartDoc })
    .add('POST', '/api/carts/:cartId/promo', at(byCartParam, cart.postCartPromo(s)), { doc: cart.postCartPromoDoc })
    .add('POST', '/api/checkout', at(byIdempotencyKey, countedCheckout(s, dropGate(s, postCheckout(s))), checkoutAnswered), { doc: postCheckoutDoc })
    .add('PUT', '/api/drops/:sku', admin(at(bySku, drop.putDrop(s))), { doc: drop.putDropDoc })
    .add('GET', '/api/drops/:sku', at(bySku, drop.getDrop(s)), { doc: drop.getDropDoc })
    .add('POST', '/api/drops/:sku/queue', at(bySku, drop.postQueue(s)), { doc: drop.postQueueDoc })
    .add('GET', '/api/drops/:sku/queue/:ticket', at(bySku, drop.getTicket(s)), { doc: drop.getTicketDoc })
    .add('GET', '/api/orders/:id', order.getOrder(s), { doc: order.getOrderDoc })
    .add('POST', '/api/orders/:id/ship', admin(at(byOrder, order.shipOrder(s))), { doc: order.shipOrderDoc })
    .add('POST', '/api/orders/:id/cancel', admin(at(byOrder, order.cancelOrder(s))), { doc: order.cancelOrderDoc })
    .add('POST', '/api/orders/:id/refund', admin(at(byOrder, order.refundOrder(s))), { doc: order.refundOrderDoc })
    .add('POST', '/api/webhooks/stripe', postStripeWebhook(s), { keepRawBody: true, bodyRequired: true, doc: postStripeWebhookDoc })
    .add('GET', '/api/admin/cluster', admin(cluster.getCluster(s)), { doc: cluster.getClusterDoc })
    .add('GET', '/api/admin/partitions', admin(cluster.getPartitions(s)), { doc: cluster.getPartitionsDoc })
    .add('POST', '/api/admin/partitions/:partition/move', admin(cluster.postMove(s)), { doc: cluster.postMoveDoc })
    .add('POST', '/api/admin/nodes/:nodeId/drain', admin(cluster.postDrain(s, true)), { doc: cluster.postDrainDoc(true) })
    .add('POST', '/api/admin/nodes/:nodeId/undrain', admin(cluster.postDrain(s, false)), { doc: cluster.postDrainDoc(false) })
    .add('POST', '/api/admin/rebalance', admin(cluster.postRebalance(s)), { doc: cluster.postRebalanceDoc })
    .add('POST', '/api/admin/isolate', admin(cluster.postIsolate(s)), { doc: cluster.postIsolateDoc })
    .add('POST', '/api/admin/webhooks', admin(hooks.postWebhookEndpoint(s)), { doc: hooks.postWebhookEndpointDoc })
    .add('GET', '/api/admin/webhooks', admin(hooks.listWebhookEndpoints(s)), { doc: hooks.listWebhookEndpointsDoc })
    .add('GET', '/api/admin/webhooks/:id', admin(hooks.getWebhookEndpoint(s)), { doc: hooks.getWebhookEndpointDoc })
    .add('DELETE', '/api/admin/webhooks/:id', admin(hooks.deleteWebhookEndpoint(s)), { doc: hooks.deleteWebhookEndpointDoc })
    .add('GET', '/dashboard', dashboard.getPage, { doc: dashboard.getPageDoc })
    .add('GET', '/dashboard/app.js', dashboard.getScript, { doc: dashboard.getScriptDoc })
    .add('GET', '/dashboard/app.css', dashboard.getStyle, { doc: dashboard.getStyleDoc })
    .add('GET', '/api/admin/dashboard', admin(dashboard.getSnapshot(s)), { doc: dashboard.getSnapshotDoc })
    .add('GET', '/api/admin/dashboard/stream', admin(dashboard.getStream(s)), { doc: dashboard.getStreamDoc });
}

/** Routes answered while the node recovers (their docs say `whileRecovering`; test/unit/http/openapi.test.ts checks). */
const servedWhileRecovering = new Set(['/healthz', '/readyz', '/metrics', '/openapi.json', '/dashboard', '/dashboard/app.js', '/dashboard/app.css']);

/**
 * Until recovery finishes, only health, readiness, metrics, the contract and the dashboard page (not its data) answer;
 * everything else is 503 NOT_READY.
 */
export function readinessGate(s: NodeServices): (req: HttpRequest) => HttpResponse | null {
  return (req) => {
    if (s.ready() || servedWhileRecovering.has(req.path)) return null;
    return errorResponse('NOT_READY', undefined, { 'retry-after': '1' });
  };
}
