import { Client } from 'pg';
import { pollUntil } from '../../test/support/checkout-client.js';
import type { ChaosCluster } from './chaos-cluster.js';
import type { FinalState, IntentRow, OrderRow, SkuCounts } from './final-state.js';

/**
 * Reads the final state once the run is over: first waits (bounded) until the cluster is whole and quiet — no
 * order pending, no unit held (holds expire within HOLD_TTL_MS, pending payments are swept) — then reads the
 * orders from PostgreSQL, each SKU's counts from its owner (through any node) and the Stripe test server's store.
 * Past the bound it reads what there is: the checker then reports the holds left.
 */
export const settleMsMax = 60_000;

export async function readFinalState(env: ChaosCluster, skus: readonly string[]): Promise<FinalState> {
  const db = new Client({ connectionString: env.pg.url });
  await pollUntil('PostgreSQL to accept a connection', 30_000, () => db.connect().then(() => true as const));
  try {
    await pollUntil('no order pending and no unit held', settleMsMax, async () => {
      const pending = (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM orders WHERE status = 'pending'`)).rows[0]!.n;
      const counts = await readCounts(env, skus);
      return pending === 0 && counts.every((c) => c.held === 0) ? true : undefined;
    }, 250).catch(() => undefined); // the checker reports what is left
    return { orders: await readOrders(db), skus: await readCounts(env, skus), intents: readIntents(env) };
  } finally {
    await db.end();
  }
}

async function readOrders(db: Client): Promise<OrderRow[]> {
  const { rows } = await db.query<{ order_id: string; idempotency_key: string; status: string; lines: { sku: string; qty: number }[] | null }>(
    `SELECT o.order_id, o.idempotency_key, o.status,
            json_agg(json_build_object('sku', i.sku, 'qty', i.qty)) FILTER (WHERE i.sku IS NOT NULL) AS lines
       FROM orders o LEFT JOIN order_items i USING (order_id)
      GROUP BY o.order_id, o.idempotency_key, o.status`,
  );
  return rows.map((r) => ({ orderId: r.order_id, key: r.idempotency_key, status: r.status, lines: r.lines ?? [] }));
}

async function readCounts(env: ChaosCluster, skus: readonly string[]): Promise<SkuCounts[]> {
  const out: SkuCounts[] = [];
  for (const sku of skus) {
    out.push(await pollUntil(`${sku}'s counts`, 30_000, async () => {
      const node = env.cluster.nodes.find((n) => n.running)!;
      const r = await fetch(`${node.url}/api/inventory/${sku}`, { signal: AbortSignal.timeout(5_000) });
      if (r.status !== 200) return undefined;
      const v = (await r.json()) as SkuCounts;
      return { sku, onHand: v.onHand, available: v.available, held: v.held, sold: v.sold };
    }));
  }
  return out;
}

function readIntents(env: ChaosCluster): IntentRow[] {
  const charges = env.stripe.charges();
  return env.stripe.paymentIntents().map((pi) => {
    const mine = charges.filter((c) => c.payment_intent === pi.id);
    return {
      id: pi.id,
      key: pi.metadata['checkout_key'] ?? null,
      status: pi.status,
      authorized: mine.some((c) => c.status === 'succeeded'),
      captured: mine.some((c) => c.captured),
    };
  });
}
