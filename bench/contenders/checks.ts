import { Redis } from 'ioredis';
import { Client } from 'pg';
import { stockKey } from './redis-stock.js';

/**
 * The correctness checks the bench runs after every scenario, read from the database of the server it measured:
 * confirmed orders, units sold per SKU, oversell (must be 0) and conservation (left + held + sold == initial).
 *
 * Where "left" and "held" come from:
 * - pg-conditional / pg-for-update: `bench_stock.qty` and active rows of `inventory_reservations`;
 * - redis-lua: the Redis counter `stock:<sku>` (needs opts.redisUrl) and active reservations;
 * - boxoffice: its own counts (GET /api/inventory), passed in as `counts`, because its stock lives in its SKU actors
 *   and journal; its `sold` is also compared with the orders table.
 * `counts` given for a contender SKU are used instead of the database as well.
 */
export type CheckKind = 'boxoffice' | 'pg-conditional' | 'pg-for-update' | 'redis-lua';

export interface SkuToCheck {
  sku: string;
  /** Stock imported before the run. */
  initial: number;
  /** GET /api/inventory of the SKU after the run; required for boxoffice. */
  counts?: { available: number; held: number; sold: number };
}

export interface CorrectnessReport {
  confirmedOrders: number;
  soldQty: Record<string, number>;
  /** Σ max(0, sold − initial) over the SKUs: units sold that did not exist. Must be 0. */
  oversold: number;
  /** left + held + sold == initial for every SKU. */
  conservationOk: boolean;
  errors: string[];
}

export interface CheckOptions {
  redisUrl?: string;
  redisKeyPrefix?: string;
}

/** Orders that count as sold: boxoffice's confirmed and shipped (cancelled ones gave their stock back). */
const soldStatuses = ['confirmed', 'shipped'];

export async function checkCorrectness(databaseUrl: string, skus: SkuToCheck[], kind: CheckKind, opts: CheckOptions = {}): Promise<CorrectnessReport> {
  const db = new Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    const names = skus.map((s) => s.sku);
    const confirmed = await db.query<{ n: string }>(`SELECT count(*) AS n FROM orders WHERE status = 'confirmed'`);
    const sold = await sumBySku(db, `SELECT i.sku, sum(i.qty) AS n FROM order_items i JOIN orders o ON o.order_id = i.order_id
      WHERE i.sku = ANY($1::text[]) AND o.status = ANY($2::text[]) GROUP BY i.sku`, [names, soldStatuses]);
    const stock = await stockLeftAndHeld(db, skus, kind, opts);
    const errors: string[] = [];
    const soldQty: Record<string, number> = {};
    let oversold = 0;
    let conservationOk = true;
    for (const s of skus) {
      const n = sold.get(s.sku) ?? 0;
      soldQty[s.sku] = n;
      if (n > s.initial) {
        oversold += n - s.initial;
        errors.push(`${s.sku}: oversold, ${n} sold of ${s.initial}`);
      }
      if (s.counts !== undefined && s.counts.sold !== n) errors.push(`${s.sku}: inventory says ${s.counts.sold} sold, orders say ${n}`);
      const left = stock.get(s.sku);
      if (left === undefined) {
        conservationOk = false;
        errors.push(`${s.sku}: no stock count to check conservation with`);
      } else if (left.available + left.held + n !== s.initial) {
        conservationOk = false;
        errors.push(`${s.sku}: available ${left.available} + held ${left.held} + sold ${n} != initial ${s.initial}`);
      }
    }
    return { confirmedOrders: Number(confirmed.rows[0]?.n ?? 0), soldQty, oversold, conservationOk, errors };
  } finally {
    await db.end();
  }
}

/** Available and held per SKU: from the counts passed in, else from the contender's own stock. */
async function stockLeftAndHeld(db: Client, skus: SkuToCheck[], kind: CheckKind, opts: CheckOptions) {
  const out = new Map<string, { available: number; held: number }>();
  const unknown = skus.filter((s) => {
    if (s.counts === undefined) return true;
    out.set(s.sku, { available: s.counts.available, held: s.counts.held });
    return false;
  });
  if (unknown.length === 0 || kind === 'boxoffice') return out;
  const names = unknown.map((s) => s.sku);
  const held = await sumBySku(db, `SELECT sku, sum(qty) AS n FROM inventory_reservations WHERE sku = ANY($1::text[]) AND status = 'active' GROUP BY sku`, [names]);
  const available = kind === 'redis-lua' ? await redisStock(names, opts) : await sumBySku(db, 'SELECT sku, qty AS n FROM bench_stock WHERE sku = ANY($1::text[])', [names]);
  for (const sku of names) out.set(sku, { available: available.get(sku) ?? 0, held: held.get(sku) ?? 0 });
  return out;
}

async function sumBySku(db: Client, text: string, values: unknown[]): Promise<Map<string, number>> {
  const { rows } = await db.query<{ sku: string; n: string | number }>(text, values);
  return new Map(rows.map((r) => [r.sku, Number(r.n)]));
}

async function redisStock(skus: string[], opts: CheckOptions): Promise<Map<string, number>> {
  if (opts.redisUrl === undefined) throw new Error('checkCorrectness: redis-lua needs opts.redisUrl to read the stock counters');
  const redis = new Redis(opts.redisUrl, { keyPrefix: opts.redisKeyPrefix ?? '', lazyConnect: true, maxRetriesPerRequest: 3 });
  await redis.connect();
  try {
    const values = skus.length === 0 ? [] : await redis.mget(...skus.map(stockKey));
    return new Map(skus.map((sku, i) => [sku, Number(values[i] ?? 0)]));
  } finally {
    await redis.quit();
  }
}
