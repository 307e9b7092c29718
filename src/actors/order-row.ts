import type { CheckoutResponse } from '../domain/checkout-result.js';
import type { NewOrder } from '../persistence/order-writer.js';
import type { SagaRun } from './checkout-saga.js';

/**
 * The rows of one checkout's order (orders, items, payment, reservations, outbox, and the idempotency record with
 * its answer), as the saga writes them in one transaction: confirmed after an authorization, pending when the
 * payment outcome is unknown.
 */
export function orderRow(r: SagaRun, status: 'confirmed' | 'pending', response: CheckoutResponse): NewOrder {
  const { plan } = r;
  const p = plan.priced;
  const expiresAt = new Date(plan.createdAtMs + r.deps.holdTtlMs);
  return {
    orderId: plan.orderId,
    checkoutId: plan.checkoutId,
    idempotencyKey: plan.key,
    fingerprint: plan.fingerprint,
    userId: plan.customerKey,
    status,
    currency: p.currency,
    subtotal: p.subtotalMinor,
    discount: p.discountMinor,
    shipping: p.shippingMinor,
    tax: p.taxMinor,
    total: p.totalMinor,
    promoCode: p.promoCode,
    customerKey: plan.customerKey,
    address: plan.address,
    priced: { snapshot: p, paymentMethod: plan.paymentMethod, lines: plan.lines },
    snapshotHash: p.hash,
    createdAt: new Date(plan.createdAtMs),
    items: p.lines.map((l) => ({ sku: l.sku, qty: l.qty, price: l.unitPriceMinor, discount: l.discountMinor, tax: l.taxMinor, lineTotal: l.totalMinor })),
    payment: {
      paymentId: `pay_${plan.checkoutId}`,
      provider: r.deps.payments.name,
      status: status === 'confirmed' ? 'authorized' : 'pending',
      authId: r.authId,
      amount: p.totalMinor,
      currency: p.currency,
      idempotencyKey: `${plan.checkoutId}:authorize`,
    },
    reservations: r.holds.map((h) => ({ reservationId: h.holdId, sku: h.sku, qty: h.qty, expiresAt })),
    response,
    outbox: [{ eventType: status === 'confirmed' ? 'order.confirmed' : 'order.pending', payload: { status, totalMinor: p.totalMinor, currency: p.currency } }],
  };
}
