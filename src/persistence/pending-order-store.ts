import type { OrderStore, OutboxEvent, StoredOrder } from './order-store.js';
import type { SqlClient } from './sql.js';

/**
 * The order reads and status changes the order service and the pending-order sweeper need: the OrderStore, plus
 * the payment method of pending orders (kept in the priced snapshot) and recording the authorization id when a
 * pending order is confirmed.
 */
export class PendingOrderStore {
  constructor(
    private readonly sql: SqlClient,
    private readonly orders: OrderStore,
  ) {}

  get(orderId: string): Promise<StoredOrder | null> {
    return this.orders.get(orderId);
  }

  async listPending(limit: number): Promise<(StoredOrder & { paymentMethod: string })[]> {
    const pending = await this.orders.listByStatus('pending', limit);
    return pending.map((o) => ({ ...o, paymentMethod: (o.priced as { paymentMethod?: string } | null)?.paymentMethod ?? '' }));
  }

  async transition(
    orderId: string,
    from: string[],
    to: string,
    paymentStatus: string,
    outboxEvent: OutboxEvent,
    opts: { releasePromoUsage?: boolean; authId?: string | null } = {},
  ): Promise<'ok' | 'conflict'> {
    const r = await this.orders.transition(orderId, from, to, paymentStatus, outboxEvent, opts);
    // The authorization id arrives only when a pending order is resolved; the status change above is what counts,
    // and a crash before this update is repaired by the next capture or void, which re-learns it from the provider.
    if (r === 'ok' && opts.authId) await this.sql.query('UPDATE payments SET auth_id = $2, updated_at = now() WHERE order_id = $1', [orderId, opts.authId]);
    return r;
  }
}
