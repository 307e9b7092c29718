/**
 * The events an order's life sends out (issue 12, "Events out"): written to the outbox in the same transaction as
 * the change they describe, relayed at least once and in order per order. A consumer deduplicates by `id` and
 * orders by `sequence` (1, 2, 3, … per order, without gaps).
 */
export const orderEventTypes = [
  'order.confirmed',
  'order.pending',
  'order.failed',
  'order.shipped',
  'order.cancelled',
  'payment.captured',
  'payment.refunded',
] as const;

export type OrderEventType = (typeof orderEventTypes)[number];

export function isOrderEventType(s: string): s is OrderEventType {
  return (orderEventTypes as readonly string[]).includes(s);
}

/** One event as every sink carries it (the outbox row's `payload`, the webhook body, the stream's `event` field). */
export interface OrderEvent {
  /** Stable across redeliveries: consumers deduplicate by it. */
  id: string;
  type: OrderEventType;
  orderId: string;
  /** 1 for an order's first event, then one more per event of that order. */
  sequence: number;
  /** ISO 8601, UTC, milliseconds: when the change committed. */
  occurredAt: string;
  data: unknown;
}
