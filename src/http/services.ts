import type { CartService } from '../actors/cart-service.js';
import type { Catalog } from '../actors/catalog.js';
import type { CheckoutReply } from '../actors/checkout-actor.js';
import type { DropService } from '../actors/drop-service.js';
import type { CheckoutRequest } from '../domain/checkout.js';
import type { OrderService } from '../actors/order-service.js';
import type { PaymentWebhooks } from '../actors/payment-webhooks.js';
import type { PromoUses } from '../actors/promo-ledger.js';
import type { InventoryCommand, InventoryReply, InventoryView } from '../domain/inventory.js';
import type { ShippingTable } from '../domain/shipping.js';
import type { TaxRate } from '../domain/tax.js';
import type { AdminOp } from '../actors/topology.js';
import type { WebhookEndpoints } from '../events/webhook-endpoints.js';
import type { HttpRequest, HttpResponse } from './request.js';
import type { DashboardFeed } from '../dashboard/dashboard-feed.js';
import type { HotSku } from '../metrics/hot-skus.js';

/** What the routes need of a running node; routes are plain functions over this (testable without sockets). */
export interface NodeServices {
  adminToken: string;
  nowMs: () => number;
  ready: () => boolean;
  catalog: Catalog;
  inventory: {
    view(sku: string): InventoryView | undefined;
    setOnHand(sku: string, onHand: number): Promise<InventoryReply>;
    /** Any command to a SKU actor (admin holds use reserve and release). */
    ask(sku: string, cmd: InventoryCommand): Promise<InventoryReply>;
    /** HOLD_TTL_MS: the default TTL of a hold. */
    holdTtlMs: number;
  };
  carts: CartService;
  checkout: {
    /** Answers synchronously when the answer comes from memory (sold out, replays), so no promise is made for it. */
    submit(key: string, fingerprint: string, request: CheckoutRequest): CheckoutReply | Promise<CheckoutReply>;
    inFlight(): number;
    /** Told every answer the checkout route gives on this node (boxoffice_checkouts_total); absent: not counted. */
    answered?(response: HttpResponse): void;
    /** CHECKOUTS_IN_FLIGHT_MAX: past this many checkouts in flight, new ones answer 429 OVERLOADED with Retry-After. */
    inFlightMax: number;
  };
  orders: OrderService;
  promos: PromoUses;
  taxRates: TaxRate[];
  shippingTable: ShippingTable;
  /** The metrics in the format the scraper's Accept header asks for: OpenMetrics (with exemplars) or the classic text. */
  metrics: (accept?: string) => Promise<{ contentType: string; body: string }>;
  /** This node's top SKUs by checkout attempts over the last minute, busiest first (docs/metrics.md); absent in handler tests. */
  hotSkus?: () => HotSku[];
  /** Outgoing webhook endpoints (`/api/admin/webhooks`, docs/events.md). */
  webhookEndpoints: WebhookEndpoints;
  /** Provider webhooks (PAYMENT_PROVIDER=stripe); null otherwise. */
  webhooks: PaymentWebhooks | null;
  /**
   * Where a request for `entity` runs: null serves it here (synchronously decided when this node serves the
   * entity's partition); otherwise the owner's response (forwarded), or null once a move brought it here.
   */
  placement: (entity: string, req: HttpRequest) => Promise<HttpResponse | null> | null;
  /** Drops and their waiting rooms (docs/drops.md); absent where a node is built without them. */
  drops?: DropService;
  /** The operator dashboard's data (docs/dashboard.md): the shared snapshot and its event stream. */
  dashboard: { snapshot(): Promise<unknown>; feed: DashboardFeed };
  cluster: {
    status(): Promise<unknown>;
    partitions(node: string | null): Promise<unknown>;
    /** Runs on the coordinator; rejects with AdminError. */
    admin(op: AdminOp): Promise<unknown>;
  };
}
