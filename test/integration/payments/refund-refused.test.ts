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
 * Refund `n` is one row, and a racing request sends the refund another request recorded. An answer that says only
 * "nothing was sent this time" (the Stripe adapter's open circuit or full call slots, a 429 past the retries:
 * `retryable`) is no verdict on the key: the row must stay pending, or the request that recorded it (still at the
 * provider, or whose lost answer hid a refund that happened) could never settle it, and the order would say the
 * customer got nothing back when they did.
 */
const log = pino({ level: 'silent' });
const noStock = () => ({ ask: async () => ({ ok: true as const }) }) as never;
/** What the Stripe adapter answers with its circuit open (stripe-provider-faults.test.ts checks it). */
const circuitOpen: SettleResult = { ok: false, message: 'the Stripe circuit is open or every call slot is taken; nothing was sent', retryable: true };

describe('a refund that another request refused for nothing sent (pg)', () => {
  let db: TestDatabase;
  let sqlB: SqlClient;
  beforeAll(async () => {
    db = await createTestDatabase('pg');
    sqlB = (await db.openAnother())!;
  });
  afterAll(() => db.dispose());

  async function shippedOrder(provider: SimulatedPaymentProvider, checkoutId: string) {
    const auth = await provider.authorize({ idempotencyKey: `${checkoutId}:authorize`, amountMinor: 3_740, currency: 'EUR', paymentMethod: 'pm_card_visa', metadata: {} });
    if (auth.kind !== 'authorized') throw new Error(auth.kind);
    const base = makeOrder({ checkoutId });
    const order = makeOrder({ checkoutId, orderId: base.orderId, payment: { ...base.payment, authId: auth.authId } });
    const writer = new OrderWriter(db.sql, { batchMax: 10, batchDelayMs: 0, partitions: 8 });
    await writer.write(order);
    await writer.close();
    return { orderId: order.orderId, authId: auth.authId };
  }

  it('two nodes: the racing request, refused with nothing sent, does not mark the first request\'s refund failed', async () => {
    const provider = new SimulatedPaymentProvider();
    const { orderId, authId } = await shippedOrder(provider, 'chk_r10b_race');
    const promos = new PromoLedger(async () => ({ total: 0, byCustomer: 0 }));
    const { book, aMaySend } = racingRefundBooks();
    // A's request reaches the provider after B's; B's node has its circuit open (each node has its own breaker).
    const payments = (node: 'A' | 'B'): PaymentProvider =>
      Object.assign(Object.create(provider) as SimulatedPaymentProvider, {
        refund: async (req: RefundRequest): Promise<SettleResult> => {
          if (node === 'B') return circuitOpen;
          await aMaySend.wait;
          return provider.refund(req);
        },
      });
    const nodeA = new OrderService(book(db.sql, 'A'), payments('A'), noStock, promos, log);
    const nodeB = new OrderService(book(sqlB, 'B'), payments('B'), noStock, promos, log);
    expect(await nodeA.ship(orderId)).toMatchObject({ ok: true });

    const a = nodeA.refund(orderId, 600);
    const b = await nodeB.refund(orderId, 500);
    expect(b.ok).toBe(false); // 502: nothing was sent from B
    aMaySend.open();
    await a;

    const stored = (await new OrderStore(db.sql, 8).get(orderId))!;
    expect(provider.stateOf(authId)!.refundedMinor).toBe(600);
    expect(stored.payment.refundedMinor).toBe(600);
    expect((await new OrderStore(db.sql, 8).refunds(orderId)).map((r) => r.status)).toEqual(['succeeded']);
  });

  it('one node: a pending refund re-sent while the circuit is open stays pending (its first attempt may have refunded)', async () => {
    const provider = new SimulatedPaymentProvider({ beforeSettle: (op) => (op === 'refund' && ++refundCalls === 1 ? 'timeout' : undefined) });
    let refundCalls = 0;
    const { orderId, authId } = await shippedOrder(provider, 'chk_r10b_single');
    const promos = new PromoLedger(async () => ({ total: 0, byCustomer: 0 }));
    let open = false;
    const payments = Object.assign(Object.create(provider) as SimulatedPaymentProvider, {
      refund: (req: RefundRequest): Promise<SettleResult> => (open ? Promise.resolve(circuitOpen) : provider.refund(req)),
    });
    const orders = new OrderService(new OrderStore(db.sql, 8), payments, noStock, promos, log);
    expect(await orders.ship(orderId)).toMatchObject({ ok: true });
    // Refund 1: the provider refunds, the answer is lost (502, the row stays pending).
    expect(await orders.refund(orderId, 600)).toMatchObject({ ok: false, code: 'PAYMENT_PROVIDER_ERROR' });
    expect(provider.stateOf(authId)!.refundedMinor).toBe(600);
    // The admin retries while the circuit is open: nothing is sent, the answer is 502 again...
    open = true;
    expect(await orders.refund(orderId, 600)).toMatchObject({ ok: false, code: 'PAYMENT_PROVIDER_ERROR' });
    // ...and refund 1 must still be pending (re-sent with its key later), not failed.
    expect((await new OrderStore(db.sql, 8).refunds(orderId)).map((r) => r.status)).toEqual(['pending']);
    open = false;
    expect(await orders.refund(orderId, null)).toMatchObject({ ok: true });
    const stored = (await new OrderStore(db.sql, 8).get(orderId))!;
    expect(stored.payment.refundedMinor).toBe(provider.stateOf(authId)!.refundedMinor);
  });
});
