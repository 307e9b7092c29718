import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shuffledOrder } from '../../../src/domain/drop-queue.js';
import { openSql, type SqlClient } from '../../../src/persistence/sql.js';
import { startCluster, type TestCluster } from '../../support/cluster-harness.js';
import { testAddress } from '../../support/node-harness.js';
import { intBelow, seededRng, seedToRun, type Rng } from '../../support/seeded-random.js';
import { eventually } from '../cluster/redis-support.js';

const buyersCount = 10_000;
const units = 150;
const sku = 'DROP-X';

/** Runs `fn` over `items` with at most `width` in flight. */
async function pool<T>(items: readonly T[], width: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i]!, i);
    }
  }));
}

/**
 * The test: 10,000 buyers queue for a drop across three nodes (real processes, PostgreSQL, Redis), joining
 * at any node; buyers admitted buy (or not) at any node. Checked: admission follows the published queue order, no
 * unit is sold without a token, no customer buys over the limit, and every buyer still waiting hears it sold out.
 */
/** Attempts of one checkout answered 429 or 503, and the wait between them (a storefront honouring Retry-After). */
const retriesMax = 10;
const retryAfterMs = 250;

describe('a drop with 10,000 buyers on three nodes', () => {
  let c: TestCluster;
  let sql: SqlClient;
  const seed = seedToRun(12);
  const rng: Rng = seededRng(seed);
  const ticketOfMap = new Map<string, string>();
  const impliedAdmitted: number[] = [];
  const call = async (i: number, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(c.url(i) + path, { method, headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    return { status: res.status, body: (await res.json()) as any };
  };

  beforeAll(async () => {
    c = await startCluster({ nodes: 3, env: { LOG_LEVEL: 'info' } });
    sql = await openSql({ databaseUrl: c.databaseUrl, dataDir: '', poolSize: 2 });
  }, 240_000);
  afterAll(async () => {
    await sql?.close();
    await c?.stop();
  });

  it(`admits in queue order, sells only with tokens and within the limit, and tells everyone waiting (seed ${seed})`, async () => {
    expect((await c.admin(0, 'PUT', `/api/products/${sku}`, { name: 'Drop', priceMinor: 1_000, currency: 'USD', weightGrams: 100 })).status).toBe(200);
    expect((await c.admin(1, 'PUT', `/api/inventory/${sku}`, { onHand: units })).status).toBe(200);
    const far = new Date(Date.now() + 600_000).toISOString();
    expect((await c.admin(2, 'PUT', `/api/drops/${sku}`, { startsAt: far, perCustomerLimit: 1, admissionTtlMs: 5_000 })).status).toBe(200);

    // Everyone joins before the start, at any node; some join twice at another node and get the same ticket.
    const startedMs = performance.now();
    const customers = Array.from({ length: buyersCount }, (_, i) => `cust-${i}`);
    await pool(customers, 48, async (customerId, i) => {
      const r = await call(i % 3, 'POST', `/api/drops/${sku}/queue`, { customerId });
      expect([r.status, r.body.position]).toEqual([202, null]);
      ticketOfMap.set(customerId, r.body.ticket);
    });
    await pool(customers.slice(0, 200), 24, async (customerId, i) => {
      const r = await call((i + 1) % 3, 'POST', `/api/drops/${sku}/queue`, { customerId });
      expect(r.body.ticket).toBe(ticketOfMap.get(customerId));
    });
    expect((await call(1, 'GET', `/api/drops/${sku}`)).body).toMatchObject({ state: 'scheduled', queued: buyersCount, shuffleSeed: null });
    console.log(`drop joins: ${buyersCount} in ${Math.round(performance.now() - startedMs)} ms`);

    // Start now; the seed is published and the order is recomputed here from it alone.
    expect((await c.admin(0, 'PUT', `/api/drops/${sku}`, { startsAt: new Date(Date.now() + 300).toISOString(), perCustomerLimit: 1, admissionTtlMs: 5_000 })).status).toBe(200);
    let shuffleSeed: string | null = null;
    await eventually(async () => (shuffleSeed = (await call(2, 'GET', `/api/drops/${sku}`)).body.shuffleSeed) !== null, 10_000);
    const order = shuffledOrder(shuffleSeed!, customers.map((customerId, i) => ({ customerId, seq: i + 1 }))).map((b) => b.customerId);

    const joinedMs = performance.now();
    const stats = await runSale(order);
    console.log(`drop sale: ${JSON.stringify(stats)}; joins and start ${Math.round(joinedMs - startedMs)} ms, sale ${Math.round(performance.now() - joinedMs)} ms`);
    expect(stats.refusedWithoutToken).toBeGreaterThan(0);
    expect(stats.limitRefusals).toBeGreaterThan(0);

    // Every buyer never admitted is told it sold out.
    await eventually(async () => (await call(0, 'GET', `/api/drops/${sku}`)).body.state === 'sold_out', 30_000);
    const notAdmitted = (await sql.query<{ customer_id: string }>('SELECT customer_id FROM drop_tickets WHERE sku = $1 AND admitted_at_ms IS NULL', [sku])).map((r) => r.customer_id);
    expect(notAdmitted.length).toBeGreaterThan(buyersCount - units * 2);
    const states = new Map<string, number>();
    await pool(notAdmitted, 48, async (customerId, i) => {
      const r = await call(i % 3, 'GET', `/api/drops/${sku}/queue/${ticketOf(customerId)}`);
      states.set(r.body.state, (states.get(r.body.state) ?? 0) + 1);
    });
    expect(Object.fromEntries(states)).toEqual({ sold_out: notAdmitted.length });
    console.log(`drop sold-out polls: ${notAdmitted.length} in ${Math.round(performance.now() - joinedMs)} ms since the start`);
    await checkTables(order);
  }, 240_000);

  /** Buyers at the head of the queue poll; the admitted buy at a random node, with the faults the seed picks. */
  async function runSale(order: string[]) {
    const stats = { bought: 0, refusedWithoutToken: 0, limitRefusals: 0, walkedAway: 0, tooLate: 0 };
    const handled = new Set<string>();
    const buying: Promise<void>[] = [];
    let front = 0;
    const deadline = performance.now() + 90_000;
    for (;;) {
      expect(performance.now(), 'the drop sells out in time').toBeLessThan(deadline);
      const window = order.slice(front, front + 160);
      const views = await Promise.all(window.map((cust, i) => call((front + i) % 3, 'GET', `/api/drops/${sku}/queue/${ticketOf(cust)}`).then((r) => r.body)));
      // A waiting ticket's position is its place in the order recomputed here from the seed, minus the buyers
      // admitted when it was polled: that implied count must be one the drop could have had then.
      views.forEach((v, i) => {
        if (v.state !== 'waiting') return;
        const admittedThen = front + i - (v.position as number) + 1;
        expect(admittedThen).toBeGreaterThanOrEqual(0);
        expect(admittedThen).toBeLessThanOrEqual(front + i);
        impliedAdmitted.push(admittedThen);
      });
      views.forEach((v, i) => {
        if (v.state === 'admitted' && !handled.has(window[i]!)) {
          handled.add(window[i]!);
          buying.push(buy(window[i]!, v.admissionToken, Date.parse(v.expiresAt), stats));
        }
      });
      while (front < order.length && handled.has(order[front]!)) front++;
      if (views.some((v) => v.state === 'sold_out')) break;
      await new Promise((r) => setTimeout(r, 50)); // poll interval of a buyer's client, bounded by the deadline above
    }
    await Promise.all(buying);
    return stats;
  }

  async function buy(customerId: string, token: string, expiresAtMs: number, stats: { bought: number; refusedWithoutToken: number; limitRefusals: number; walkedAway: number; tooLate: number }): Promise<void> {
    const r = rng();
    const node = intBelow(rng, 3);
    // As a storefront does: a 429 or 503 (the machine overloaded, a partition in motion) is sent again, same key.
    const checkout = async (key: string, t: string | null, n = node) => {
      for (let attempt = 1; ; attempt++) {
        const r = await call(n, 'POST', '/api/checkout', { items: [{ sku, qty: 1 }], paymentMethod: 'pm_card_visa', address: testAddress, customerId }, { 'idempotency-key': key, ...(t ? { 'admission-token': t } : {}) });
        if ((r.status !== 429 && r.status !== 503) || attempt >= retriesMax) return r;
        await new Promise((resolve) => setTimeout(resolve, retryAfterMs));
      }
    };
    if (r < 0.06) {
      stats.walkedAway++;
      return;
    }
    if (r < 0.12) {
      const refused = await checkout(`${customerId}-no-token`, null);
      expect(refused.body.error?.code).toBe('ADMISSION_REQUIRED');
      stats.refusedWithoutToken++;
    }
    if (r > 0.9) {
      // The same customer buys twice at once on two nodes: at most one gets the unit.
      const both = await Promise.all([checkout(`${customerId}-a`, token, 0), checkout(`${customerId}-b`, token, 1)]);
      const codes = both.map((x) => (x.status === 201 ? 'ok' : x.body.error.code)).sort();
      if (codes.includes('ADMISSION_REQUIRED')) expect(Date.now(), 'only an expired token is refused').toBeGreaterThanOrEqual(expiresAtMs - 1_000);
      expect(codes.filter((x) => x === 'ok').length).toBeLessThanOrEqual(1);
      stats.limitRefusals += codes.filter((x) => x === 'PURCHASE_LIMIT_REACHED').length;
      stats.bought += codes.filter((x) => x === 'ok').length;
      return;
    }
    const ok = await checkout(`${customerId}-buy`, token);
    if (ok.status === 403) {
      // A buyer too slow for admissionTtlMs (a loaded machine) is refused like one who walked away.
      expect([ok.body.error.code, Date.now() >= expiresAtMs - 1_000]).toEqual(['ADMISSION_REQUIRED', true]);
      stats.tooLate++;
      return;
    }
    expect([201, 409]).toContain(ok.status);
    if (ok.status === 201) stats.bought++;
  }

  function ticketOf(customerId: string): string {
    return ticketOfMap.get(customerId)!;
  }

  /** The tables agree: admissions a prefix of the order, in order; every sold unit claimed with a token; nobody over the limit. */
  async function checkTables(order: string[]): Promise<void> {
    const tickets = await sql.query<{ customer_id: string; admitted_at_ms: string | null }>('SELECT customer_id, admitted_at_ms FROM drop_tickets WHERE sku = $1', [sku]);
    const admittedAt = new Map(tickets.map((t) => [t.customer_id, t.admitted_at_ms === null ? null : Number(t.admitted_at_ms)]));
    const admittedCount = tickets.filter((t) => t.admitted_at_ms !== null).length;
    expect(impliedAdmitted.length).toBeGreaterThan(0);
    expect(Math.max(...impliedAdmitted)).toBeLessThanOrEqual(admittedCount);
    const head = order.slice(0, admittedCount).map((cst) => admittedAt.get(cst));
    expect(head.every((x) => x !== null), 'the admitted are exactly the head of the queue').toBe(true);
    expect(head.every((x, i) => i === 0 || x! >= head[i - 1]!), 'admitted in queue order').toBe(true);
    const sold = await sql.query<{ user_id: string; idempotency_key: string; qty: number }>(
      `SELECT o.user_id, o.idempotency_key, i.qty FROM orders o JOIN order_items i USING (order_id) WHERE i.sku = $1 AND o.status NOT IN ('failed', 'cancelled')`,
      [sku],
    );
    const claims = await sql.query<{ claim_key: string; customer_id: string }>('SELECT claim_key, customer_id FROM drop_claims WHERE sku = $1', [sku]);
    // Orders name their customer by customer key (`cus:<customerId>`, customerKeyOf).
    const claimOf = new Map(claims.map((x) => [x.claim_key, `cus:${x.customer_id}`]));
    expect(sold.filter((s) => claimOf.get(s.idempotency_key) !== s.user_id), 'every sold unit was claimed with a token').toEqual([]);
    const perCustomer = new Map<string, number>();
    for (const s of sold) perCustomer.set(s.user_id, (perCustomer.get(s.user_id) ?? 0) + s.qty);
    expect([...perCustomer.values()].filter((n) => n > 1), 'nobody over the limit').toEqual([]);
    expect(sold.reduce((n, s) => n + s.qty, 0)).toBe(units);
  }
});
