import { z } from 'zod/v4';

/**
 * The bodies routes answer with, as zod schemas used only to write the OpenAPI document (GET /openapi.json). Objects
 * are closed (a field the server adds but this file does not name fails the contract tests, which validate every
 * response of the HTTP tests against the document), so a new field is documented here or the tests say so.
 */
// Counts, money in minor units, epochs and instants in ms are never negative.
const int = z.number().int().min(0);
const instant = z.string().describe('ISO 8601 instant in UTC');

export const productView = z.object({ sku: z.string(), name: z.string(), priceMinor: int, currency: z.string(), weightGrams: int, taxCategory: z.string() });

const countsShape = { sku: z.string(), onHand: int, available: int, held: int, sold: int };
export const inventoryCounts = z.object(countsShape);
export const holdCreated = z.object({ holdId: z.string(), qty: int, expiresAt: instant, ...countsShape });
export const holdReleased = z.object({ released: z.boolean().describe('false when the hold had already ended'), ...countsShape });

export const catalogImported = z.object({
  upserted: int,
  stocked: int,
  refused: z.array(z.looseObject({ sku: z.string(), code: z.string() })),
});

export const promotionView = z.object({
  code: z.string(),
  kind: z.enum(['percentage', 'fixed', 'free_shipping']),
  percentBps: int.nullable(),
  amountMinor: int.nullable(),
  currency: z.string().nullable(),
  minSubtotalMinor: int,
  startsAtMs: int.nullable(),
  endsAtMs: int.nullable(),
  startsAt: instant.nullable(),
  endsAt: instant.nullable(),
  usageLimitTotal: int.nullable(),
  usageLimitPerCustomer: int.nullable(),
});

export const cartView = z.object({
  cartId: z.string(),
  status: z.enum(['open', 'checked_out']),
  currency: z.string().nullable(),
  promoCode: z.string().nullable(),
  promoError: z.string().optional().describe('the code of the reason the cart promo code no longer applies'),
  lines: z.array(z.object({ sku: z.string(), name: z.string(), qty: int, unitPriceMinor: int, subtotalMinor: int, discountMinor: int })),
  totals: z.object({ currency: z.string().nullable(), subtotalMinor: int, discountMinor: int, totalMinor: int }),
  expiresAt: instant,
});

const orderTotals = z.object({ currency: z.string(), subtotalMinor: int, discountMinor: int, shippingMinor: int, taxMinor: int, totalMinor: int });

export const checkoutConfirmed = z.object({ orderId: z.string(), status: z.literal('confirmed'), totals: orderTotals });
export const checkoutPending = z.object({
  orderId: z.string(),
  status: z.literal('pending'),
  nextAction: z.object({ type: z.literal('use_stripe_sdk'), clientSecret: z.string() }).optional(),
});

export const orderView = z.object({
  orderId: z.string(),
  status: z.enum(['pending', 'confirmed', 'shipped', 'cancelled', 'failed']),
  lines: z.array(z.object({ sku: z.string(), qty: int, unitPriceMinor: int, discountMinor: int, taxMinor: int, totalMinor: int })),
  totals: orderTotals,
  payment: z.object({ status: z.enum(['pending', 'authorized', 'captured', 'voided', 'refunded', 'failed']), capturedMinor: int, refundedMinor: int }),
  createdAt: instant,
});

export const webhookReceived = z.object({
  received: z.literal(true),
  eventId: z.string(),
  outcome: z.enum(['handled', 'ignored', 'unknown', 'duplicate', 'discrepancy']),
});

export const clusterStatus = z.object({
  nodeId: z.string(),
  mode: z.enum(['single', 'cluster']),
  partitions: int,
  coordinator: z.string().nullable(),
  routesVersion: int,
  unowned: int,
  members: z.array(
    z.object({ nodeId: z.string(), host: z.string(), port: int, startedAt: int, partitions: int, drained: z.boolean(), isolated: z.array(int) }),
  ),
});

export const partitionList = z.object({
  partitions: z.array(z.object({ partition: int, nodeId: z.string(), epoch: int, pinned: z.boolean(), isolated: z.boolean() })),
});

export const partitionMoved = z.object({ partition: int, from: z.string().nullable(), to: z.string(), epoch: int, pauseMs: int });
export const nodeDrained = z.object({ nodeId: z.string(), moved: int, pauseMsMax: int });
export const rebalanced = z.object({ moved: int, pauseMsMax: int });
export const skuIsolated = z.object({ sku: z.string(), partition: int, nodeId: z.string(), moved: int, pauseMsMax: int });

/** GET /openapi.json answers an OpenAPI 3.1 document; its own schema names only the top. */
export const webhookEndpointView = z.object({ id: z.string(), url: z.string(), events: z.array(z.string()), createdAt: instant });
export const webhookEndpointCreated = z.object({
  id: z.string(),
  url: z.string(),
  events: z.array(z.string()),
  createdAt: instant,
  secret: z.string().describe('the HMAC key of Boxoffice-Signature; shown in this answer only'),
});
export const webhookEndpointList = z.array(webhookEndpointView);
export const dropView = z.object({
  sku: z.string(),
  startsAt: instant,
  state: z.enum(['scheduled', 'open', 'sold_out']),
  queued: int,
  admitted: int,
  sold: int,
  remaining: int,
  shuffleSeed: z.string().nullable().describe('null until the start; with the joiners it recomputes the order (docs/drops.md)'),
});
export const dropSettings = dropView.extend({ perCustomerLimit: int, admissionTtlMs: int });
export const ticketJoined = z.object({ ticket: z.string(), position: int.nullable().describe('null until the start') });
export const ticketView = z.object({
  ticket: z.string(),
  state: z.enum(['waiting', 'admitted', 'expired', 'sold_out']),
  position: int.nullable(),
  admissionToken: z.string().optional().describe('only while admitted: send it as the Admission-Token header of the checkout'),
  expiresAt: instant.nullable(),
});
export const openApiView = z.looseObject({ openapi: z.literal('3.1.0'), info: z.looseObject({ title: z.string(), version: z.string() }), paths: z.record(z.string(), z.unknown()) });
