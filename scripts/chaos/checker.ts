import type { Attempt, Operation } from './history.js';
import { summarizeKeys, type KeySummary } from './history.js';
import type { FinalState, OrderRow } from './final-state.js';

/**
 * The checks of a chaos run, a pure function of the history, the final state and the stock the run began with
 * (Jepsen's "set" and "bank" checks, plus the money and hold invariants of DESIGN.md):
 *
 * - set: every key acknowledged with 201 has exactly that order, confirmed; a key answered with a verdict (declined,
 *   out of stock, hold expired) or only ever refused has no confirmed order; no key has two; no order has a key
 *   the clients never sent.
 * - bank: for every SKU, onHand = initial stock = available + held + sold, none negative, sold = the units of its
 *   confirmed orders (so never more than the stock).
 * - holds: none still held once the run is over.
 * - money: per checkout key at most one PaymentIntent authorized and at most one captured; every confirmed order's
 *   key has an authorized one.
 */
export interface CheckInput {
  operations: readonly Operation[];
  attempts: readonly Attempt[];
  final: FinalState;
  /** Units each SKU was stocked with before the sale. */
  initialStock: ReadonlyMap<string, number>;
}

export interface Violation {
  check: 'set' | 'bank' | 'holds' | 'money';
  message: string;
}

export interface CheckResult {
  valid: boolean;
  violations: Violation[];
  keys: { ok: number; failed: number; unknown: number };
  confirmedOrders: number;
}

/** Violations listed per check are capped so one broken run prints a readable report. */
export const violationsPerCheckMax = 20;

export function checkHistory(input: CheckInput): CheckResult {
  const summaries = summarizeKeys(input.operations.map((o) => o.key), input.attempts);
  const violations = [...checkSet(summaries, input.final.orders), ...checkBank(input), ...checkHolds(input.final), ...checkMoney(input.final)];
  const capped = (['set', 'bank', 'holds', 'money'] as const).flatMap((c) => violations.filter((v) => v.check === c).slice(0, violationsPerCheckMax));
  const keys = { ok: 0, failed: 0, unknown: 0 };
  for (const s of summaries) keys[s.outcome]++;
  return { valid: violations.length === 0, violations: capped, keys, confirmedOrders: input.final.orders.filter((o) => o.status === 'confirmed').length };
}

function checkSet(summaries: readonly KeySummary[], orders: readonly OrderRow[]): Violation[] {
  const out: Violation[] = [];
  const byKey = new Map<string, OrderRow[]>();
  for (const o of orders) byKey.set(o.key, [...(byKey.get(o.key) ?? []), o]);
  const sent = new Set(summaries.map((s) => s.key));
  for (const o of orders) if (!sent.has(o.key)) out.push({ check: 'set', message: `order ${o.orderId} has key ${o.key}, which no client sent` });
  for (const s of summaries) {
    const rows = byKey.get(s.key) ?? [];
    const confirmed = rows.filter((r) => r.status === 'confirmed');
    if (confirmed.length > 1) out.push({ check: 'set', message: `key ${s.key} has ${confirmed.length} confirmed orders (${confirmed.map((r) => r.orderId).join(', ')})` });
    if (s.outcome === 'ok') {
      const acked = rows.find((r) => r.orderId === s.ackedOrderId);
      if (acked === undefined) out.push({ check: 'set', message: `key ${s.key}: acknowledged order ${s.ackedOrderId} is missing` });
      else if (acked.status !== 'confirmed') out.push({ check: 'set', message: `key ${s.key}: acknowledged order ${s.ackedOrderId} is ${acked.status}, not confirmed` });
    }
    if (s.outcome === 'failed' && confirmed.length > 0) out.push({ check: 'set', message: `key ${s.key} was answered as not sold, yet order ${confirmed[0]!.orderId} is confirmed` });
  }
  return out;
}

function checkBank(input: CheckInput): Violation[] {
  const out: Violation[] = [];
  const soldByOrders = new Map<string, number>();
  for (const o of input.final.orders.filter((r) => r.status === 'confirmed')) {
    for (const l of o.lines) soldByOrders.set(l.sku, (soldByOrders.get(l.sku) ?? 0) + l.qty);
  }
  const counts = new Map(input.final.skus.map((s) => [s.sku, s]));
  for (const [sku, initial] of input.initialStock) {
    const c = counts.get(sku);
    const units = soldByOrders.get(sku) ?? 0;
    if (c === undefined) {
      out.push({ check: 'bank', message: `${sku}: no counts were read` });
      continue;
    }
    if (c.onHand !== initial) out.push({ check: 'bank', message: `${sku}: onHand ${c.onHand}, stocked with ${initial}` });
    if (c.available < 0 || c.held < 0 || c.sold < 0) out.push({ check: 'bank', message: `${sku}: a negative count (available ${c.available}, held ${c.held}, sold ${c.sold})` });
    if (c.available + c.held + c.sold !== initial) out.push({ check: 'bank', message: `${sku}: available ${c.available} + held ${c.held} + sold ${c.sold} ≠ stock ${initial}` });
    if (units > initial) out.push({ check: 'bank', message: `${sku}: oversold, confirmed orders hold ${units} units of ${initial}` });
    if (c.sold !== units) out.push({ check: 'bank', message: `${sku}: the SKU counts ${c.sold} sold, its confirmed orders ${units}` });
  }
  for (const sku of soldByOrders.keys()) if (!input.initialStock.has(sku)) out.push({ check: 'bank', message: `${sku}: sold but never stocked by this run` });
  return out;
}

function checkHolds(final: FinalState): Violation[] {
  return final.skus.filter((s) => s.held !== 0).map((s) => ({ check: 'holds' as const, message: `${s.sku}: ${s.held} units still held after the run` }));
}

function checkMoney(final: FinalState): Violation[] {
  const out: Violation[] = [];
  const byKey = new Map<string, { authorized: number; captured: number }>();
  for (const pi of final.intents) {
    if (pi.key === null) {
      out.push({ check: 'money', message: `PaymentIntent ${pi.id} carries no checkout key` });
      continue;
    }
    const t = byKey.get(pi.key) ?? { authorized: 0, captured: 0 };
    if (pi.authorized) t.authorized++;
    if (pi.captured) t.captured++;
    byKey.set(pi.key, t);
  }
  for (const [key, t] of byKey) {
    if (t.authorized > 1) out.push({ check: 'money', message: `key ${key}: ${t.authorized} PaymentIntents authorized` });
    if (t.captured > 1) out.push({ check: 'money', message: `key ${key}: ${t.captured} PaymentIntents captured` });
  }
  for (const o of final.orders.filter((r) => r.status === 'confirmed')) {
    if ((byKey.get(o.key)?.authorized ?? 0) === 0) out.push({ check: 'money', message: `confirmed order ${o.orderId} (key ${o.key}) has no authorized PaymentIntent` });
  }
  return out;
}
