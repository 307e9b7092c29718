import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metricLimits } from '../../../src/config/limits.js';
import type { PaymentProvider } from '../../../src/payments/provider.js';
import { scrapeMetrics, type Scrape } from '../../support/metrics-scrape.js';
import { startTestNode, stock, testAddress, type TestNode } from '../../support/node-harness.js';
import { scriptedPayments, timeoutCard } from '../../support/scripted-payments.js';

/** The scripted provider with its authorize calls counted (what boxoffice_payment_seconds{call="authorize"} must count). */
function countingPayments() {
  const scripted = scriptedPayments();
  const p = scripted.provider;
  const calls = { authorize: 0, timeouts: 0 };
  const provider: PaymentProvider = Object.assign(Object.create(Object.getPrototypeOf(p) as object) as PaymentProvider, p, {
    authorize: async (req: Parameters<PaymentProvider['authorize']>[0]) => {
      calls.authorize++;
      try {
        return await p.authorize(req);
      } catch (err) {
        if ((err as Error).name === 'PaymentTimeoutError') calls.timeouts++;
        throw err;
      }
    },
  });
  return { provider, calls };
}

const buy = (sku: string, paymentMethod = 'pm_card_visa') => ({ items: [{ sku, qty: 1 }], paymentMethod, address: testAddress });

/**
 * A small sale on a real node, then one scrape of GET /metrics: every business metric must say what the test saw.
 * PostgreSQL and PGlite both: the backlog gauges are read from the database.
 */
describe.each(['pg', 'pglite'] as const)('business metrics after a sale (%s)', (driver) => {
  let t: TestNode;
  const payments = countingPayments();
  /** The outcome each answer counts as (replays count nothing), tallied from what the node answered. */
  const seen = new Map<string, number>();
  let scrape: Scrape;

  const checkout = async (key: string, body: unknown, expected: { status: number; outcome: string | null }) => {
    const r = await fetch(`${t.base}/api/checkout`, { method: 'POST', headers: { 'content-type': 'application/json', 'idempotency-key': key }, body: JSON.stringify(body) });
    expect(r.status, `${key}: ${await r.clone().text()}`).toBe(expected.status);
    expect(r.headers.get('idempotent-replayed') === 'true').toBe(expected.outcome === null);
    if (expected.outcome !== null) seen.set(expected.outcome, (seen.get(expected.outcome) ?? 0) + 1);
  };

  beforeAll(async () => {
    // The sweeper stays away (a long interval): the pending order stays pending and no background call is counted.
    t = await startTestNode({ driver, env: { SWEEP_INTERVAL_MS: '600000' }, node: { payments: payments.provider } });
    await stock(t, 'MET-A', 3);
    await stock(t, 'MET-B', 100);
    for (const key of ['a-1', 'a-2', 'a-3']) await checkout(key, buy('MET-A'), { status: 201, outcome: 'confirmed' });
    await checkout('a-4', buy('MET-A'), { status: 409, outcome: 'sold_out' });
    await checkout('a-5', buy('MET-A'), { status: 409, outcome: 'sold_out' });
    await checkout('a-1', buy('MET-A'), { status: 201, outcome: null });
    await checkout('a-1', buy('MET-B'), { status: 422, outcome: 'conflict' });
    await checkout('b-declined', buy('MET-B', 'pm_card_chargeDeclined'), { status: 402, outcome: 'declined' });
    await checkout('b-pending', buy('MET-B', timeoutCard), { status: 202, outcome: 'pending' });
    await checkout('b-invalid', { items: [{ sku: 'MET-B', qty: 0 }], paymentMethod: 'pm_card_visa', address: testAddress }, { status: 400, outcome: 'rejected' });
    // Made-up SKUs (a hostile client): rejected, and never a hot-SKU series (label values are product SKUs only).
    for (let i = 0; i < 3; i++) await checkout(`x-${i}`, buy(`MADE-UP-${i}`), { status: 404, outcome: 'rejected' });
    await stock(t, 'MET-C', 5);
    const cart = await t.call('POST', '/api/cart/items', { sku: 'MET-C', qty: 2 });
    expect(cart.status).toBe(201);
    await checkout('c-cart', { cartId: cart.body.cartId, paymentMethod: 'pm_card_visa', address: testAddress }, { status: 201, outcome: 'confirmed' });
    const hold = await t.admin('POST', '/api/inventory/MET-B/holds', { qty: 2 });
    expect(hold.status).toBe(201);
    scrape = await scrapeMetrics(t.base);
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('counts every checkout this node answered by outcome, replays left out', () => {
    for (const [outcome, n] of seen) expect(scrape.value('boxoffice_checkouts_total', { outcome }), outcome).toBe(n);
    for (const outcome of ['overloaded', 'error']) expect(scrape.value('boxoffice_checkouts_total', { outcome })).toBe(0);
  });

  it('counts the sold-out answers by path, and no oversold unit', () => {
    const edge = scrape.value('boxoffice_sold_out_answers_total', { path: 'edge' })!;
    const actor = scrape.value('boxoffice_sold_out_answers_total', { path: 'actor' })!;
    expect(edge + actor).toBe(seen.get('sold_out'));
    expect(scrape.value('boxoffice_oversold_units_total')).toBe(0);
    expect(scrape.value('boxoffice_oversold_units')).toBe(0);
  });

  it("reports the open holds: the admin hold and the pending order's hold (active until its TTL), none pinned", () => {
    // A hold is pinned only between a payment's authorization and its order's commit (unit-tested in the registry).
    expect(scrape.value('boxoffice_holds_active')).toBe(2);
    expect(scrape.value('boxoffice_holds_pinned')).toBe(0);
  });

  it('reports the pending order and the authorizations not yet captured (this node runs the chores)', () => {
    expect(scrape.value('boxoffice_orders_pending')).toBe(1);
    expect(scrape.value('boxoffice_order_pending_oldest_age_seconds')).toBeGreaterThanOrEqual(0);
    expect(scrape.value('boxoffice_authorizations_outstanding')).toBe(4);
    expect(scrape.value('boxoffice_webhook_lag_seconds')).toBe(0);
  });

  it('names the SKUs sold among the hot SKUs, with their stock, at most N of them', () => {
    const rates = scrape.series('boxoffice_hot_sku_checkouts_per_second');
    expect(rates.length).toBeLessThanOrEqual(metricLimits.hotSkusTopN);
    const named = [...rates, ...scrape.series('boxoffice_hot_sku_available')].map((s) => s.labels['sku']);
    expect(named.filter((sku) => sku?.startsWith('MADE-UP'))).toEqual([]);
    // MET-A: three sales, two sold-out answers and the conflicting retry went to MET-B's count (its body names MET-B).
    const attemptsA = rates.find((s) => s.labels['sku'] === 'MET-A')!.value * metricLimits.hotSkuWindowS;
    expect(Math.round(attemptsA)).toBe(6);
    expect(scrape.value('boxoffice_hot_sku_available', { sku: 'MET-A' })).toBe(0);
    expect(scrape.value('boxoffice_hot_sku_available', { sku: 'MET-B' })).toBe(100 - 1 - 2);
    // A cart checkout counts its lines once the cart is read.
    expect(scrape.value('boxoffice_hot_sku_checkouts_per_second', { sku: 'MET-C' })! * metricLimits.hotSkuWindowS).toBeCloseTo(1, 6);
    expect(scrape.value('boxoffice_hot_sku_available', { sku: 'MET-C' })).toBe(3);
    // The same ranking from code, for a dashboard.
    const top = t.node.services.hotSkus!();
    expect(top.map((h) => h.sku).sort()).toEqual(rates.map((s) => s.labels['sku']).sort());
    expect(top[0]).toEqual({ sku: 'MET-A', available: 0, checkoutsPerSecond: 6 / metricLimits.hotSkuWindowS });
  });

  it('reports the partitions served and how they were acquired', () => {
    expect(scrape.value('boxoffice_partitions_served')).toBe(64);
    expect(scrape.value('boxoffice_partition_acquisitions_total', { reason: 'start' })).toBe(64);
    expect(scrape.value('boxoffice_partition_moves_total')).toBe(0);
  });

  it('has journal batches in its histograms', () => {
    expect(scrape.value('boxoffice_journal_batch_events_count')).toBeGreaterThan(0);
    expect(scrape.value('boxoffice_journal_batch_events_sum')).toBeGreaterThanOrEqual(scrape.value('boxoffice_journal_batch_events_count')!);
    expect(scrape.value('boxoffice_journal_batch_commit_seconds_count')).toBe(scrape.value('boxoffice_journal_batch_events_count'));
  });

  it('times every authorization and counts the failed ones by kind', () => {
    expect(payments.calls.authorize).toBeGreaterThanOrEqual(5);
    expect(scrape.value('boxoffice_payment_seconds_count', { call: 'authorize' })).toBe(payments.calls.authorize);
    expect(scrape.value('boxoffice_payment_authorize_seconds_count')).toBe(payments.calls.authorize);
    expect(scrape.value('boxoffice_payment_errors_total', { call: 'authorize', kind: 'declined' })).toBe(1);
    expect(scrape.value('boxoffice_payment_errors_total', { call: 'authorize', kind: 'timeout' })).toBe(payments.calls.timeouts);
  });

  it('reports the deepest mailboxes per actor kind and the event-loop lag', () => {
    expect(scrape.value('boxoffice_mailbox_depth', { kind: 'inventory' })).toBeGreaterThanOrEqual(0);
    expect(scrape.value('boxoffice_mailbox_depth', { kind: 'checkout' })).toBeGreaterThanOrEqual(0);
    expect(scrape.value('boxoffice_event_loop_lag_seconds')).toBeGreaterThanOrEqual(0);
  });
});

describe('metric cardinality after a sale of many SKUs', () => {
  let t: TestNode;
  beforeAll(async () => {
    t = await startTestNode({ driver: 'pg' });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('names no order, key, customer or id in a label, and bounds the sku series', async () => {
    const skus = Array.from({ length: 50 }, (_, i) => `CARD-${i}`);
    for (const sku of skus) await stock(t, sku, 1);
    await Promise.all(skus.map(async (sku, i) => {
      const r = await t.call('POST', '/api/checkout', buy(sku), { 'idempotency-key': `card-${i}` });
      expect(r.status).toBe(201);
    }));
    const scrape = await scrapeMetrics(t.base);
    const labelNames = new Set(scrape.samples.flatMap((s) => Object.keys(s.labels)));
    expect([...labelNames].filter((l) => /order|key|customer|(^|_)id$/i.test(l))).toEqual([]);
    const bySku = scrape.samples.filter((s) => s.labels['sku'] !== undefined);
    expect(bySku.length).toBeGreaterThan(0);
    const perMetric = new Map<string, number>();
    for (const s of bySku) perMetric.set(s.name, (perMetric.get(s.name) ?? 0) + 1);
    for (const [name, n] of perMetric) {
      const bound = name.startsWith('boxoffice_drop_') ? metricLimits.dropSkuLabelsMax + 1 : metricLimits.hotSkusTopN;
      expect(n, name).toBeLessThanOrEqual(bound);
    }
    expect(perMetric.get('boxoffice_hot_sku_checkouts_per_second')).toBe(metricLimits.hotSkusTopN);
  });
});
