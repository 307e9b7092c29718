import { describe, expect, it } from 'vitest';
import { FaultScript } from '../../stripe-server/faults.js';

/** The fault script's order and matching (test/stripe-server/faults.ts); what each fault does on the wire is in test/integration/stripe-server/faults.test.ts. */
describe('FaultScript', () => {
  const post = (path: string, idempotencyKey: string | null = null) => ({ method: 'POST', path, idempotencyKey });

  it('hands each request the first entry that matches it, in the order scripted', () => {
    const faults = new FaultScript(10);
    faults.next({ match: { path: '/v1/refunds' }, fault: { t: 'drop', when: 'before' } });
    faults.next({ match: { method: 'POST' }, fault: { t: 'status', status: 500, when: 'before' } });
    faults.next({ match: { method: 'POST' }, fault: { t: 'status', status: 429, when: 'before' } });
    expect(faults.take(post('/v1/payment_intents'))?.fault).toEqual({ t: 'status', status: 500, when: 'before' });
    expect(faults.take(post('/v1/refunds'))?.fault).toEqual({ t: 'drop', when: 'before' });
    expect(faults.take(post('/v1/refunds'))?.fault).toEqual({ t: 'status', status: 429, when: 'before' });
    expect(faults.take(post('/v1/refunds'))).toBeUndefined();
  });

  it('matches a path exactly as a string, by test as a RegExp, and by idempotency key', () => {
    const faults = new FaultScript(10);
    faults.next({ match: { path: '/v1/payment_intents' }, fault: { t: 'drop', when: 'after' } });
    faults.next({ match: { path: /\/capture$/ }, fault: { t: 'drop', when: 'after' } });
    faults.next({ match: { idempotencyKey: /^co-1:/ }, fault: { t: 'drop', when: 'after' } });
    expect(faults.take(post('/v1/payment_intents/pi_1'))).toBeUndefined();
    expect(faults.take({ method: 'GET', path: '/v1/payment_intents/pi_1/capture', idempotencyKey: null })).toBeDefined();
    expect(faults.take(post('/v1/refunds', 'co-2:refund'))).toBeUndefined();
    expect(faults.take(post('/v1/refunds', 'co-1:refund'))).toBeDefined();
    expect(faults.pending()).toBe(1);
  });

  it('stays until taken `times` times; reached resolves at the first, consumed at the last', async () => {
    const faults = new FaultScript(10);
    const handle = faults.next({ fault: { t: 'drop', when: 'before' }, times: 2 });
    const seen: string[] = [];
    void handle.reached.then(() => seen.push('reached'));
    void handle.consumed.then(() => seen.push('consumed'));
    faults.take(post('/a'));
    await Promise.resolve();
    expect(seen).toEqual(['reached']);
    expect(handle.taken).toBe(1);
    faults.take(post('/a'));
    await Promise.resolve();
    expect(seen).toEqual(['reached', 'consumed']);
    expect(faults.take(post('/a'))).toBeUndefined();
  });

  it('lets held requests go on at release, and at clear', async () => {
    const faults = new FaultScript(10);
    const handle = faults.next({ fault: { t: 'hold', when: 'before' } });
    const taken = faults.take(post('/a'))!;
    let released = false;
    void taken.released.then(() => (released = true));
    await Promise.resolve();
    expect(released).toBe(false);
    handle.release();
    await Promise.resolve();
    expect(released).toBe(true);

    faults.next({ fault: { t: 'hold', when: 'after' } });
    const second = faults.take(post('/a'))!;
    let cleared = false;
    void second.released.then(() => (cleared = true));
    faults.next({ fault: { t: 'drop', when: 'before' } });
    expect(faults.clear()).toBe(1);
    await Promise.resolve();
    expect(cleared).toBe(true);
  });

  it.each([
    ['times of 0', { fault: { t: 'drop', when: 'before' }, times: 0 }],
    ['a negative delay', { fault: { t: 'delay', ms: -1, when: 'before' } }],
    ['a status other than 429, 500 or 503', { fault: { t: 'status', status: 502, when: 'before' } }],
  ])('throws for %s (a bug in the test)', (_name, spec) => {
    expect(() => new FaultScript(10).next(spec as never)).toThrow();
  });

  it('throws past faultsMax waiting entries', () => {
    const faults = new FaultScript(1);
    faults.next({ fault: { t: 'drop', when: 'before' } });
    expect(() => faults.next({ fault: { t: 'drop', when: 'before' } })).toThrow(/faultsMax/);
  });
});
