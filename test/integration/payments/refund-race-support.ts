import type { OrderBook } from '../../../src/actors/order-service.js';
import { OrderStore } from '../../../src/persistence/order-store.js';
import type { SqlClient } from '../../../src/persistence/sql.js';

/** A promise the test opens when it chooses. */
export function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((resolve) => (open = resolve));
  return { wait, open };
}

/**
 * The order books of two nodes, A and B, refunding one order at once: both read the order's refunds before either
 * records one, and B records its refund only after A recorded its own. `aMaySend` is the test's to open when A's
 * request may reach the provider (the tests' payment doubles wait for it).
 */
export function racingRefundBooks(): { book: (sql: SqlClient, node: 'A' | 'B') => OrderBook; aMaySend: ReturnType<typeof gate> } {
  let reads = 0;
  const bothRead = gate();
  const aBegun = gate();
  const aMaySend = gate();
  const book = (sql: SqlClient, node: 'A' | 'B'): OrderBook => {
    const store = new OrderStore(sql, 8);
    return Object.assign(Object.create(store) as OrderStore, {
      refunds: async (orderId: string) => {
        const rows = await store.refunds(orderId);
        if (++reads === 2) bothRead.open();
        await bothRead.wait;
        return rows;
      },
      beginRefund: async (orderId: string, n: number, amountMinor: number) => {
        if (node === 'B') await aBegun.wait;
        const recorded = await store.beginRefund(orderId, n, amountMinor);
        if (node === 'A') aBegun.open();
        return recorded;
      },
    });
  };
  return { book, aMaySend };
}
