import type Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { matchesQuery, parseSearchQuery } from '../../stripe-server/search-query.js';

/** Stripe's search query language, the PaymentIntent part (test/stripe-server/search-query.ts). */
describe('parseSearchQuery', () => {
  it.each([
    ["metadata['checkout_id']:'co-1'", { join: 'AND', clauses: [{ negate: false, field: { kind: 'metadata', key: 'checkout_id' }, op: ':', value: 'co-1' }] }],
    ['metadata["order_id"]:"o-1"', { join: 'AND', clauses: [{ negate: false, field: { kind: 'metadata', key: 'order_id' }, op: ':', value: 'o-1' }] }],
    ["metadata['order_id']:null", { join: 'AND', clauses: [{ negate: false, field: { kind: 'metadata', key: 'order_id' }, op: ':', value: null }] }],
    ["-status:'canceled'", { join: 'AND', clauses: [{ negate: true, field: { kind: 'string', name: 'status' }, op: ':', value: 'canceled' }] }],
    ['amount>=1000', { join: 'AND', clauses: [{ negate: false, field: { kind: 'number', name: 'amount' }, op: '>=', value: 1000 }] }],
    ["metadata['q']:'it\\'s'", { join: 'AND', clauses: [{ negate: false, field: { kind: 'metadata', key: 'q' }, op: ':', value: "it's" }] }],
  ])('reads %s', (text, expected) => {
    expect(parseSearchQuery(text, 10)).toEqual({ ok: true, query: expected });
  });

  it('reads clauses joined by AND, and by OR', () => {
    const and = parseSearchQuery("metadata['checkout_id']:'c' AND status:'requires_capture'", 10);
    const or = parseSearchQuery("currency:'usd' OR currency:'eur'", 10);
    expect(and.ok && and.query.join).toBe('AND');
    expect(and.ok && and.query.clauses).toHaveLength(2);
    expect(or.ok && or.query.join).toBe('OR');
  });

  it.each([
    ['AND mixed with OR', "currency:'usd' AND status:'succeeded' OR amount>1"],
    ['more clauses than allowed', Array.from({ length: 4 }, (_, i) => `amount>${i}`).join(' AND ')],
    ['an unknown field', "email:'a@b.c'"],
    ['metadata compared with >', "metadata['n']>'1'"],
    ['a string field without quotes', 'status:succeeded'],
    ['a number field with a string', "amount:'1000'"],
    ['a missing join', "currency:'usd' status:'succeeded'"],
    ['an empty query', ''],
  ])('refuses %s', (_name, text) => {
    expect(parseSearchQuery(text, 3).ok).toBe(false);
  });
});

describe('matchesQuery', () => {
  const pi = { amount: 1500, currency: 'usd', status: 'requires_capture', customer: null, created: 1_700_000_000, metadata: { checkout_id: 'co-1' } } as unknown as Stripe.PaymentIntent;
  const matches = (text: string) => {
    const parsed = parseSearchQuery(text, 10);
    if (!parsed.ok) throw new Error(parsed.message);
    return matchesQuery(pi, parsed.query);
  };

  it.each([
    ["metadata['checkout_id']:'co-1'", true],
    ["metadata['checkout_id']:'co-2'", false],
    ["metadata['checkout_id']:'CO-1'", true],
    ["metadata['order_id']:null", true],
    ["metadata['checkout_id']:null", false],
    ["status:'requires_capture' AND currency:'usd'", true],
    ["status:'requires_capture' AND currency:'eur'", false],
    ["currency:'eur' OR amount>1000", true],
    ["-status:'requires_capture'", false],
    ['amount<1500', false],
    ['amount<=1500', true],
    ["customer:'cus_1'", false],
  ])('%s → %s', (text, expected) => {
    expect(matches(text)).toBe(expected);
  });
});
