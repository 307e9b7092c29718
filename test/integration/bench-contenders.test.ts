import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { Client } from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkCorrectness } from '../../bench/contenders/checks.js';
import { startContender, type RunningContender } from '../../bench/contenders/server.js';
import { buyNowBody, postCheckout, type CheckoutAnswer } from '../support/checkout-client.js';
import { createPgTestDatabase } from '../support/databases.js';
import { testAddress } from '../support/node-harness.js';

/**
 * The bench's contenders on real PostgreSQL (a fresh database each) and real Redis (keys under a prefix unique to
 * this run, deleted afterwards): they must sell exactly their stock, keep boxoffice's idempotency contract and
 * hold and release stock, or beating them would prove nothing.
 */
const redisUrl = process.env['BO_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const runPrefix = `bo_test_${randomBytes(6).toString('hex')}:`;
const adminToken = 'contender-test-token';
const hotStock = 20;
const buyers = 100;

const product = (sku: string, onHand: number) => ({ sku, name: `Product ${sku}`, priceMinor: 2_500, currency: 'USD', weightGrams: 300, onHand });

async function call(base: string, method: string, path: string, body?: unknown, admin = false) {
  const headers: Record<string, string> = body === undefined ? {} : { 'content-type': 'application/json' };
  if (admin) headers['authorization'] = `Bearer ${adminToken}`;
  const res = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as any };
}

afterAll(async () => {
  const redis = new Redis(redisUrl);
  const keys = await redis.keys(`${runPrefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
});

describe.each(['pg-conditional', 'pg-for-update', 'redis-lua'] as const)('the %s contender', (kind) => {
  let db: { url: string; drop(): Promise<void> };
  let server: RunningContender;
  let base: string;
  const redisKeyPrefix = `${runPrefix}${kind}:`;

  beforeAll(async () => {
    db = await createPgTestDatabase();
    server = await startContender({ kind, port: 0, host: '127.0.0.1', databaseUrl: db.url, redisUrl, redisKeyPrefix, adminToken, dbPoolSize: 16, sweepIntervalMs: 200, logger: pino({ level: 'silent' }) });
    base = `http://127.0.0.1:${server.port}`;
    const imported = await call(base, 'POST', '/api/admin/catalog', { items: [product('HOT-1', hotStock), product('HOLD-1', 5), product('CART-1', 10)] }, true);
    expect(imported).toEqual({ status: 200, body: { upserted: 3, stocked: 3, refused: [] } });
  });

  afterAll(async () => {
    await server?.close();
    await db?.drop();
  });

  it('sells exactly the stock to 100 concurrent buyers, a fifth with declined cards, and never oversells', async () => {
    const wave = await Promise.all(
      Array.from({ length: buyers }, (_, i) =>
        postCheckout(base, `hot-${i}`, buyNowBody([{ sku: 'HOT-1', qty: 1 }], i % 5 === 0 ? 'pm_card_chargeDeclined' : 'pm_card_visa')),
      ),
    );
    const byStatus = (s: number) => wave.filter((a) => a.status === s);
    expect(byStatus(201).length + byStatus(402).length + byStatus(409).length).toBe(buyers);
    for (const a of byStatus(409)) expect(a.body.error).toMatchObject({ code: 'OUT_OF_STOCK', skus: [{ sku: 'HOT-1', requested: 1, available: 0 }] });
    for (const a of byStatus(402)) expect(a.body.error).toMatchObject({ code: 'PAYMENT_DECLINED', declineCode: 'generic_decline' });
    expect(byStatus(201)[0]!.body).toMatchObject({ status: 'confirmed', totals: { currency: 'USD', subtotalMinor: 2_500, totalMinor: expect.any(Number) } });
    // redis-lua takes stock before the payment, as boxoffice holds it: a buyer refused while a declined card held a
    // unit leaves that unit unsold when the wave ends. Late buyers take what came back, until a refusal.
    let confirmed = byStatus(201).length;
    for (let i = 0; confirmed < hotStock && i < hotStock; i++) {
      const late = await postCheckout(base, `hot-late-${i}`, buyNowBody([{ sku: 'HOT-1', qty: 1 }], 'pm_card_visa'));
      if (late.status !== 201) break;
      confirmed++;
    }
    expect(confirmed).toBe(hotStock);
    expect((await postCheckout(base, 'hot-after', buyNowBody([{ sku: 'HOT-1', qty: 1 }], 'pm_card_visa'))).status).toBe(409);

    const rows = await countRows(db.url);
    expect(rows).toEqual({ orders: hotStock, items: hotStock, payments: hotStock, outbox: hotStock, stored201: hotStock, inFlight: 0 });
    const report = await checkCorrectness(db.url, [{ sku: 'HOT-1', initial: hotStock }], kind, { redisUrl, redisKeyPrefix });
    expect(report).toEqual({ confirmedOrders: hotStock, soldQty: { 'HOT-1': hotStock }, oversold: 0, conservationOk: true, errors: [] });
    // boxoffice's stock is checked from the counts its GET /api/inventory gave, against the same orders table.
    const asBoxoffice = (counts: { available: number; held: number; sold: number }) => checkCorrectness(db.url, [{ sku: 'HOT-1', initial: hotStock, counts }], 'boxoffice');
    expect((await asBoxoffice({ available: 0, held: 0, sold: hotStock })).errors).toEqual([]);
    expect(await asBoxoffice({ available: 1, held: 0, sold: hotStock - 1 })).toMatchObject({ conservationOk: false, errors: [expect.stringContaining('19 sold'), expect.stringContaining('!= initial')] });
    const inventory = await call(base, 'GET', '/api/inventory/HOT-1');
    expect(inventory.body).toEqual({ sku: 'HOT-1', onHand: hotStock, available: 0, held: 0, sold: hotStock });
  });

  it('replays a finished checkout, refuses its key with another body, and replays a sold-out refusal', async () => {
    const first = await postCheckout(base, 'hot-1', buyNowBody([{ sku: 'HOT-1', qty: 1 }], 'pm_card_visa'));
    expect(first.replayed).toBe(true);
    expect([201, 409]).toContain(first.status);
    const again = await postCheckout(base, 'hot-1', buyNowBody([{ sku: 'HOT-1', qty: 1 }], 'pm_card_visa'));
    expect(again).toEqual(first);
    const other = await postCheckout(base, 'hot-1', buyNowBody([{ sku: 'HOT-1', qty: 2 }], 'pm_card_visa'));
    expect(other).toMatchObject({ status: 422, body: { error: { code: 'IDEMPOTENCY_KEY_REUSED' } }, replayed: false });
    const soldOut = await postCheckout(base, 'late-1', buyNowBody([{ sku: 'HOT-1', qty: 1 }], 'pm_card_visa'));
    expect(soldOut).toMatchObject({ status: 409, replayed: false });
    expect(await postCheckout(base, 'late-1', buyNowBody([{ sku: 'HOT-1', qty: 1 }], 'pm_card_visa'))).toEqual({ ...soldOut, replayed: true });
  });

  it('holds stock, refuses a hold it cannot cover, and gives the stock back once on release', async () => {
    const hold = await call(base, 'POST', '/api/inventory/HOLD-1/holds', { qty: 3 }, true);
    expect(hold).toMatchObject({ status: 201, body: { qty: 3, sku: 'HOLD-1', available: 2, held: 3, sold: 0, onHand: 5 } });
    expect((await call(base, 'GET', '/api/inventory/HOLD-1')).body).toEqual({ sku: 'HOLD-1', onHand: 5, available: 2, held: 3, sold: 0 });
    const refused = await call(base, 'POST', '/api/inventory/HOLD-1/holds', { qty: 3 }, true);
    expect(refused).toMatchObject({ status: 409, body: { error: { code: 'OUT_OF_STOCK', skus: [{ sku: 'HOLD-1', requested: 3, available: 2 }] } } });
    const path = `/api/inventory/HOLD-1/holds/${hold.body.holdId}`;
    expect(await call(base, 'DELETE', path, undefined, true)).toEqual({ status: 200, body: { released: true, sku: 'HOLD-1', onHand: 5, available: 5, held: 0, sold: 0 } });
    expect((await call(base, 'DELETE', path, undefined, true)).body).toMatchObject({ released: false, available: 5 });
    expect(await call(base, 'POST', '/api/inventory/HOLD-1/holds', { qty: 1 })).toMatchObject({ status: 401 });
  });

  it('gives the stock of an expired hold back', async () => {
    const hold = await call(base, 'POST', '/api/inventory/HOLD-1/holds', { qty: 2, ttlMs: 1_000 }, true);
    expect(hold).toMatchObject({ status: 201, body: { available: 3, held: 2 } });
    // The TTL is 1 s and the sweeper runs every 200 ms here; polled, so a slow machine only makes it slower.
    let counts = (await call(base, 'GET', '/api/inventory/HOLD-1')).body;
    for (let waitedMs = 0; counts.held !== 0 && waitedMs < 5_000; waitedMs += 100) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      counts = (await call(base, 'GET', '/api/inventory/HOLD-1')).body;
    }
    expect(counts).toEqual({ sku: 'HOLD-1', onHand: 5, available: 5, held: 0, sold: 0 });
    expect((await call(base, 'DELETE', `/api/inventory/HOLD-1/holds/${hold.body.holdId}`, undefined, true)).body).toMatchObject({ released: false, held: 0 });
  });

  it('checks out a cart once', async () => {
    const added = await call(base, 'POST', '/api/cart/items', { sku: 'CART-1', qty: 2 });
    expect(added).toMatchObject({ status: 201, body: { status: 'open', lines: [{ sku: 'CART-1', qty: 2, subtotalMinor: 5_000 }] } });
    const cartId = added.body.cartId as string;
    expect(await call(base, 'POST', '/api/cart/items', { cartId, sku: 'CART-1', qty: 1 })).toMatchObject({ status: 200, body: { lines: [{ qty: 3 }] } });
    const body = { cartId, paymentMethod: 'pm_card_visa', address: testAddress };
    const answers: CheckoutAnswer[] = await Promise.all([postCheckout(base, 'cart-a', body), postCheckout(base, 'cart-b', body)]);
    expect(answers.map((a) => a.status).sort()).toEqual([201, 409]);
    expect(answers.find((a) => a.status === 409)!.body.error.code).toBe('CART_CHECKED_OUT');
    expect((await call(base, 'GET', '/api/inventory/CART-1')).body).toEqual({ sku: 'CART-1', onHand: 10, available: 7, held: 0, sold: 3 });
  });
});

describe('the hello contender', () => {
  it('answers GET /hello with hello', async () => {
    const server = await startContender({ kind: 'hello', port: 0, host: '127.0.0.1' });
    try {
      const res = await fetch(`http://127.0.0.1:${server.port}/hello`);
      expect(await res.text()).toBe('hello');
    } finally {
      await server.close();
    }
  });
});

async function countRows(url: string) {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    const { rows } = await c.query(`SELECT
      (SELECT count(*) FROM orders WHERE status = 'confirmed')::int AS orders,
      (SELECT count(*) FROM order_items)::int AS items,
      (SELECT count(*) FROM payments WHERE status = 'authorized')::int AS payments,
      (SELECT count(*) FROM outbox WHERE type = 'order.confirmed')::int AS outbox,
      (SELECT count(*) FROM idempotency_keys WHERE status_code = 201)::int AS "stored201",
      (SELECT count(*) FROM idempotency_keys WHERE status_code IS NULL)::int AS "inFlight"`);
    return rows[0];
  } finally {
    await c.end();
  }
}
