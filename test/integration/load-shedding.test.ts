import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestNode, stock, testAddress, type TestNode } from '../support/node-harness.js';

/**
 * Load shedding (issue 11): past CHECKOUTS_IN_FLIGHT_MAX checkouts in flight, a new checkout answers 429 OVERLOADED
 * with Retry-After and changes nothing — no hold, no order, no stored key — so the same key sent again later runs as
 * if it were new. The bench's `overload` scenario measures the rate kept under ten times the load.
 */
describe('load shedding', () => {
  const inFlightMax = 16;
  const onHand = 1_000;
  let t: TestNode;
  beforeAll(async () => {
    t = await startTestNode({ env: { CHECKOUTS_IN_FLIGHT_MAX: String(inFlightMax), SIM_PAYMENT_LATENCY_MS: '100' } });
    await stock(t, 'SHED-A', onHand);
  });
  afterAll(async () => {
    await t?.stop();
  });

  const buy = (key: string) => t.call('POST', '/api/checkout', { items: [{ sku: 'SHED-A', qty: 1 }], paymentMethod: 'pm_card_visa', address: testAddress }, { 'idempotency-key': key });

  it('answers 429 OVERLOADED with Retry-After past the bound, changes nothing by it, and sells to the same keys later', async () => {
    const keys = Array.from({ length: 200 }, (_, i) => `shed-${i}`);
    const first = await Promise.all(keys.map(buy));
    const shed = first.flatMap((r, i) => (r.status === 429 ? [keys[i]!] : []));
    const sold = first.filter((r) => r.status === 201).length;
    expect(first.every((r) => r.status === 201 || r.status === 429), JSON.stringify(first.map((r) => r.status))).toBe(true);
    expect(sold).toBeGreaterThanOrEqual(inFlightMax);
    expect(shed.length).toBeGreaterThan(0);
    for (const r of first.filter((x) => x.status === 429)) {
      expect(r.body.error.code).toBe('OVERLOADED');
      expect(r.headers.get('retry-after')).toBe('1');
    }
    // A refusal held nothing: the stock counts only the orders.
    expect((await t.call('GET', '/api/inventory/SHED-A')).body).toMatchObject({ onHand, available: onHand - sold, held: 0 });

    // The shed keys were never stored: sent again, within the bound, each one buys (201, not a replay of the 429).
    for (let i = 0; i < shed.length; i += inFlightMax) {
      const again = await Promise.all(shed.slice(i, i + inFlightMax).map(buy));
      for (const r of again) {
        expect(r.status).toBe(201);
        expect(r.headers.get('idempotent-replayed')).toBeNull();
      }
    }
    expect((await t.call('GET', '/api/inventory/SHED-A')).body).toMatchObject({ available: onHand - keys.length, held: 0 });
  });
});
