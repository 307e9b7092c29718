import type { EventJournal } from '../../../src/actors/inventory-actor.js';
import type { OrderBook, StoredOrder } from '../../../src/actors/order-service.js';
import type { PendingOrder, PendingSource } from '../../../src/actors/pending-sweeper.js';

/**
 * In-memory doubles of our own interfaces, shared by the actor tests: a journal that only numbers appends, and an
 * order store whose status changes are conditional like the real one's (src/persistence/order-store.ts).
 */
export class MemoryJournal implements EventJournal {
  seq = 0;
  async append(): Promise<number> {
    return ++this.seq;
  }
}

export class MemoryOrders implements PendingSource, OrderBook {
  readonly orders = new Map<string, StoredOrder & { paymentMethod: string }>();
  /** What listPending answers: by default the orders as they are; a test can hand out a stale copy. */
  listed: PendingOrder[] | null = null;
  async get(orderId: string) {
    const o = this.orders.get(orderId);
    return o ? { ...o, payment: { ...o.payment } } : null;
  }
  async listPending(): Promise<PendingOrder[]> {
    return this.listed ?? [...this.orders.values()].filter((o) => o.status === 'pending').map((o) => ({ ...o, payment: { ...o.payment } }));
  }
  // Refunds and restocks are not the sweeper's: never called here.
  refunds = async () => [];
  beginRefund = async (): Promise<number> => {
    throw new Error('the sweeper never refunds');
  };
  finishRefund = async () => {};
  listRestockPending = async () => [];
  markRestocked = async () => {};
  async transition(orderId: string, from: string[], to: string, paymentStatus: string, _ev: unknown, opts: { authId?: string | null } = {}) {
    const o = this.orders.get(orderId);
    if (!o || !from.includes(o.status)) return 'conflict' as const;
    o.status = to;
    o.payment = { ...o.payment, status: paymentStatus, authId: opts.authId ?? o.payment.authId };
    return 'ok' as const;
  }
}
