import { describe, expect, it } from 'vitest';
import { checkHistory, type CheckInput } from '../../../scripts/chaos/checker.js';
import type { FinalState } from '../../../scripts/chaos/final-state.js';
import type { Attempt, Operation } from '../../../scripts/chaos/history.js';
import { attemptKind, keyOutcome } from '../../../scripts/chaos/outcome.js';

/**
 * The chaos checker must catch what it exists to catch: each table row below breaks one invariant in an otherwise
 * valid run (two SKUs, three keys: one sold, one declined, one whose answer was lost) and must fail with that check.
 */
const op = (key: string, sku = 'A', qty = 1): Operation => ({ key, lines: [{ sku, qty }], paymentMethod: 'pm_card_visa' });

function attempt(key: string, status: number | null, code: string | null, orderId: string | null = null): Attempt {
  return { client: 0, key, node: 'node-1', invokeMs: 0, completeMs: 1, status, code, orderId, error: status === null ? 'timeout' : null, kind: attemptKind(status, code) };
}

function validRun(): CheckInput {
  const final: FinalState = {
    orders: [
      { orderId: 'ord_1', key: 'k1', status: 'confirmed', lines: [{ sku: 'A', qty: 1 }] },
      { orderId: 'ord_3', key: 'k3', status: 'confirmed', lines: [{ sku: 'A', qty: 1 }] },
    ],
    skus: [
      { sku: 'A', onHand: 2, available: 0, held: 0, sold: 2 },
      { sku: 'B', onHand: 5, available: 5, held: 0, sold: 0 },
    ],
    intents: [
      { id: 'pi_1', key: 'k1', status: 'requires_capture', authorized: true, captured: false },
      { id: 'pi_2', key: 'k2', status: 'requires_payment_method', authorized: false, captured: false },
      { id: 'pi_3', key: 'k3', status: 'succeeded', authorized: true, captured: true },
    ],
  };
  return {
    operations: [op('k1'), op('k2'), op('k3')],
    attempts: [attempt('k1', 201, null, 'ord_1'), attempt('k2', 402, 'PAYMENT_DECLINED'), attempt('k3', null, null), attempt('k3', 503, 'PARTITION_UNAVAILABLE')],
    final,
    initialStock: new Map([['A', 2], ['B', 5]]),
  };
}

describe('the chaos checker', () => {
  it('passes a valid run, counting the unknown key as unknown', () => {
    const r = checkHistory(validRun());
    expect(r.violations).toEqual([]);
    expect(r.valid).toBe(true);
    expect(r.keys).toEqual({ ok: 1, failed: 1, unknown: 1 });
  });

  it('passes a run whose unknown key did not sell either', () => {
    const run = validRun();
    run.final.orders = run.final.orders.filter((o) => o.key !== 'k3');
    run.final.skus[0] = { sku: 'A', onHand: 2, available: 1, held: 0, sold: 1 };
    run.final.intents = run.final.intents.filter((i) => i.key !== 'k3');
    expect(checkHistory(run).violations).toEqual([]);
  });

  const broken: [string, 'set' | 'bank' | 'holds' | 'money', (run: CheckInput) => void][] = [
    ['an acknowledged order is missing (a lost ack)', 'set', (r) => (r.final.orders = r.final.orders.filter((o) => o.key !== 'k1'))],
    ['an acknowledged order is not confirmed', 'set', (r) => (r.final.orders[0]!.status = 'failed')],
    ['a declined key has a confirmed order', 'set', (r) => r.final.orders.push({ orderId: 'ord_2', key: 'k2', status: 'confirmed', lines: [] })],
    ['an unknown key has two confirmed orders', 'set', (r) => r.final.orders.push({ orderId: 'ord_3b', key: 'k3', status: 'confirmed', lines: [] })],
    ['an order has a key nobody sent', 'set', (r) => r.final.orders.push({ orderId: 'ord_x', key: 'kx', status: 'failed', lines: [] })],
    ['orders sell more units than were stocked (oversell)', 'bank', (r) => {
      r.final.orders.push({ orderId: 'ord_4', key: 'k4', status: 'confirmed', lines: [{ sku: 'A', qty: 1 }] });
      r.operations = [...r.operations, op('k4')];
      r.final.intents.push({ id: 'pi_4', key: 'k4', status: 'requires_capture', authorized: true, captured: false });
    }],
    ['the counts do not add up to the stock (conservation)', 'bank', (r) => (r.final.skus[1] = { sku: 'B', onHand: 5, available: 4, held: 0, sold: 0 })],
    ['a count is negative', 'bank', (r) => (r.final.skus[1] = { sku: 'B', onHand: 5, available: 6, held: -1, sold: 0 })],
    ['the SKU counts a sale no order holds', 'bank', (r) => (r.final.skus[1] = { sku: 'B', onHand: 5, available: 4, held: 0, sold: 1 })],
    ['a hold is left at the end', 'holds', (r) => (r.final.skus[1] = { sku: 'B', onHand: 5, available: 4, held: 1, sold: 0 })],
    ['a key has two authorized PaymentIntents', 'money', (r) => r.final.intents.push({ id: 'pi_1b', key: 'k1', status: 'canceled', authorized: true, captured: false })],
    ['a key has two captured PaymentIntents (double capture)', 'money', (r) => r.final.intents.push({ id: 'pi_3b', key: 'k3', status: 'succeeded', authorized: false, captured: true })],
    ['a confirmed order has no authorization', 'money', (r) => (r.final.intents = r.final.intents.filter((i) => i.key !== 'k1'))],
  ];

  it.each(broken)('fails a run where %s', (_label, check, breakIt) => {
    const run = validRun();
    breakIt(run);
    const r = checkHistory(run);
    expect(r.valid).toBe(false);
    expect(r.violations.map((v) => v.check)).toContain(check);
  });
});

describe('outcomes', () => {
  it.each([
    [201, null, 'ok'],
    [402, 'PAYMENT_DECLINED', 'verdict'],
    [409, 'OUT_OF_STOCK', 'verdict'],
    [409, 'HOLD_EXPIRED', 'verdict'],
    [429, 'OVERLOADED', 'refused'],
    [503, 'PAYMENT_PROVIDER_UNAVAILABLE', 'refused'],
    [202, null, 'unknown'],
    [409, 'IDEMPOTENCY_KEY_IN_USE', 'unknown'],
    [503, 'NOT_READY', 'unknown'],
    [503, 'PARTITION_UNAVAILABLE', 'unknown'],
    [502, 'PAYMENT_PROVIDER_ERROR', 'unknown'],
    [null, null, 'unknown'],
  ] as const)('reads %s %s as %s', (status, code, kind) => {
    expect(attemptKind(status, code)).toBe(kind);
  });

  it('makes a key failed only on a verdict or when every attempt was refused', () => {
    expect(keyOutcome(['unknown', 'ok'])).toBe('ok');
    expect(keyOutcome(['unknown', 'verdict'])).toBe('failed');
    expect(keyOutcome(['refused', 'refused'])).toBe('failed');
    expect(keyOutcome(['unknown', 'refused'])).toBe('unknown');
    expect(keyOutcome([])).toBe('unknown');
  });
});
