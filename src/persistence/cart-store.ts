import { persistenceLimits } from '../config/limits.js';
import { Batcher, allOk } from './batcher.js';
import type { SqlClient } from './sql.js';

/** A cart as the cart actor keeps it; the whole object is stored as jsonb and returned as it was saved. */
export interface CartRecord {
  cartId: string;
  updatedAtMs: number;
  expiresAtMs: number;
  [field: string]: unknown;
}


/**
 * Carts, saved in batches: every save() of one tick becomes one multi-row upsert. The last save of a cart in a
 * batch wins, and a save never overwrites a cart stored with a later updatedAtMs.
 */
export class CartStore {
  private readonly saves: Batcher<CartRecord, void>;

  constructor(
    private readonly sql: SqlClient,
    opts: { batchDelayMs?: number } = {},
  ) {
    this.saves = new Batcher<CartRecord, void>((carts) => this.saveMany(carts), { batchMax: persistenceLimits.cartBatchMax, batchDelayMs: opts.batchDelayMs ?? 0 });
  }

  save(cart: CartRecord): Promise<void> {
    return this.saves.add(cart);
  }

  async get<T extends object = CartRecord>(cartId: string): Promise<T | null> {
    const [row] = await this.sql.query<{ state: T }>('SELECT state FROM carts WHERE cart_id = $1', [cartId]);
    return row?.state ?? null;
  }

  /** Deletes carts whose expiry is at or before `nowMs`; returns how many. */
  async deleteExpired(nowMs: number): Promise<number> {
    const [row] = await this.sql.query<{ n: number }>(
      'WITH gone AS (DELETE FROM carts WHERE expires_at <= $1::timestamptz RETURNING 1) SELECT count(*) AS n FROM gone',
      [new Date(nowMs).toISOString()],
    );
    return row?.n ?? 0;
  }

  close(): Promise<void> {
    return this.saves.close();
  }

  private async saveMany(carts: CartRecord[]) {
    const last = new Map<string, CartRecord>();
    for (const c of carts) last.set(c.cartId, c);
    await this.sql.query(
      `INSERT INTO carts AS c (cart_id, state, updated_at, expires_at)
       SELECT cart_id, state, updated_at, expires_at
       FROM jsonb_to_recordset($1::jsonb) AS r(cart_id text, state jsonb, updated_at timestamptz, expires_at timestamptz)
       ON CONFLICT (cart_id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at, expires_at = excluded.expires_at
       WHERE c.updated_at <= excluded.updated_at`,
      [
        JSON.stringify(
          [...last.values()].map((c) => ({
            cart_id: c.cartId,
            state: c,
            updated_at: new Date(c.updatedAtMs).toISOString(),
            expires_at: new Date(c.expiresAtMs).toISOString(),
          })),
        ),
      ],
    );
    return allOk<void>(carts.length, undefined);
  }
}
