import { describe, expect, it } from 'vitest';
import type { FormObject } from '../../stripe-server/form.js';
import { stripeServerLimits } from '../../stripe-server/limits.js';
import { allowedPaymentMethodTypesAddedIn, createPaymentIntent, paymentMethodTypesRemovedIn } from '../../stripe-server/payment-intent-create.js';

/**
 * POST /v1/payment_intents validation as a plain function of the parameters (no socket): each refusal is a 400
 * invalid_request_error with Stripe's param and code, decided before anything executes (so never stored).
 */
describe('POST /v1/payment_intents parameters', () => {
  const visa = { amount: '1000', currency: 'usd', payment_method: 'pm_card_visa', confirm: 'true', capture_method: 'manual' };
  const apm = { automatic_payment_methods: { enabled: 'true', allow_redirects: 'never' } };
  const validate = (params: Record<string, unknown>, apiVersion: string | null = '2026-11-18.endive') =>
    createPaymentIntent.validate(params as FormObject, { path: [], limits: stripeServerLimits, apiVersion });

  it.each([
    ['no amount', { ...visa, ...apm, amount: undefined }, { param: 'amount', code: 'parameter_missing' }],
    ['a non-integer amount', { ...visa, ...apm, amount: '10.5' }, { param: 'amount', code: 'parameter_invalid_integer' }],
    ['a zero amount', { ...visa, ...apm, amount: '0' }, { param: 'amount', code: 'parameter_invalid_integer' }],
    ['an amount past eight digits', { ...visa, ...apm, amount: '100000000' }, { param: 'amount', code: 'amount_too_large' }],
    ['no currency', { ...visa, ...apm, currency: undefined }, { param: 'currency', code: 'parameter_missing' }],
    ['a currency that is not three letters', { ...visa, ...apm, currency: 'dollars' }, { param: 'currency' }],
    ['an unknown payment method', { ...visa, ...apm, payment_method: 'pm_card_nope' }, { param: 'payment_method', code: 'resource_missing' }],
    ['confirm without a payment method', { ...visa, ...apm, payment_method: undefined }, { param: 'payment_method' }],
    ['a capture method Stripe does not have', { ...visa, ...apm, capture_method: 'later' }, { param: 'capture_method' }],
    ['confirm=yes', { ...visa, ...apm, confirm: 'yes' }, { param: 'confirm' }],
    ['an unknown parameter', { ...visa, ...apm, amount_cents: '5' }, { param: 'amount_cents', code: 'parameter_unknown' }],
    ['an unknown automatic_payment_methods field', { ...visa, automatic_payment_methods: { enabled: 'true', x: '1' } }, { param: 'automatic_payment_methods[x]' }],
    ['both automatic and listed payment methods', { ...visa, ...apm, allowed_payment_method_types: ['card'] }, { code: 'parameters_exclusive' }],
    ['allowed payment method types without card', { ...visa, allowed_payment_method_types: ['ideal'] }, { param: 'allowed_payment_method_types' }],
    ['metadata with 41-character key', { ...visa, ...apm, metadata: { ['k'.repeat(41)]: 'v' } }, { param: `metadata[${'k'.repeat(41)}]` }],
    ['metadata with a 501-character value', { ...visa, ...apm, metadata: { k: 'v'.repeat(501) } }, { param: 'metadata[k]' }],
    ['metadata with 51 keys', { ...visa, ...apm, metadata: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, 'v'])) }, { param: 'metadata' }],
    ['an expansion other than latest_charge', { ...visa, ...apm, expand: ['customer'] }, { param: 'expand' }],
  ])('refuses %s', (_name, params, expected) => {
    const v = validate(params);
    expect(v.ok).toBe(false);
    if (!v.ok) {
      expect(v.response.status).toBe(400);
      expect((v.response.body as { error: unknown }).error).toMatchObject({ type: 'invalid_request_error', ...expected });
    }
  });

  it('refuses confirming with automatic payment methods that may redirect and no return_url (the default when neither is sent)', () => {
    for (const params of [visa, { ...visa, automatic_payment_methods: { enabled: 'true' } }]) {
      const v = validate(params);
      expect(v.ok).toBe(false);
      if (!v.ok) expect((v.response.body as { error: { message: string } }).error.message).toMatch(/return_url/);
    }
    expect(validate({ ...visa, automatic_payment_methods: { enabled: 'true' }, return_url: 'https://shop.test/return' }).ok).toBe(true);
  });

  it.each([
    ['automatic payment methods without redirects', { ...visa, ...apm }],
    ['allowed_payment_method_types=[card]', { ...visa, allowed_payment_method_types: ['card'] }],
    ['allowed_payment_method_types with types it cannot use besides card (filtered silently)', { ...visa, allowed_payment_method_types: ['card', 'ideal'] }],
    ['an unconfirmed intent without a payment method', { amount: '1000', currency: 'USD' }],
  ])('accepts %s', (_name, params) => {
    expect(validate(params).ok).toBe(true);
  });

  it(`takes payment_method_types before API version ${paymentMethodTypesRemovedIn} and refuses it from then on with payment_method_types_no_longer_supported`, () => {
    const params = { ...visa, payment_method_types: ['card'] };
    expect(validate(params, '2025-03-31.basil').ok).toBe(true);
    expect(validate(params, null).ok).toBe(true);
    for (const version of ['2026-09-30.endive', '2026-11-18.endive']) {
      const v = validate(params, version);
      expect(v.ok).toBe(false);
      if (!v.ok) expect((v.response.body as { error: unknown }).error).toMatchObject({ param: 'payment_method_types', code: 'payment_method_types_no_longer_supported' });
    }
  });

  it(`knows allowed_payment_method_types from API version ${allowedPaymentMethodTypesAddedIn} on, and as an unknown parameter before`, () => {
    const params = { ...visa, allowed_payment_method_types: ['card'] };
    expect(validate(params, '2026-07-29.dahlia').ok).toBe(true);
    expect(validate(params, null).ok).toBe(true);
    const v = validate(params, '2025-03-31.basil');
    expect(v.ok).toBe(false);
    if (!v.ok) expect((v.response.body as { error: unknown }).error).toMatchObject({ param: 'allowed_payment_method_types', code: 'parameter_unknown' });
  });

  it('refuses payment_method_types together with allowed_payment_method_types', () => {
    const v = validate({ ...visa, payment_method_types: ['card'], allowed_payment_method_types: ['card'] }, null);
    expect(v.ok).toBe(false);
    if (!v.ok) expect((v.response.body as { error: unknown }).error).toMatchObject({ code: 'parameters_exclusive' });
  });
});
