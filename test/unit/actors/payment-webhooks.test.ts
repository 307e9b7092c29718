import pino from 'pino';
import Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { PaymentWebhooks, type PaymentEvent, type WebhookOutcome } from '../../../src/actors/payment-webhooks.js';
import type { StoredOrder } from '../../../src/persistence/order-store.js';

/** Webhook handling with the SDK's real signature check, an in-memory event store and orders the test sets. */
const secret = 'whsec_unit_test_0123456789';
const stripe = new Stripe('sk_test_unit_only', { telemetry: false });

function world(resolution: 'confirmed' | 'failed' | 'left' | 'busy' = 'confirmed') {
  const claimed = new Set<string>();
  const counted: WebhookOutcome[] = [];
  const resolved: string[] = [];
  const orders = new Map<string, Pick<StoredOrder, 'orderId' | 'status' | 'payment'>>();
  let failResolve = false;
  const webhooks = new PaymentWebhooks({
    verify: (raw, sig) => {
      const e = stripe.webhooks.constructEvent(raw, sig, secret);
      return { id: e.id, type: e.type, object: e.data.object as PaymentEvent['object'] };
    },
    events: {
      claim: async (id) => (claimed.has(id) ? false : (claimed.add(id), true)),
      unclaim: async (id) => void claimed.delete(id),
      prune: async () => 0,
    },
    order: async (id) => (orders.get(id) as StoredOrder | undefined) ?? null,
    resolvePending: async (id) => {
      if (failResolve) throw new Error('database gone');
      resolved.push(id);
      return resolution;
    },
    count: (o) => counted.push(o),
    log: pino({ level: 'silent' }),
  });
  const deliver = (event: object, sign = secret) => {
    const payload = JSON.stringify(event);
    return webhooks.receive(Buffer.from(payload), stripe.webhooks.generateTestHeaderString({ payload, secret: sign }));
  };
  return { webhooks, claimed, counted, resolved, orders, deliver, failing: () => (failResolve = true) };
}

const event = (id: string, type: string, object: Record<string, unknown>) => ({ id, object: 'event', type, data: { object } });
const intent = (id: string, orderId?: string) => ({ id, object: 'payment_intent', metadata: orderId ? { order_id: orderId } : {} });
const pending = (orderId: string) => ({ orderId, status: 'pending' as const, payment: { authId: null } as StoredOrder['payment'] });

describe('PaymentWebhooks', () => {
  it('counts a bad signature as invalid and claims nothing', async () => {
    const w = world();
    const r = await w.deliver(event('evt_1', 'payment_intent.succeeded', intent('pi_1', 'ord_1')), 'whsec_not_ours_0123456789');
    expect(r.ok).toBe(false);
    expect(w.counted).toEqual(['invalid']);
    expect(w.claimed.size).toBe(0);
  });

  it('resolves a pending order once, and calls a redelivery a duplicate', async () => {
    const w = world();
    w.orders.set('ord_1', pending('ord_1'));
    const e = event('evt_1', 'payment_intent.amount_capturable_updated', intent('pi_1', 'ord_1'));
    expect(await w.deliver(e)).toEqual({ ok: true, eventId: 'evt_1', outcome: 'handled' });
    expect(await w.deliver(e)).toEqual({ ok: true, eventId: 'evt_1', outcome: 'duplicate' });
    expect(w.resolved).toEqual(['ord_1']);
  });

  it('says deferred, not handled, when another node holds the sweep and will settle the order', async () => {
    const w = world('busy');
    w.orders.set('ord_1', pending('ord_1'));
    expect(await w.deliver(event('evt_1', 'payment_intent.amount_capturable_updated', intent('pi_1', 'ord_1')))).toMatchObject({ outcome: 'deferred' });
    expect(w.counted).toEqual(['deferred']);
  });

  it('gives the event id back when handling failed, so the next delivery is handled', async () => {
    const w = world();
    w.orders.set('ord_1', pending('ord_1'));
    w.failing();
    const e = event('evt_1', 'payment_intent.succeeded', intent('pi_1', 'ord_1'));
    await expect(w.deliver(e)).rejects.toThrow('database gone');
    expect(w.claimed.has('evt_1')).toBe(false);
  });

  it('flags a cancellation of a confirmed order made outside boxoffice, and ignores settled orders otherwise', async () => {
    const w = world();
    w.orders.set('ord_1', { orderId: 'ord_1', status: 'confirmed', payment: { authId: 'pi_1' } as StoredOrder['payment'] });
    expect(await w.deliver(event('evt_1', 'payment_intent.canceled', intent('pi_1', 'ord_1')))).toMatchObject({ outcome: 'discrepancy' });
    expect(await w.deliver(event('evt_2', 'payment_intent.succeeded', intent('pi_1', 'ord_1')))).toMatchObject({ outcome: 'ignored' });
    expect(await w.deliver(event('evt_3', 'payment_intent.succeeded', intent('pi_2', 'ord_unknown')))).toMatchObject({ outcome: 'unknown' });
    expect(await w.deliver(event('evt_4', 'payment_intent.succeeded', intent('pi_3')))).toMatchObject({ outcome: 'unknown' });
    expect(await w.deliver(event('evt_5', 'charge.refunded', { id: 'ch_1', object: 'charge', payment_intent: 'pi_1' }))).toMatchObject({ outcome: 'ignored' });
    expect(w.resolved).toEqual([]);
  });
});
