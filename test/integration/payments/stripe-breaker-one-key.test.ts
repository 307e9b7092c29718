import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { authorizeWithRetries } from '../../../src/actors/checkout-saga.js';
import { checkoutTarget, startProviderRig, type ProviderRig } from '../../support/stripe-provider.js';

/**
 * Stripe stores the answer of a request that began executing under a key, a 500 included, and
 * replays it for every later request with that key for 24 hours (test/stripe-server/README.md, "Idempotency"). One
 * checkout whose create answered such a 500 is written pending, and the sweeper re-sends its key every
 * SWEEP_INTERVAL_MS (authorizeWithRetries: 3 attempts, each retried twice by the adapter): nine 5xx in a row from one
 * key. They must not open the circuit for every checkout of the node (503 PAYMENT_PROVIDER_UNAVAILABLE) at each sweep:
 * Stripe is up; only that key is poisoned.
 */
describe('one key whose create keeps answering 500', () => {
  let rig: ProviderRig;
  beforeEach(async () => {
    rig = await startProviderRig();
  });
  afterEach(() => rig.close());

  it('does not open the circuit for every other checkout when the sweeper re-sends it', async () => {
    const poisoned = checkoutTarget();
    rig.server.faults.next({ match: { method: 'POST', path: '/v1/payment_intents', idempotencyKey: `${poisoned.checkoutId}:authorize` }, fault: { t: 'status', status: 500, when: 'before' }, times: 1_000 });
    // One sweep of the one pending order (PendingSweeper.providerState sends exactly this).
    expect(await authorizeWithRetries(rig.provider, poisoned)).toBe('unknown');
    // Stripe answers every other key.
    expect(rig.provider.available()).toBe(true);
    expect(await rig.provider.authorize({ idempotencyKey: 'other:authorize', amountMinor: 1_500, currency: 'EUR', paymentMethod: 'pm_card_visa', metadata: { checkoutId: 'other' } })).toMatchObject({ kind: 'authorized' });
  });
});
