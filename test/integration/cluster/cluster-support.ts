import { Client } from 'pg';
import { expect } from 'vitest';
import { partitionOf, skuEntity } from '../../../src/domain/entities.js';
import { buyNowBody, postCheckout, type CheckoutAnswer } from '../../support/checkout-client.js';
import type { TestCluster } from '../../support/cluster-harness.js';
import { testAddress } from '../../support/node-harness.js';
import { intBelow, type Rng } from '../../support/seeded-random.js';

/**
 * Shared steps of the multi-process cluster tests: waiting for the assignment to settle (polling the admin API for
 * a condition, with a bound), stocking SKUs, a sale driven by clients that retry retryable answers with the same
 * Idempotency-Key (as a storefront does), and the invariants checked from PostgreSQL afterwards.
 */
export const settleMsMax = 30_000;
const pollMs = 50;

/** Polls `check` until it returns a value (not undefined) or `timeoutMs` passes. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = settleMsMax): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

export interface ClusterStatus {
  coordinator: string | null;
  unowned: number;
  members: { nodeId: string; partitions: number }[];
}

/** Waits until `n` members are live, every partition has a live owner and every undrained member owns some. */
export async function settled(c: TestCluster, n: number, via = 0): Promise<ClusterStatus> {
  return eventually(`${n} members sharing every partition`, async () => {
    const r = await c.admin(via, 'GET', '/api/admin/cluster');
    const s = r.body as ClusterStatus;
    return r.status === 200 && s.members.length === n && s.unowned === 0 && s.coordinator !== null && s.members.every((m) => m.partitions > 0) ? s : undefined;
  });
}

/** Partition → owner, from PostgreSQL's rows (through the admin API). */
export async function owners(c: TestCluster, via = 0): Promise<Map<number, { nodeId: string; epoch: number }>> {
  const r = await c.admin(via, 'GET', '/api/admin/partitions');
  expect(r.status).toBe(200);
  return new Map((r.body.partitions as { partition: number; nodeId: string; epoch: number }[]).map((p) => [p.partition, { nodeId: p.nodeId, epoch: p.epoch }]));
}

export const skuPartition = (sku: string, partitions: number): number => partitionOf(skuEntity(sku), partitions);

export async function stockSkus(c: TestCluster, items: { sku: string; onHand: number }[]): Promise<void> {
  const r = await c.admin(0, 'POST', '/api/admin/catalog', {
    items: items.map((i) => ({ sku: i.sku, name: `Product ${i.sku}`, priceMinor: 1_000, currency: 'USD', weightGrams: 100, onHand: i.onHand })),
  });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  expect(r.body.refused).toEqual([]);
}

/** Final answers a storefront acts on; everything else (503, 409 in use, network errors) is retried. */
const finalStatuses = new Set([201, 202, 402, 409, 422]);

export interface SaleResult {
  answers: Map<string, CheckoutAnswer>;
  attempts: number;
  retried: number;
}

/**
 * Runs `keys.length` checkouts with `concurrency` clients; each request goes to a node chosen by `rng` and is
 * retried with the same key (on a node chosen again) until it gets a final answer or `deadlineMs` passes.
 */
export async function runSale(
  c: TestCluster,
  rng: Rng,
  keys: string[],
  basket: (key: string) => { sku: string; qty: number }[],
  concurrency: number,
  deadlineMs = 60_000,
): Promise<SaleResult> {
  const answers = new Map<string, CheckoutAnswer>();
  let attempts = 0;
  let retried = 0;
  let next = 0;
  const deadline = Date.now() + deadlineMs;
  const client = async () => {
    while (next < keys.length) {
      const key = keys[next++]!;
      const body = buyNowBody(basket(key), 'pm_card_visa');
      for (let attempt = 0; ; attempt++) {
        const live = c.nodes.filter((n) => n.running);
        const node = live[intBelow(rng, live.length)]!;
        attempts++;
        const a = await postCheckout(node.url, key, body).catch(() => null);
        if (a !== null && (finalStatuses.has(a.status) && !(a.status === 409 && a.body?.error?.code === 'IDEMPOTENCY_KEY_IN_USE'))) {
          answers.set(key, a);
          break;
        }
        retried++;
        if (Date.now() > deadline) throw new Error(`checkout ${key} got no final answer (last: ${a?.status} ${JSON.stringify(a?.body)})`);
        await new Promise((r) => setTimeout(r, 20 + attempt * 10));
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, client));
  return { answers, attempts, retried };
}

/**
 * The invariants from PostgreSQL and the nodes: every acknowledged (201) order is stored confirmed, with the items
 * it was sold with; units sold per SKU (confirmed orders) never exceed stock and equal the SKU's `sold` count; and
 * available + held + sold = onHand on the SKU's owner.
 */
export async function checkInvariants(c: TestCluster, answers: Map<string, CheckoutAnswer>, stock: Map<string, number>): Promise<{ confirmed: number }> {
  const db = new Client({ connectionString: c.databaseUrl });
  await db.connect();
  try {
    const acked = [...answers.values()].filter((a) => a.status === 201);
    const rows = await db.query<{ order_id: string; status: string; idempotency_key: string }>('SELECT order_id, status, idempotency_key FROM orders');
    const byId = new Map(rows.rows.map((r) => [r.order_id, r]));
    for (const a of acked) {
      const row = byId.get(a.body.orderId);
      expect(row, `acknowledged order ${a.body.orderId} (key ${a.key}) is stored`).toBeDefined();
      expect(row!.status).toBe('confirmed');
      expect(row!.idempotency_key).toBe(a.key);
    }
    const keysWithOrders = rows.rows.filter((r) => r.status === 'confirmed').map((r) => r.idempotency_key);
    expect(new Set(keysWithOrders).size, 'one order per key').toBe(keysWithOrders.length);
    const sold = await db.query<{ sku: string; units: string }>(
      `SELECT i.sku, sum(i.qty)::text AS units FROM order_items i JOIN orders o USING (order_id) WHERE o.status = 'confirmed' GROUP BY i.sku`,
    );
    const soldBySku = new Map(sold.rows.map((r) => [r.sku, Number(r.units)]));
    for (const [sku, onHand] of stock) {
      const units = soldBySku.get(sku) ?? 0;
      expect(units, `${sku}: sold ${units} of ${onHand}`).toBeLessThanOrEqual(onHand);
      // A 201 is sent once the order is stored; the holds' commit lands just after it. Wait for it (nothing held).
      const inv = await eventually(`${sku} counts with nothing held`, async () => {
        const r = await fetch(`${c.nodes.find((n) => n.running)!.url}/api/inventory/${sku}`);
        const v = r.status === 200 ? ((await r.json()) as { onHand: number; available: number; held: number; sold: number }) : undefined;
        return v !== undefined && v.held === 0 ? v : undefined;
      });
      expect(inv.sold, `${sku}: the actor's sold count equals the confirmed orders' units`).toBe(units);
      expect(inv.available + inv.held + inv.sold, `${sku}: conservation`).toBe(inv.onHand);
      expect(inv.onHand).toBe(onHand);
    }
    return { confirmed: keysWithOrders.length };
  } finally {
    await db.end();
  }
}

export { testAddress };
