import type { CheckoutReply } from '../actors/checkout-actor.js';
import type { OrderService } from '../actors/order-service.js';
import type { PaymentWebhooks } from '../actors/payment-webhooks.js';
import type { Topology } from '../actors/topology.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config/config.js';
import type { CheckoutRequest } from '../domain/checkout.js';
import { checkoutStatusOf, refused } from '../domain/checkout-result.js';
import { checkoutPartition } from '../domain/entities.js';
import { defaultShippingTable } from '../domain/shipping.js';
import { defaultTaxRates } from '../domain/tax.js';
import type { HttpPlacement } from '../edge/http-forwarding.js';
import type { NodeServices } from '../http/services.js';
import type { WebhookEndpoints } from '../events/webhook-endpoints.js';
import type { Metrics } from '../metrics.js';
import { errorCodeOf } from '../metrics/checkout-outcomes.js';
import { openMetricsContentType, openMetricsText, wantsOpenMetrics } from '../telemetry/openmetrics.js';
import { captureContext, traceExemplar, tracingOff, type Tracing } from '../telemetry/tracing.js';
import type { NodeCore } from './node-core.js';

export interface NodeServicesOptions {
  config: Config;
  core: NodeCore;
  topology: Topology;
  orders: OrderService;
  metrics: Metrics;
  clock: Clock;
  partitions: number;
  placement: HttpPlacement;
  ready: () => boolean;
  webhooks: PaymentWebhooks | null;
  webhookEndpoints: WebhookEndpoints;
  /** Default: off. */
  tracing?: Tracing;
}

/** What the routes see of this node (src/http/services.ts): plain functions over the core and the topology. */
export function nodeServices(o: NodeServicesOptions): Omit<NodeServices, 'dashboard'> {
  const { config, core, topology, metrics, clock } = o;
  return {
    adminToken: config.adminToken,
    nowMs: () => clock.now(),
    ready: o.ready,
    catalog: core.catalog,
    inventory: {
      view: (sku) => core.inventory.view(sku),
      setOnHand: (sku, onHand) => topology.inventory(sku).ask({ t: 'setOnHand', onHand }),
      ask: (sku, cmd) => topology.inventory(sku).ask(cmd),
      holdTtlMs: config.holdTtlMs,
    },
    carts: core.carts,
    checkout: checkoutEntry(core, o.partitions, metrics, config.checkoutsInFlightMax, o.tracing ?? tracingOff),
    orders: o.orders,
    promos: topology.promos,
    taxRates: defaultTaxRates,
    shippingTable: defaultShippingTable,
    placement: o.placement,
    cluster: {
      status: () => topology.status(),
      partitions: (node) => topology.partitions(node),
      admin: (op) => topology.admin(op),
    },
    metrics: async (accept) =>
      wantsOpenMetrics(accept)
        ? { contentType: openMetricsContentType, body: await openMetricsText(metrics.registry) }
        : { contentType: metrics.registry.contentType, body: await metrics.registry.metrics() },
    hotSkus: () => metrics.hotSkus.top(),
    webhooks: o.webhooks,
    webhookEndpoints: o.webhookEndpoints,
  };
}

/**
 * Checkouts enter their key's checkout actor here: answers from memory (sold out, replays) synchronously, the rest
 * through the mailbox, counted while in flight (the 429 bound) and by status when answered. Each line's SKU counts as
 * an attempt for the hot-SKU gauges if the catalog knows it (a map lookup: a made-up SKU names no series); a cart's
 * lines count when the checkout reads the cart (src/node/checkout-actors.ts).
 */
function checkoutEntry(core: Pick<NodeCore, 'host' | 'catalog'>, partitions: number, metrics: Metrics, inFlightMax: number, tracing: Tracing): NodeServices['checkout'] {
  const { host, catalog } = core;
  let inFlight = 0;
  const counted = (reply: CheckoutReply, path: 'edge' | 'actor'): CheckoutReply => {
    const r = reply.result;
    metrics.countCheckoutResponse(checkoutStatusOf(r), reply.replayed);
    if (!reply.replayed && r.t === 'rejected' && r.code === 'OUT_OF_STOCK') metrics.checkouts.soldOut(path);
    return reply;
  };
  return {
    inFlight: () => inFlight,
    inFlightMax,
    answered: (response) => {
      if (response.headers?.['idempotent-replayed'] !== 'true') metrics.checkouts.count(response.status, errorCodeOf(response.body));
    },
    submit(key: string, fingerprint: string, request: CheckoutRequest) {
      const partition = checkoutPartition(key, partitions);
      const actor = host.checkoutActor(partition);
      // Placement forwards checkouts of partitions served elsewhere; this is the gap of a move that just began.
      if (actor === undefined) return { result: refused('PARTITION_UNAVAILABLE', { partition }), replayed: false };
      if (request.items) for (const line of request.items) if (catalog.product(line.sku)) metrics.hotSkus.count(line.sku);
      const fast = actor.answerFromMemory(key, fingerprint, request);
      if (fast) return counted(fast, 'edge');
      inFlight++;
      // The request's span goes with the checkout through the actor's mailbox, which does not carry it (NACT.md).
      request.traceContext = captureContext(tracing);
      const end = metrics.checkoutSeconds.startTimer(undefined, traceExemplar(tracing));
      return actor.submit(key, fingerprint, request).then(
        (reply) => {
          inFlight--;
          end();
          return counted(reply, 'actor');
        },
        (err: unknown) => {
          inFlight--;
          end();
          throw err;
        },
      );
    },
  };
}
