import { z } from 'zod';
import { clusterLimits, idempotencyKeyPattern, limits, membershipLimits, promoCodePattern, skuPattern } from '../config/limits.js';
import type { AcquireReason } from '../metrics/business-counters.js';

/**
 * Shapes of the cluster's own peer messages, checked before dispatch (every type is registered with its schema; a
 * message that does not match is answered MALFORMED_MESSAGE and runs nothing). Peers are authenticated; these catch
 * a bug or a version skew before it reaches an actor.
 */

const partitionNumber = z.number().int().min(0).max(clusterLimits.partitionsMax - 1);
const nodeId = z.string().regex(membershipLimits.nodeIdPattern);
const sku = z.string().regex(skuPattern);
const id = z.string().min(1).max(limits.idLengthMax);
const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
/** Hold ids are made from a checkout id and a SKU (`domain/ids.ts`). */
const holdId = z.string().min(1).max(limits.idLengthMax + limits.skuLengthMax + 8);

export const partitionsMessage = <T extends 'acquire' | 'release'>(t: T) =>
  z.object({ t: z.literal(t), partitions: z.array(partitionNumber).max(clusterLimits.partitionsMax) });

/**
 * An acquire says why (boxoffice_partition_acquisitions_total). Any short string is accepted, so a newer coordinator
 * sending a reason this build does not know still gets its partitions served (acquireReasonOf maps it to `unknown`);
 * a coordinator of an older build sends no reason (`unknown` too). The bound raises MALFORMED_MESSAGE.
 */
export const acquireMessage = partitionsMessage('acquire').extend({ reason: z.string().max(clusterLimits.acquireReasonLengthMax).optional() });

const acquireReasons: ReadonlySet<string> = new Set<AcquireReason>(['move', 'failover', 'retry', 'assign']);

/** The metric label of an acquire's reason: a reason this build knows, else `unknown` (none, or a newer one). */
export function acquireReasonOf(reason: string | undefined): AcquireReason {
  return reason !== undefined && acquireReasons.has(reason) ? (reason as AcquireReason) : 'unknown';
}

/** The coordinator asks a node which partitions it holds (served or in motion). */
export const servedMessage = z.object({ t: z.literal('served') });
export const servedReply = z.object({ partitions: z.array(partitionNumber).max(clusterLimits.partitionsMax) });

export const adminMessage = z.object({
  t: z.literal('admin'),
  op: z.discriminatedUnion('op', [
    z.object({ op: z.literal('move'), partition: partitionNumber, to: nodeId }),
    z.object({ op: z.literal('drain'), node: nodeId }),
    z.object({ op: z.literal('undrain'), node: nodeId }),
    z.object({ op: z.literal('rebalance') }),
    z.object({ op: z.literal('isolate'), sku }),
  ]),
});

export const inventoryCommand = z.discriminatedUnion('t', [
  z.object({ t: z.literal('setOnHand'), onHand: count }),
  z.object({ t: z.literal('reserve'), holdId, qty: count, ttlMs: count, checkoutId: id, checkoutKey: z.string().regex(idempotencyKeyPattern).optional() }),
  z.object({ t: z.literal('pin'), holdId }),
  z.object({ t: z.literal('commit'), holdId }),
  z.object({ t: z.literal('release'), holdId, reason: z.enum(['expired', 'payment_failed', 'compensated', 'cancelled']) }),
  z.object({ t: z.literal('expire'), holdIds: z.array(holdId).max(100_000) }),
  z.object({ t: z.literal('return'), orderId: id, qty: count }),
]);

export const inventoryMessage = z.object({ t: z.literal('inv'), sku, cmd: inventoryCommand });
export const cartMessage = z.object({ t: z.literal('cart.checkedOut'), cartId: id });
export const catalogMessage = z.object({ t: z.literal('catalog'), skus: z.array(sku).max(100_000) });
export const checkoutRunningMessage = z.object({ t: z.literal('checkout.running'), key: z.string().regex(idempotencyKeyPattern) });
export const soldOutMessage = z.object({ t: z.literal('soldout'), skus: z.array(sku).max(100_000) });

const promoCode = z.string().regex(promoCodePattern);
/** `cus:<customer id>` or `anon:<hash>` (customerKeyOf). */
const customerKey = z.string().min(1).max(limits.idLengthMax + 8);
const nullableCount = count.nullable();
export const promoMessage = z.union([
  z.object({ t: z.literal('promo'), op: z.literal('usage'), code: promoCode, customerKey }),
  z.object({
    t: z.literal('promo'),
    op: z.literal('reserve'),
    customerKey,
    promo: z.object({
      code: promoCode,
      kind: z.enum(['percentage', 'fixed', 'free_shipping']),
      percentBps: nullableCount,
      amountMinor: nullableCount,
      currency: z.string().length(3).nullable(),
      minSubtotalMinor: count,
      startsAtMs: nullableCount,
      endsAtMs: nullableCount,
      usageLimitTotal: nullableCount,
      usageLimitPerCustomer: nullableCount,
    }),
  }),
  z.object({ t: z.literal('promo'), op: z.enum(['release', 'force']), code: promoCode, customerKey }),
]);
