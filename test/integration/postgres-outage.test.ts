import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buyNowBody, pollUntil, postCheckout, type CheckoutAnswer } from '../support/checkout-client.js';
import { adminCall, bootChildNode, ensureNodeBuilt, freePort, killAllChildNodes, type ChildNode } from '../support/child-node.js';
import { createPgTestDatabase } from '../support/databases.js';
import { startPrivatePostgres, type PrivatePostgres } from '../support/private-postgres.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';

/**
 * The database goes away under a sale (issue 11), two ways: a PostgreSQL server of this test's own is restarted
 * (stopped for a few seconds: connections cut, new ones refused), and a proxy between the node and PostgreSQL drops
 * every byte silently (no FIN, no RST) for a few seconds. The node (a child process) must ride both out: it stays
 * up, answers meanwhile only with codes a storefront retries (never a 500, never an answer from a write that did not
 * commit; every 429 and 503 with Retry-After), loses no acknowledged order, and sells again by itself once the
 * database is back.
 */
const sku = 'OUTAGE-A';
const onHand = 400;
const downMs = 4_000;
const requestTimeoutMs = 30_000;
const retryable = new Set([201, 202, 402, 409, 429, 503]);

async function stock(node: ChildNode): Promise<void> {
  expect((await adminCall(node.base, 'PUT', `/api/products/${sku}`, { name: sku, priceMinor: 1_000, currency: 'USD', weightGrams: 100 })).status).toBe(200);
  expect((await adminCall(node.base, 'PUT', `/api/inventory/${sku}`, { onHand })).status).toBe(200);
}

/** Sells through `node` while `fault` runs, until sales resumed after it; then checks everything the issue promises. */
async function saleThrough(node: ChildNode, databaseUrl: string, fault: () => Promise<void>): Promise<void> {
  const answers: CheckoutAnswer[] = [];
  const failures: string[] = [];
  let n = 0;
  let selling = true;
  const buyer = async () => {
    while (selling) {
      const key = `outage-${n++}`;
      try {
        answers.push(await postCheckout(node.base, key, buyNowBody([{ sku, qty: 1 }], 'pm_card_visa'), AbortSignal.timeout(requestTimeoutMs)));
      } catch (err) {
        failures.push(`${key}: ${(err as Error).message}`);
      }
    }
  };
  const buyers = Array.from({ length: 8 }, () => buyer());
  await pollUntil('some sales before the outage', 10_000, async () => (answers.filter((a) => a.status === 201).length >= 20 ? true : undefined));
  await fault();
  const afterFault = answers.length;
  await pollUntil('sales to resume after the outage', 45_000, async () => (answers.slice(afterFault).filter((a) => a.status === 201).length >= 20 ? true : undefined));
  selling = false;
  await Promise.all(buyers);

  expect(node.child.exitCode, node.output.join('')).toBeNull();
  expect(failures, 'requests that got no answer at all').toEqual([]);
  const codes = answers.map((a) => `${a.status}${a.body?.error?.code ? ` ${a.body.error.code}` : ''}`);
  expect(codes.filter((c) => !retryable.has(Number(c.slice(0, 3)))), node.output.join('')).toEqual([]);
  for (const a of answers.filter((x) => x.status === 503 || x.status === 429)) expect(a.retryAfter, `Retry-After on ${a.status} ${a.body?.error?.code}`).not.toBeNull();
  const tally: Record<string, number> = {};
  for (const c of codes) tally[c] = (tally[c] ?? 0) + 1;
  console.log('answers through the outage:', tally);

  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ order_id: string; status: string }>(`SELECT order_id, status FROM orders`);
    const stored = new Map(rows.map((r) => [r.order_id, r.status]));
    for (const a of answers.filter((x) => x.status === 201)) expect(stored.get(a.body.orderId), `acknowledged order ${a.body.orderId}`).toBe('confirmed');
    // A checkout answered 503 meanwhile is retried by its buyer with the same key: it gets a final answer (its order
    // may well have been written; the 503 never said otherwise).
    for (const a of answers.filter((x) => x.status === 503)) {
      const again = await pollUntil(`key ${a.key} to finish`, 30_000, async () => {
        const r = await postCheckout(node.base, a.key, buyNowBody([{ sku, qty: 1 }], 'pm_card_visa'), AbortSignal.timeout(requestTimeoutMs));
        return r.status === 503 || (r.status === 409 && r.body?.error?.code === 'IDEMPOTENCY_KEY_IN_USE') ? undefined : r;
      });
      expect([201, 402, 409]).toContain(again.status);
    }
    // Sagas interrupted by the outage finish their holds (bounded): then every sale is a confirmed order.
    const inv = await pollUntil('every hold to end', 30_000, async () => {
      const v = (await (await fetch(`${node.base}/api/inventory/${sku}`)).json()) as { available: number; held: number; sold: number };
      expect(v.available + v.held + v.sold).toBe(onHand);
      return v.held === 0 ? v : undefined;
    });
    const { rows: after } = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM orders WHERE status = 'confirmed'`);
    expect(inv.sold).toBe(after[0]!.n);
  } finally {
    await client.end();
  }
}

afterAll(async () => {
  await killAllChildNodes();
});

describe('a PostgreSQL restart during a sale', () => {
  let pg: PrivatePostgres;

  beforeAll(() => ensureNodeBuilt(), 150_000);
  afterAll(async () => {
    await killAllChildNodes();
    await pg?.stop();
  });

  it(`rides out ${downMs} ms of a stopped server`, async () => {
    pg = await startPrivatePostgres();
    const node = await bootChildNode(await freePort(), { DATABASE_URL: pg.url });
    await stock(node);
    await saleThrough(node, pg.url, () => pg.restart(downMs));
  }, 120_000);
});

describe('a connection to PostgreSQL dropped silently during a sale', () => {
  let proxy: TcpProxy;
  let db: { url: string; drop(): Promise<void> };

  beforeAll(() => ensureNodeBuilt(), 150_000);
  afterAll(async () => {
    await killAllChildNodes();
    await proxy?.close();
    await db?.drop();
  });

  it(`rides out ${downMs} ms without a byte through, the queries timing out (DB_QUERY_TIMEOUT_MS)`, async () => {
    db = await createPgTestDatabase();
    proxy = await startTcpProxy(5432);
    const viaProxy = new URL(db.url);
    viaProxy.port = String(proxy.port);
    const node = await bootChildNode(await freePort(), { DATABASE_URL: viaProxy.toString(), DB_QUERY_TIMEOUT_MS: '3000' });
    await stock(node);
    await saleThrough(node, db.url, async () => {
      proxy.blackhole();
      await new Promise((resolve) => setTimeout(resolve, downMs)); // the fault's duration, not a synchronisation
      proxy.heal();
    });
  }, 120_000);
});
