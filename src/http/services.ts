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
    /** CHECKOUTS_IN_FLIGHT_MAX: past this many checkouts in flight, new ones answer 429 OVERLOADED with Retry-After. */
    inFlightMax: number;
  };
  orders: OrderService;
  promos: PromoUses;
  taxRates: TaxRate[];
  shippingTable: ShippingTable;
  /** The metrics in the format the scraper's Accept header asks for: OpenMetrics (with exemplars) or the classic text. */
  metrics: (accept?: string) => Promise<{ contentType: string; body: string }>;
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
  cluster: {
    status(): Promise<unknown>;
    partitions(node: string | null): Promise<unknown>;
    /** Runs on the coordinator; rejects with AdminError. */
    admin(op: AdminOp): Promise<unknown>;
  };
}
