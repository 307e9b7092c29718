import { Pool, TypeOverrides, type PoolClient, type QueryConfig } from 'pg';
import { migrate } from '../../src/persistence/migrations.js';
import { parseInt8 } from '../../src/persistence/parse-int8.js';
import { openPgClient } from '../../src/persistence/pg-client.js';

/**
 * The contenders talk to PostgreSQL through a plain `pg` Pool with named prepared statements: each connection parses
 * and plans a statement once, then only binds and executes it, which is what a tuned shop does. Schema: boxoffice's
 * own migrations (the same order tables) plus `bench_stock`, the stock row the pg kinds decrement.
 */

const OID_INT8 = 20;

export async function openBenchPool(databaseUrl: string, poolSize: number): Promise<Pool> {
  if (!(Number.isInteger(poolSize) && poolSize >= 1)) throw new Error(`DB_POOL_SIZE must be a positive integer, got ${poolSize}`);
  const types = new TypeOverrides();
  // Sums come back as int8; as numbers they compare and serialize like every other count.
  types.setTypeParser(OID_INT8, 'text', parseInt8);
  const pool = new Pool({ connectionString: databaseUrl, max: poolSize, types });
  // An idle connection that drops emits 'error' on the pool; without a listener Node would exit.
  pool.on('error', () => {});
  const probe = await pool.connect();
  probe.release();
  return pool;
}

/** boxoffice's migrations, then the contenders' stock table. Safe to run on every start. */
export async function prepareSchema(databaseUrl: string): Promise<void> {
  const sql = await openPgClient({ databaseUrl, poolSize: 1 });
  try {
    await migrate(sql);
    await sql.query('CREATE TABLE IF NOT EXISTS bench_stock (sku text PRIMARY KEY, qty int NOT NULL CHECK (qty >= 0))');
  } finally {
    await sql.close();
  }
}

/**
 * Runs `fn` between BEGIN and COMMIT on one connection. `fn` says whether to commit: a business refusal (stock ran
 * out between the pre-check and the update) rolls back without throwing. A throw rolls back and rethrows.
 */
export async function inTransaction<T>(pool: Pool, fn: (client: PoolClient) => Promise<{ commit: boolean; value: T }>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    const { commit, value } = await fn(client);
    await client.query(commit ? 'COMMIT' : 'ROLLBACK');
    return value;
  } catch (err) {
    try {
      await client.query('ROLLBACK');
    } catch (rollbackErr) {
      // The connection is unusable: release(err) destroys it instead of handing it to the next request.
      broken = rollbackErr as Error;
    }
    throw err;
  } finally {
    client.release(broken);
  }
}

const heldText = `(SELECT coalesce(sum(qty), 0)::bigint FROM inventory_reservations WHERE sku = $1 AND status = 'active')`;
const soldText = `(SELECT coalesce(sum(i.qty), 0)::bigint FROM order_items i JOIN orders o ON o.order_id = i.order_id
  WHERE i.sku = $1 AND o.status IN ('confirmed', 'shipped'))`;

/** Held (active reservations) and sold (items of confirmed or shipped orders) of one SKU. */
export async function heldAndSold(pool: Pool, sku: string): Promise<{ held: number; sold: number }> {
  const { rows } = await pool.query<{ held: number; sold: number }>({ name: 'bench_held_sold', text: `SELECT ${heldText} AS held, ${soldText} AS sold`, values: [sku] });
  return rows[0] ?? { held: 0, sold: 0 };
}

/** Available (bench_stock), held and sold of one SKU in one statement, hence one snapshot. */
export const countsQuery = (sku: string): QueryConfig => ({
  name: 'bench_counts',
  text: `SELECT coalesce((SELECT qty FROM bench_stock WHERE sku = $1), 0) AS available, ${heldText} AS held, ${soldText} AS sold`,
  values: [sku],
});

/** The key's record alone (redis-lua has no stock in PostgreSQL to pre-check). */
export async function readKey(pool: Pool, key: string) {
  const { rows } = await pool.query<{ fingerprint: string; status_code: number | null; response: unknown }>({
    name: 'bench_key_read',
    text: 'SELECT fingerprint, status_code, response FROM idempotency_keys WHERE key = $1',
    values: [key],
  });
  const r = rows[0];
  return r === undefined ? null : { fingerprint: r.fingerprint, statusCode: r.status_code, body: r.response };
}
