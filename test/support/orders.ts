import type { NewOrder } from '../../src/persistence/order-writer.js';

let counter = 0;

/** A valid confirmed order with two lines, unique ids per call; `overrides` replace top-level fields. */
export function makeOrder(overrides: Partial<NewOrder> = {}): NewOrder {
  const n = ++counter;
  const orderId = overrides.orderId ?? `ord_${process.pid}_${n}`;
  const checkoutId = overrides.checkoutId ?? `chk_${process.pid}_${n}`;
  return {
    orderId,
    checkoutId,
    idempotencyKey: `idem_${checkoutId}`,
    fingerprint: `fp_${n}`,
    userId: null,
    status: 'confirmed',
    currency: 'EUR',
    subtotal: 3_000,
    discount: 300,
    shipping: 500,
    tax: 540,
    total: 3_740,
    promoCode: null,
    customerKey: `cust_${n}`,
    address: { country: 'DE', line1: 'Hauptstraße 1' },
    priced: { lines: 2 },
    snapshotHash: `hash_${n}`,
    createdAt: new Date('2030-01-01T10:00:00.000Z'),
    items: [
      { sku: 'TSHIRT-M', qty: 2, price: 1_000, discount: 200, tax: 360, lineTotal: 2_160 },
      { sku: 'CAP', qty: 1, price: 1_000, discount: 100, tax: 180, lineTotal: 1_080 },
    ],
    payment: {
      paymentId: `pay_${checkoutId}`,
      provider: 'simulated',
      status: 'authorized',
      authId: `auth_${n}`,
      amount: 3_740,
      currency: 'EUR',
      idempotencyKey: `${checkoutId}:authorize`,
    },
    reservations: [
      { reservationId: `${checkoutId}/TSHIRT-M`, sku: 'TSHIRT-M', qty: 2, expiresAt: new Date('2030-01-01T10:10:00.000Z') },
      { reservationId: `${checkoutId}/CAP`, sku: 'CAP', qty: 1, expiresAt: new Date('2030-01-01T10:10:00.000Z') },
    ],
    response: { statusCode: 201, body: { orderId, status: 'confirmed' } },
    outbox: [
      { eventType: 'order.pending', payload: { orderId } },
      { eventType: 'order.confirmed', payload: { orderId } },
    ],
    ...overrides,
  };
}
