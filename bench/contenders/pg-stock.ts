import type { Pool, PoolClient } from 'pg';
import { countsQuery } from './db.js';
import { shortLines, sortedLines, type Line, type Lookup, type ShortLine, type StockBackend, type StockCounts } from './stock-backend.js';

/**
 * Stock as a PostgreSQL row per SKU (`bench_stock`), the way most shops keep it. Two ways to take it inside the
 * order transaction:
 * - 'conditional': `UPDATE … SET qty = qty - $2 WHERE sku = $1 AND qty >= $2` per line; 0 rows means short.
 * - 'for-update': `SELECT … FOR UPDATE` of every line's row in SKU order, check in the application, then one UPDATE.
 * Holds use one statement for both modes (a CTE: conditional decrement + reservation insert is one transaction).
 */
export type PgStockMode = 'conditional' | 'for-update';

/** Expired active holds, at most this many per sweep, so one sweep never holds many row locks for long. */
export const sweepRowsMax = 1_000;
export const expiredHoldsText = `SELECT reservation_id FROM inventory_reservations WHERE status = 'active' AND expires_at <= now() LIMIT ${sweepRowsMax}`;

const lookupText = `SELECT k.fingerprint, k.status_code, k.response,
  (SELECT json_object_agg(s.sku, s.qty) FROM bench_stock s WHERE s.sku = ANY($2::text[])) AS stock
FROM (SELECT 1) AS one LEFT JOIN idempotency_keys k ON k.key = $1`;

const holdText = `WITH d AS (UPDATE bench_stock SET qty = qty - $2 WHERE sku = $1 AND qty >= $2 RETURNING qty),
  r AS (INSERT INTO inventory_reservations (reservation_id, sku, qty, expires_at, order_id, status)
        SELECT $3, $1, $2, $4, NULL, 'active' FROM d)
SELECT qty FROM d`;

const releaseText = `WITH r AS (DELETE FROM inventory_reservations WHERE reservation_id = $1 AND sku = $2 AND status = 'active' RETURNING qty)
UPDATE bench_stock s SET qty = s.qty + r.qty FROM r WHERE s.sku = $2 RETURNING s.qty AS available, r.qty`;

const sweepText = `WITH gone AS (DELETE FROM inventory_reservations WHERE reservation_id IN (${expiredHoldsText}) AND status = 'active' RETURNING sku, qty),
  agg AS (SELECT sku, sum(qty)::int AS qty FROM gone GROUP BY sku),
  upd AS (UPDATE bench_stock s SET qty = s.qty + agg.qty FROM agg WHERE s.sku = agg.sku)
SELECT sku, qty FROM agg`;

export function createPgStock(pool: Pool, mode: PgStockMode): StockBackend {
  return {
    takesInTransaction: true,
    lookup: (key, skus) => lookup(pool, key, skus),
    takeBeforePayment: async () => null,
    giveBack: async () => {},
    takeInTransaction: (client, lines) => (mode === 'conditional' ? takeConditional(client, lines) : takeForUpdate(client, lines)),
    setStock: (items) => setPgStock(pool, items),
    async hold(sku, qty, holdId, expiresAt) {
      const { rows } = await pool.query<{ qty: number }>({ name: 'pg_hold', text: holdText, values: [sku, qty, holdId, expiresAt] });
      if (rows[0] !== undefined) return { ok: true, available: rows[0].qty };
      return { ok: false, available: await availableOne(pool, sku) };
    },
    async release(sku, holdId) {
      const { rows } = await pool.query<{ available: number; qty: number }>({ name: 'pg_release', text: releaseText, values: [holdId, sku] });
      if (rows[0] !== undefined) return { released: true, qty: rows[0].qty, available: rows[0].available };
      return { released: false, qty: 0, available: await availableOne(pool, sku) };
    },
    async counts(sku) {
      // One statement, so one snapshot: the three counts agree even while checkouts commit.
      const { rows } = await pool.query<StockCounts>(countsQuery(sku));
      return rows[0]!;
    },
    async sweepExpired() {
      const { rows } = await pool.query<{ sku: string; qty: number }>({ name: 'pg_sweep', text: sweepText });
      return rows;
    },
    close: async () => {},
  };
}

async function lookup(pool: Pool, key: string, skus: string[]): Promise<Lookup> {
  const { rows } = await pool.query<{ fingerprint: string | null; status_code: number | null; response: unknown; stock: Record<string, number> | null }>({
    name: 'pg_lookup',
    text: lookupText,
    values: [key, skus],
  });
  const row = rows[0]!;
  const record = row.fingerprint === null ? null : { fingerprint: row.fingerprint, statusCode: row.status_code, body: row.response };
  return { record, available: new Map(Object.entries(row.stock ?? {})) };
}

/**
 * One conditional UPDATE per line, in SKU order. Stock is taken last in the transaction (after the order rows):
 * the hot row stays locked only from this UPDATE to COMMIT, which bounds the hot SKU's throughput.
 */
async function takeConditional(client: PoolClient, lines: Line[]): Promise<ShortLine[] | null> {
  for (const l of sortedLines(lines)) {
    const r = await client.query({
      name: 'pgc_take',
      text: 'UPDATE bench_stock SET qty = qty - $2 WHERE sku = $1 AND qty >= $2',
      values: [l.sku, l.qty],
    });
    if (r.rowCount === 0) {
      const available = await availableMany(client, lines.map((x) => x.sku));
      const short = shortLines(lines, (sku) => available.get(sku) ?? 0);
      // Stock given back between the UPDATE and this read still leaves this line refused: name it.
      return short.length > 0 ? short : [{ sku: l.sku, requested: l.qty, available: available.get(l.sku) ?? 0 }];
    }
  }
  return null;
}

/** Locks every line's row in SKU order, checks in the application, then takes them all in one UPDATE. */
async function takeForUpdate(client: PoolClient, lines: Line[]): Promise<ShortLine[] | null> {
  const sorted = sortedLines(lines);
  const { rows } = await client.query<{ sku: string; qty: number }>({
    name: 'pgf_lock',
    text: 'SELECT sku, qty FROM bench_stock WHERE sku = ANY($1::text[]) ORDER BY sku FOR UPDATE',
    values: [sorted.map((l) => l.sku)],
  });
  const locked = new Map(rows.map((r) => [r.sku, r.qty]));
  const short = shortLines(sorted, (sku) => locked.get(sku) ?? 0);
  if (short.length > 0) return short;
  await client.query({
    name: 'pgf_take',
    text: `UPDATE bench_stock s SET qty = s.qty - u.qty FROM unnest($1::text[], $2::int[]) AS u(sku, qty) WHERE s.sku = u.sku`,
    values: [sorted.map((l) => l.sku), sorted.map((l) => l.qty)],
  });
  return null;
}

async function availableMany(client: Pool | PoolClient, skus: string[]): Promise<Map<string, number>> {
  const { rows } = await client.query<{ sku: string; qty: number }>({
    name: 'pg_available',
    text: 'SELECT sku, qty FROM bench_stock WHERE sku = ANY($1::text[])',
    values: [skus],
  });
  return new Map(rows.map((r) => [r.sku, r.qty]));
}

async function availableOne(pool: Pool, sku: string): Promise<number> {
  return (await availableMany(pool, [sku])).get(sku) ?? 0;
}

/** Upserts the stock rows of a catalog import in one statement (the last line of a SKU wins). */
export async function setPgStock(pool: Pool, items: Line[]): Promise<void> {
  if (items.length === 0) return;
  const last = new Map(items.map((i) => [i.sku, i.qty]));
  await pool.query({
    name: 'bench_set_stock',
    text: `INSERT INTO bench_stock (sku, qty) SELECT * FROM unnest($1::text[], $2::int[])
           ON CONFLICT (sku) DO UPDATE SET qty = excluded.qty`,
    values: [[...last.keys()], [...last.values()]],
  });
}
