import type { OrderStore, OutboxEvent, StoredOrder } from './order-store.js';

/**
 * The order reads and status changes the order service and the pending-order sweeper need: the OrderStore, plus
 * the payment method of pending orders (kept in the priced snapshot).
 */
export class PendingOrderStore {
  constructor(private readonly orders: OrderStore) {}

  get(orderId: string): Promise<StoredOrder | null> {
    return this.orders.get(orderId);
  }

  async listPending(limit: number): Promise<(StoredOrder & { paymentMethod: string })[]> {
    const pending = await this.orders.listByStatus('pending', limit);
    return pending.map((o) => ({ ...o, paymentMethod: paymentMethodOf(o) }));
  }

  /** The authorization id a pending order learns is written in the same transaction as its confirmation. */
  transition(
    orderId: string,
    from: string[],
    to: string,
    paymentStatus: string,
    outboxEvent: OutboxEvent | readonly OutboxEvent[],
    opts: { releasePromoUsage?: boolean; authId?: string | null } = {},
  ): Promise<'ok' | 'conflict'> {
    return this.orders.transition(orderId, from, to, paymentStatus, outboxEvent, opts);
  }
}

/** The payment method an order was placed with (kept in its priced snapshot). */
export function paymentMethodOf(o: StoredOrder): string {
  return (o.priced as { paymentMethod?: string } | null)?.paymentMethod ?? '';
}
