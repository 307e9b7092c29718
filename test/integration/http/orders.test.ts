import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { limits } from '../../../src/config/limits.js';
import { startTestNode, stock, testAddress, type TestNode } from '../../support/node-harness.js';
import { scriptedPayments, timeoutCard } from '../../support/scripted-payments.js';

/** Orders over a real socket: read, ship (capture), cancel (void or refund, restock, promo use given back). */
describe('order routes', () => {
  let t: TestNode;
  const payments = scriptedPayments();
  let keySeq = 0;
  beforeAll(async () => {
    t = await startTestNode({ node: { payments: payments.provider } });
    await t.admin('POST', '/api/promotions', { code: 'ONEEACH', kind: 'percentage', percentBps: 2_000, usageLimitPerCustomer: 1 });
  });
  afterAll(async () => {
    await t.stop();
  });

  async function buy(sku: string, qty: number, extra: Record<string, unknown> = {}) {
    const body = { items: [{ sku, qty }], paymentMethod: 'pm_card_visa', address: testAddress, ...extra };
    return t.call('POST', '/api/checkout', body, { 'idempotency-key': `orders-${++keySeq}` });
  }
  async function confirmedOrder(sku: string, onHand: number, qty: number): Promise<string> {
    await stock(t, sku, onHand);
    const r = await buy(sku, qty);
    expect(r.status).toBe(201);
    return r.body.orderId as string;
  }
  const inventory = async (sku: string) => (await t.call('GET', `/api/inventory/${sku}`)).body;

  describe('GET /api/orders/:id', () => {
    it('answers the order with its lines, totals, payment status and creation time', async () => {
      const orderId = await confirmedOrder('ORD-GET', 5, 2);
      const r = await t.call('GET', `/api/orders/${orderId}`);
      expect(r.status).toBe(200);
      expect(r.body).toEqual({
        orderId,
        status: 'confirmed',
        lines: [{ sku: 'ORD-GET', qty: 2, unitPriceMinor: 2_500, discountMinor: 0, taxMinor: 200, totalMinor: 5_200 }],
        totals: { currency: 'USD', subtotalMinor: 5_000, discountMinor: 0, shippingMinor: 0, taxMinor: 200, totalMinor: 5_200 },
        payment: { status: 'authorized', capturedMinor: 0, refundedMinor: 0 },
        createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      });
    });

    it.each([
      ['an unknown id', 'GET', '/api/orders/ord_unknown'],
      ['an id over the id limit', 'GET', `/api/orders/${'o'.repeat(limits.idLengthMax + 1)}`],
      ['shipping an unknown id', 'POST', '/api/orders/ord_unknown/ship'],
      ['cancelling an unknown id', 'POST', '/api/orders/ord_unknown/cancel'],
    ])('answers 404 ORDER_NOT_FOUND for %s', async (_label, method, path) => {
      const r = method === 'GET' ? await t.call(method, path) : await t.admin(method, path);
      expect(r.status).toBe(404);
      expect(r.body.error.code).toBe('ORDER_NOT_FOUND');
    });
  });

  describe('shipping', () => {
    it('captures the payment and marks the order shipped; shipping again changes nothing', async () => {
      const orderId = await confirmedOrder('ORD-SHIP', 5, 1);
      const captures = payments.provider.captures();
      const r = await t.admin('POST', `/api/orders/${orderId}/ship`);
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ orderId, status: 'shipped', payment: { status: 'captured' } });
      expect(payments.provider.captures()).toBe(captures + 1);
      const again = await t.admin('POST', `/api/orders/${orderId}/ship`);
      expect(again.status).toBe(200);
      expect(again.body).toEqual(r.body);
      expect(payments.provider.captures()).toBe(captures + 1);
      expect((await t.call('GET', `/api/orders/${orderId}`)).body).toEqual(r.body);
    });
  });

  describe('payment provider failures', () => {
    it.each([
      ['ship', 'capture', 'error'],
      ['ship', 'capture', 'timeout'],
      ['cancel', 'void', 'error'],
      ['cancel', 'void', 'timeout-unprocessed'],
    ] as const)('answers %s with 502 PAYMENT_PROVIDER_ERROR when the %s meets a provider %s, changes nothing, and a retry succeeds', async (action, op, fault) => {
      const sku = `ORD-PFAIL-${op}-${fault}`;
      const orderId = await confirmedOrder(sku, 3, 1);
      const before = await t.call('GET', `/api/orders/${orderId}`);
      payments.failNextSettle(op, fault);
      const r = await t.admin('POST', `/api/orders/${orderId}/${action}`);
      expect(r.status).toBe(502);
      expect(r.body.error).toMatchObject({ code: 'PAYMENT_PROVIDER_ERROR', orderId });
      expect((await t.call('GET', `/api/orders/${orderId}`)).body).toEqual(before.body);
      expect(await inventory(sku)).toMatchObject({ available: 2, sold: 1 });
      const retry = await t.admin('POST', `/api/orders/${orderId}/${action}`);
      expect(retry.status).toBe(200);
      expect(retry.body.status).toBe(action === 'ship' ? 'shipped' : 'cancelled');
    });
  });

  describe('cancelling', () => {
    it('voids a confirmed order and puts its stock back; cancelling again changes nothing', async () => {
      const orderId = await confirmedOrder('ORD-VOID', 5, 2);
      expect(await inventory('ORD-VOID')).toMatchObject({ available: 3, sold: 2 });
      const voids = payments.provider.voids();
      const r = await t.admin('POST', `/api/orders/${orderId}/cancel`);
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ orderId, status: 'cancelled', payment: { status: 'voided' } });
      expect(payments.provider.voids()).toBe(voids + 1);
      expect(await inventory('ORD-VOID')).toEqual({ sku: 'ORD-VOID', onHand: 5, available: 5, held: 0, sold: 0 });
      const again = await t.admin('POST', `/api/orders/${orderId}/cancel`);
      expect(again.status).toBe(200);
      expect(again.body.status).toBe('cancelled');
      expect(payments.provider.voids()).toBe(voids + 1);
      expect(await inventory('ORD-VOID')).toMatchObject({ available: 5, sold: 0 });
    });

    it('refunds a shipped order in full and keeps its stock sold: the goods did not come back', async () => {
      const orderId = await confirmedOrder('ORD-REFUND', 4, 1);
      const shipped = await t.admin('POST', `/api/orders/${orderId}/ship`);
      expect(shipped.body.payment).toEqual({ status: 'captured', capturedMinor: 3_099, refundedMinor: 0 });
      const refunds = payments.provider.refunds();
      const r = await t.admin('POST', `/api/orders/${orderId}/cancel`);
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ status: 'cancelled', payment: { status: 'refunded', capturedMinor: 3_099, refundedMinor: 3_099 } });
      expect(payments.provider.refunds()).toBe(refunds + 1);
      expect(payments.settled.filter((c) => c.includes(orderId))).toEqual([`capture ${orderId}:capture 3099`, `refund ${orderId}:refund:1 3099`]);
      expect(await inventory('ORD-REFUND')).toEqual({ sku: 'ORD-REFUND', onHand: 4, available: 3, held: 0, sold: 1 });
    });

    it('puts the stock of a shipped order back when the cancel says the goods came back', async () => {
      const orderId = await confirmedOrder('ORD-RETURNED', 4, 1);
      await t.admin('POST', `/api/orders/${orderId}/ship`);
      const r = await t.admin('POST', `/api/orders/${orderId}/cancel`, { restock: true });
      expect(r.body).toMatchObject({ status: 'cancelled', payment: { status: 'refunded' } });
      expect(await inventory('ORD-RETURNED')).toEqual({ sku: 'ORD-RETURNED', onHand: 4, available: 4, held: 0, sold: 0 });
    });

    it('voids a confirmed order with a key of its own', async () => {
      const orderId = await confirmedOrder('ORD-VOIDKEY', 2, 1);
      await t.admin('POST', `/api/orders/${orderId}/cancel`);
      expect(payments.settled.filter((c) => c.includes(orderId))).toEqual([`void ${orderId}:void`]);
    });

    it('refuses a cancel body it does not know with 400 VALIDATION_FAILED and changes nothing', async () => {
      const orderId = await confirmedOrder('ORD-BADCANCEL', 2, 1);
      const r = await t.admin('POST', `/api/orders/${orderId}/cancel`, { restock: 'yes' });
      expect(r.status).toBe(400);
      expect((await t.call('GET', `/api/orders/${orderId}`)).body.status).toBe('confirmed');
    });
  });

  describe('refunding', () => {
    async function shippedOrder(sku: string): Promise<string> {
      const orderId = await confirmedOrder(sku, 5, 2);
      expect((await t.admin('POST', `/api/orders/${orderId}/ship`)).status).toBe(200);
      return orderId;
    }

    it('refunds part of a capture, then the rest, each with its own numbered key, and never more than was captured', async () => {
      const orderId = await shippedOrder('ORD-PART');
      const first = await t.admin('POST', `/api/orders/${orderId}/refund`, { amountMinor: 1_000 });
      expect(first.status).toBe(200);
      expect(first.body).toMatchObject({ status: 'shipped', payment: { status: 'captured', capturedMinor: 5_200, refundedMinor: 1_000 } });
      const tooMuch = await t.admin('POST', `/api/orders/${orderId}/refund`, { amountMinor: 4_201 });
      expect(tooMuch.status).toBe(409);
      expect(tooMuch.body.error).toMatchObject({ code: 'REFUND_EXCEEDS_CAPTURED', capturedMinor: 5_200, refundedMinor: 1_000, requestedMinor: 4_201 });
      const rest = await t.admin('POST', `/api/orders/${orderId}/refund`);
      expect(rest.body).toMatchObject({ status: 'shipped', payment: { status: 'refunded', refundedMinor: 5_200 } });
      expect((await t.admin('POST', `/api/orders/${orderId}/refund`)).body.error.code).toBe('REFUND_EXCEEDS_CAPTURED');
      expect(payments.settled.filter((c) => c.startsWith('refund') && c.includes(orderId))).toEqual([`refund ${orderId}:refund:1 1000`, `refund ${orderId}:refund:2 4200`]);
      expect(await inventory('ORD-PART')).toMatchObject({ sold: 2 });
    });

    it('asks again with the same key, never as a new refund, when the answer to a refund was lost', async () => {
      const orderId = await shippedOrder('ORD-LOST');
      const refunds = payments.provider.refunds();
      payments.failNextSettle('refund', 'timeout');
      const lost = await t.admin('POST', `/api/orders/${orderId}/refund`, { amountMinor: 700 });
      expect(lost.status).toBe(502);
      // The provider refunded (only its answer was lost); the retry settles refund 1 with its key.
      const retry = await t.admin('POST', `/api/orders/${orderId}/refund`, { amountMinor: 700 });
      expect(retry.status).toBe(200);
      expect(payments.provider.refunds()).toBe(refunds + 2);
      expect(payments.settled.filter((c) => c.startsWith('refund') && c.includes(orderId))).toEqual([`refund ${orderId}:refund:1 700`, `refund ${orderId}:refund:1 700`, `refund ${orderId}:refund:2 700`]);
      expect(retry.body.payment).toMatchObject({ refundedMinor: 1_400 });
    });

    it.each([
      ['a confirmed order', 409, 'ORDER_STATE_CONFLICT', { amountMinor: 100 }],
      ['a zero amount', 400, 'VALIDATION_FAILED', { amountMinor: 0 }],
      ['a fractional amount', 400, 'VALIDATION_FAILED', { amountMinor: 1.5 }],
      ['an unknown field', 400, 'VALIDATION_FAILED', { amount: 100 }],
    ])('refuses %s with %i %s and changes nothing', async (label, status, code, body) => {
      const orderId = label === 'a confirmed order' ? await confirmedOrder(`ORD-RBAD-${status}-${code}`, 3, 1) : await shippedOrder(`ORD-RBAD-${JSON.stringify(body).length}-${code}`);
      const before = (await t.call('GET', `/api/orders/${orderId}`)).body;
      const r = await t.admin('POST', `/api/orders/${orderId}/refund`, body);
      expect(r.status).toBe(status);
      expect(r.body.error.code).toBe(code);
      expect((await t.call('GET', `/api/orders/${orderId}`)).body).toEqual(before);
    });

    it('gives the promo use back, so the same customer can use a once-per-customer code again', async () => {
      await stock(t, 'ORD-PROMO', 10);
      const frank = () => buy('ORD-PROMO', 1, { promoCode: 'ONEEACH', customerId: 'frank' });
      const first = await frank();
      expect(first.status).toBe(201);
      expect((await frank()).body.error.code).toBe('PROMO_USAGE_LIMIT_REACHED');
      expect((await t.admin('POST', `/api/orders/${first.body.orderId}/cancel`)).status).toBe(200);
      const again = await frank();
      expect(again.status).toBe(201);
      expect(again.body.totals.discountMinor).toBe(500);
    });
  });

  describe('state conflicts', () => {
    it('refuses to ship a cancelled order with 409 ORDER_STATE_CONFLICT and leaves it cancelled', async () => {
      const orderId = await confirmedOrder('ORD-CONFLICT', 3, 1);
      await t.admin('POST', `/api/orders/${orderId}/cancel`);
      const captures = payments.provider.captures();
      const r = await t.admin('POST', `/api/orders/${orderId}/ship`);
      expect(r.status).toBe(409);
      expect(r.body.error).toMatchObject({ code: 'ORDER_STATE_CONFLICT', orderId, status: 'cancelled' });
      expect(payments.provider.captures()).toBe(captures);
      expect((await t.call('GET', `/api/orders/${orderId}`)).body).toMatchObject({ status: 'cancelled', payment: { status: 'voided' } });
    });

    it.each(['ship', 'cancel'])('refuses to %s a pending order with 409 ORDER_STATE_CONFLICT and keeps its hold', async (action) => {
      const sku = `ORD-PEND-${action}`;
      await stock(t, sku, 3);
      const pending = await buy(sku, 1, { paymentMethod: timeoutCard });
      expect(pending.status).toBe(202);
      const r = await t.admin('POST', `/api/orders/${pending.body.orderId}/${action}`);
      expect(r.status).toBe(409);
      expect(r.body.error).toMatchObject({ code: 'ORDER_STATE_CONFLICT', status: 'pending' });
      expect(await inventory(sku)).toMatchObject({ available: 2, held: 1, sold: 0 });
    });
  });
});
