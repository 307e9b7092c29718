import { describe, expect, it } from 'vitest';
import type { HttpRequest } from '../../../src/http/request.js';
import { parseCheckout } from '../../../src/http/routes/checkout-request.js';
import { parseBody, promotionBody } from '../../../src/http/validation.js';

function checkoutRequest(body: unknown): HttpRequest {
  return { method: 'POST', path: '/api/checkout', params: {}, query: new URLSearchParams(), headers: { 'idempotency-key': 'k' }, body, rawBodyBytes: 0, remoteAddress: '127.0.0.1' };
}

describe('checkout fingerprints', () => {
  // Stored with every idempotency key: a validator change that alters them would refuse (422) every replay of a key
  // stored before it. These values were computed by the zod v3 schemas (commit db54149) and must not move.
  it.each([
    [
      'buy-now with a promotion and a customer',
      { items: [{ sku: 'HOT-1', qty: 2 }, { sku: 'B', qty: 1 }], paymentMethod: 'pm_card_visa', address: { name: ' Ada Lovelace ', line1: '1 Main St', city: 'New York', postalCode: '10001', country: 'US', region: 'NY' }, customerId: 'cus_1', promoCode: 'SAVE10' },
      'ggBsDFDytO1OHvvDb6ntz6RkK_59-MU-lrC3_4PnICc',
    ],
    [
      'a cart, express, a second address line and a null region',
      { cartId: 'cart_123', paymentMethod: 'pm_card_visa', address: { name: 'Ada', line1: '1 Main St', line2: 'Apt 2', city: 'Paris', postalCode: '75001', country: 'FR', region: null }, shippingMethod: 'express' },
      'zgq6PO87C9mb6IR2Yr0z1_w4W9E_P9C3YOHd_I2mRHo',
    ],
  ])('stay what they were: %s', (_name, body, fingerprint) => {
    const parsed = parseCheckout(checkoutRequest(body), 0);
    expect(parsed.ok && parsed.fingerprint).toBe(fingerprint);
  });
});

describe('promotion times', () => {
  it('accept an offset with or without a colon as the same instant, and refuse a bare hour offset', () => {
    const at = (startsAt: string) => parseBody(promotionBody, { code: 'X', kind: 'fixed', amountMinor: 100, currency: 'USD', startsAt });
    const withColon = at('2026-01-01T00:00:00+02:00');
    const without = at('2026-01-01T00:00:00+0200');
    expect(withColon.ok && withColon.value.startsAt).toBe(Date.parse('2025-12-31T22:00:00Z'));
    expect(without.ok && without.value.startsAt).toBe(Date.parse('2025-12-31T22:00:00Z'));
    const bad = at('2026-01-01T00:00:00+02');
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.response.body).toMatchObject({ error: { code: 'VALIDATION_FAILED', field: 'startsAt' } });
  });
});
