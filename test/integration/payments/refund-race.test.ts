import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OrderService } from '../../../src/actors/order-service.js';
import { PromoLedger } from '../../../src/actors/promo-ledger.js';
import { SimulatedPaymentProvider } from '../../../src/payments/simulated-provider.js';
import type { PaymentProvider, RefundRequest, SettleResult } from '../../../src/payments/provider.js';
import { OrderStore } from '../../../src/persistence/order-store.js';
import { OrderWriter } from '../../../src/persistence/order-writer.js';
import type { SqlClient } from '../../../src/persistence/sql.js';
import { makeOrder } from '../../support/orders.js';
import { racingRefundBooks } from './refund-race-support.js';
import { createTestDatabase, type TestDatabase } from '../../support/sql-drivers.js';

/**
 * Two nodes refund one shipped order at once (an order's partition moving or failing over while
 * an admin retries; each node's per-order queue is its own). Both number their refund 1; the database keeps the first
 * row's amount (`ON CONFLICT DO NOTHING`) while each node sends its own amount under `<orderId>:refund:1`. The amount
 * recorded as refunded must be the amount the provider refunded.
 */
describe('refunds of one order from two nodes at once (pg)', () => {
  let db: TestDatabase;
  let sqlB: SqlClient;
  beforeAll(async () => {
    db = await createTestDatabase('pg');
    sqlB = (await db.openAnother())!;
  });
  afterAll(() => db.dispose());

  it('records as refunded exactly what the provider refunded', async () => {
    const provider = new SimulatedPaymentProvider();
    const auth = await provider.authorize({ idempotencyKey: 'chk_race:authorize', amountMinor: 3_740, currency: 'EUR', paymentMethod: 'pm_card_visa', metadata: {} });
    if (auth.kind !== 'authorized') throw new Error(auth.kind);
    const base = makeOrder({ checkoutId: 'chk_race' });
    const order = makeOrder({ checkoutId: 'chk_race', orderId: base.orderId, payment: { ...base.payment, authId: auth.authId } });
    const writer = new OrderWriter(db.sql, { batchMax: 10, batchDelayMs: 0, partitions: 8 });
    await writer.write(order);
    await writer.close();

    const promos = new PromoLedger(async () => ({ total: 0, byCustomer: 0 }));
    const log = pino({ level: 'silent' });
    const noStock = () => ({ ask: async () => ({ ok: true as const }) }) as never;

    // Both nodes read the order's refunds before either records one.
    const { book, aMaySend } = racingRefundBooks();
    const payments = (node: 'A' | 'B'): PaymentProvider =>
      Object.assign(Object.create(provider) as SimulatedPaymentProvider, {
        refund: async (req: RefundRequest): Promise<SettleResult> => {
          if (node === 'A') await aMaySend.wait;
          return provider.refund(req);
        },
      });
    const nodeA = new OrderService(book(db.sql, 'A'), payments('A'), noStock, promos, log);
    const nodeB = new OrderService(book(sqlB, 'B'), payments('B'), noStock, promos, log);

    expect(await nodeA.ship(order.orderId)).toMatchObject({ ok: true, order: { status: 'shipped', payment: { capturedMinor: 3_740 } } });

    const a = nodeA.refund(order.orderId, 600);
    const b = await nodeB.refund(order.orderId, 500); // B's request reaches the provider first
    aMaySend.open();
    // Refund 1 was recorded by A for 600: B sends that one (its key goes with its recorded amount) and is told it
    // raced (409), so the admin reads the order and decides again; A's replay of the same key refunds nothing more.
    expect(b).toMatchObject({ ok: false, code: 'ORDER_STATE_CONFLICT' });
    expect(await a).toMatchObject({ ok: true, order: { payment: { refundedMinor: 600 } } });

    const stored = (await new OrderStore(db.sql, 8).get(order.orderId))!;
    const atProvider = provider.stateOf(auth.authId)!;
    expect({ refundedMinor: stored.payment.refundedMinor }).toEqual({ refundedMinor: atProvider.refundedMinor });

    // The harm: "refund the rest" stops short, and the order reads fully refunded while the customer is still owed.
    const rest = await nodeB.refund(order.orderId, null);
    expect(rest.ok).toBe(true);
    expect(provider.stateOf(auth.authId)!.refundedMinor).toBe(3_740);
  });
});
