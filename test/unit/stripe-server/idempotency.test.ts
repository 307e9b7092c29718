import { describe, expect, it } from 'vitest';
import { IdempotencyStore, requestFingerprint } from '../../stripe-server/idempotency.js';

/** Stripe's idempotency rules as a pure store (test/stripe-server/idempotency.ts); the SDK-level specs are in test/integration/stripe-server/. */
describe('IdempotencyStore', () => {
  const created = { status: 200, body: { id: 'pi_1' } };
  const fp = (params: Record<string, unknown>, path = '/v1/payment_intents') => requestFingerprint('POST', path, params as never);

  it('reserves a new key, then replays its stored answer to the same request', () => {
    const store = new IdempotencyStore(10);
    expect(store.begin('sk', 'k1', fp({ amount: '1' }))).toEqual({ kind: 'new' });
    store.complete('sk', 'k1', created);
    expect(store.begin('sk', 'k1', fp({ amount: '1' }))).toEqual({ kind: 'replay', response: created });
  });

  it('stores errors like successes (a decline is replayed as a decline)', () => {
    const store = new IdempotencyStore(10);
    const declined = { status: 402, body: { error: { type: 'card_error' } } };
    store.begin('sk', 'k1', fp({}));
    store.complete('sk', 'k1', declined);
    expect(store.begin('sk', 'k1', fp({}))).toEqual({ kind: 'replay', response: declined });
  });

  it('compares all parameters, nested ones included, whatever their order', () => {
    const store = new IdempotencyStore(10);
    store.begin('sk', 'k1', fp({ amount: '1', metadata: { a: '1', b: '2' } }));
    store.complete('sk', 'k1', created);
    expect(store.begin('sk', 'k1', fp({ metadata: { b: '2', a: '1' }, amount: '1' })).kind).toBe('replay');
    expect(store.begin('sk', 'k1', fp({ amount: '1', metadata: { a: '1', b: '3' } })).kind).toBe('mismatch');
    expect(store.begin('sk', 'k1', fp({ amount: '1', metadata: { a: '1', b: '2' } }, '/v1/refunds')).kind).toBe('mismatch');
  });

  it('answers in-flight while the first request with the key executes', () => {
    const store = new IdempotencyStore(10);
    store.begin('sk', 'k1', fp({}));
    expect(store.begin('sk', 'k1', fp({}))).toEqual({ kind: 'in-flight' });
    expect(store.begin('sk', 'k1', fp({ other: 'x' }))).toEqual({ kind: 'in-flight' });
  });

  it('frees a released key unsaved, so the next request with it is new', () => {
    const store = new IdempotencyStore(10);
    store.begin('sk', 'k1', fp({}));
    store.release('sk', 'k1');
    expect(store.begin('sk', 'k1', fp({ other: 'x' }))).toEqual({ kind: 'new' });
  });

  it('scopes keys to the API key', () => {
    const store = new IdempotencyStore(10);
    store.begin('sk_a', 'k1', fp({}));
    store.complete('sk_a', 'k1', created);
    expect(store.begin('sk_b', 'k1', fp({ other: 'x' }))).toEqual({ kind: 'new' });
  });

  it('forgets the oldest completed entry past entriesMax, never one still executing', () => {
    const store = new IdempotencyStore(2);
    store.begin('sk', 'executing', fp({}));
    for (const k of ['a', 'b', 'c']) {
      store.begin('sk', k, fp({}));
      store.complete('sk', k, created);
    }
    expect(store.begin('sk', 'a', fp({ other: 'x' }))).toEqual({ kind: 'new' });
    expect(store.begin('sk', 'b', fp({})).kind).toBe('replay');
    expect(store.begin('sk', 'executing', fp({}))).toEqual({ kind: 'in-flight' });
  });

  it('keeps its own copy of the answer', () => {
    const store = new IdempotencyStore(10);
    const answer = { status: 200, body: { id: 'pi_1' } };
    store.begin('sk', 'k1', fp({}));
    store.complete('sk', 'k1', answer);
    answer.body.id = 'changed';
    expect(store.begin('sk', 'k1', fp({}))).toEqual({ kind: 'replay', response: { status: 200, body: { id: 'pi_1' } } });
  });
});
