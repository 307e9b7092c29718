import type { SqlClient } from './sql.js';

/** A drop as stored (docs/drops.md). */
export interface DropRow {
  sku: string;
  startsAtMs: number;
  perCustomerLimit: number;
  admissionTtlMs: number;
  /** Hex of the 32-byte HMAC key of the drop's admission tokens. */
  tokenKey: string;
  shuffleSeed: string | null;
}

export interface TicketRow {
  customerId: string;
  ticket: string;
  seq: number;
  early: boolean;
  admittedAtMs: number | null;
  expiresAtMs: number | null;
}

/** What a checkout (by Idempotency-Key) took of a drop: the customer and the units. */
export interface DropClaim {
  customerId: string;
  qty: number;
}

export type ClaimOutcome = { t: 'claimed' } | ({ t: 'existing' } & DropClaim) | { t: 'limit'; bought: number };

const dropColumns = `sku, (extract(epoch FROM starts_at) * 1000)::bigint AS starts_at_ms, per_customer_limit, admission_ttl_ms, token_key, shuffle_seed`;

/** The tables of drops (src/persistence/drop-schema.ts): one statement or one short transaction per call. */
export class DropStore {
  constructor(private readonly sql: SqlClient) {}

  async all(): Promise<DropRow[]> {
    const rows = await this.sql.query(`SELECT ${dropColumns} FROM drops`);
    return rows.map(dropOf);
  }

  async get(sku: string): Promise<DropRow | null> {
    const rows = await this.sql.query(`SELECT ${dropColumns} FROM drops WHERE sku = $1`, [sku]);
    return rows.length === 1 ? dropOf(rows[0]!) : null;
  }

  /**
   * Creates the drop, or changes its settings; the start changes only while no seed is set (returns null when the
   * drop started and `startsAtMs` differs), and a new drop is refused past `dropsMax` (returns 'full').
   */
  async put(d: Omit<DropRow, 'shuffleSeed'>, dropsMax: number): Promise<DropRow | null | 'full'> {
    return this.sql.transaction(async (tx) => {
      const cur = await tx.query(`SELECT ${dropColumns} FROM drops WHERE sku = $1 FOR UPDATE`, [d.sku]);
      if (cur.length === 0) {
        const [n] = await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM drops');
        if (n!.n >= dropsMax) return 'full';
        await tx.query(
          `INSERT INTO drops (sku, starts_at, per_customer_limit, admission_ttl_ms, token_key) VALUES ($1, $2::timestamptz, $3, $4, $5)`,
          [d.sku, new Date(d.startsAtMs).toISOString(), d.perCustomerLimit, d.admissionTtlMs, d.tokenKey],
        );
        return { ...d, shuffleSeed: null };
      }
      const old = dropOf(cur[0]!);
      if (old.shuffleSeed !== null && old.startsAtMs !== d.startsAtMs) return null;
      await tx.query(`UPDATE drops SET starts_at = $2::timestamptz, per_customer_limit = $3, admission_ttl_ms = $4, updated_at = now() WHERE sku = $1`, [
        d.sku, new Date(d.startsAtMs).toISOString(), d.perCustomerLimit, d.admissionTtlMs,
      ]);
      return { ...old, startsAtMs: d.startsAtMs, perCustomerLimit: d.perCustomerLimit, admissionTtlMs: d.admissionTtlMs };
    });
  }

  /** Sets the seed once; answers the seed that holds (another owner's, if it was first). */
  async setSeed(sku: string, seed: string): Promise<string> {
    await this.sql.query('UPDATE drops SET shuffle_seed = $2 WHERE sku = $1 AND shuffle_seed IS NULL', [sku, seed]);
    const rows = await this.sql.query<{ shuffle_seed: string }>('SELECT shuffle_seed FROM drops WHERE sku = $1', [sku]);
    return rows[0]!.shuffle_seed;
  }

  async tickets(sku: string): Promise<TicketRow[]> {
    const rows = await this.sql.query('SELECT customer_id, ticket, seq, early, admitted_at_ms, expires_at_ms FROM drop_tickets WHERE sku = $1', [sku]);
    return rows.map((r) => ({
      customerId: r['customer_id'] as string,
      ticket: r['ticket'] as string,
      seq: Number(r['seq']),
      early: r['early'] as boolean,
      admittedAtMs: r['admitted_at_ms'] === null ? null : Number(r['admitted_at_ms']),
      expiresAtMs: r['expires_at_ms'] === null ? null : Number(r['expires_at_ms']),
    }));
  }

  /** Writes new tickets in one statement; answers the customers whose row was written (a row already there is not). */
  async insertTickets(sku: string, rows: Pick<TicketRow, 'customerId' | 'ticket' | 'seq' | 'early'>[]): Promise<Set<string>> {
    const written = await this.sql.query<{ customer_id: string }>(
      `INSERT INTO drop_tickets (sku, customer_id, ticket, seq, early)
       SELECT $1, u.c, u.t, u.s, u.e FROM unnest($2::text[], $3::text[], $4::bigint[], $5::boolean[]) AS u(c, t, s, e)
       ON CONFLICT DO NOTHING RETURNING customer_id`,
      [sku, rows.map((r) => r.customerId), rows.map((r) => r.ticket), rows.map((r) => r.seq), rows.map((r) => r.early)],
    );
    return new Set(written.map((r) => r.customer_id));
  }

  async admit(sku: string, tickets: string[], admittedAtMs: number, expiresAtMs: number): Promise<void> {
    await this.sql.query('UPDATE drop_tickets SET admitted_at_ms = $3, expires_at_ms = $4 WHERE sku = $1 AND ticket = ANY($2::text[])', [sku, tickets, admittedAtMs, expiresAtMs]);
  }

  /**
   * Takes `qty` units of the drop for the customer under `limit`, once per checkout (`claimKey`): the claim row makes
   * a retry a no-op ('existing'), and the conditional upsert of the customer's count is one atomic statement, so
   * concurrent claims on any nodes serialize on that row and never pass the limit together.
   */
  async claim(sku: string, claimKey: string, customerId: string, qty: number, limit: number): Promise<ClaimOutcome> {
    return this.sql.transaction<ClaimOutcome>(async (tx) => {
      const inserted = await tx.query('INSERT INTO drop_claims (sku, claim_key, customer_id, qty) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING id', [sku, claimKey, customerId, qty]);
      if (inserted.length === 0) {
        const [prior] = await tx.query<{ customer_id: string; qty: number }>('SELECT customer_id, qty FROM drop_claims WHERE sku = $1 AND claim_key = $2', [sku, claimKey]);
        return { t: 'existing', customerId: prior?.customer_id ?? '', qty: Number(prior?.qty ?? 0) };
      }
      const counted = await tx.query(
        `INSERT INTO drop_purchases (sku, customer_id, qty) SELECT $1::text, $2::text, $3::int WHERE $3::int <= $4::int
         ON CONFLICT (sku, customer_id) DO UPDATE SET qty = drop_purchases.qty + EXCLUDED.qty WHERE drop_purchases.qty + EXCLUDED.qty <= $4::int
         RETURNING qty`,
        [sku, customerId, qty, limit],
      );
      if (counted.length === 1) return { t: 'claimed' };
      const [row] = await tx.query<{ qty: number }>('SELECT qty FROM drop_purchases WHERE sku = $1 AND customer_id = $2', [sku, customerId]);
      throw new LimitReached(row?.qty ?? 0);
    }).catch((err: unknown) => {
      if (err instanceof LimitReached) return { t: 'limit' as const, bought: err.bought };
      throw err;
    });
  }

  /** Gives a failed checkout's units back (a no-op when it holds none). */
  async release(sku: string, claimKey: string): Promise<boolean> {
    return this.sql.transaction(async (tx) => {
      const gone = await tx.query<{ customer_id: string; qty: number }>('DELETE FROM drop_claims WHERE sku = $1 AND claim_key = $2 RETURNING customer_id, qty', [sku, claimKey]);
      if (gone.length === 0) return false;
      await tx.query('UPDATE drop_purchases SET qty = GREATEST(0, qty - $3::int) WHERE sku = $1 AND customer_id = $2', [sku, gone[0]!.customer_id, gone[0]!.qty]);
      return true;
    });
  }

  /** The claim of a checkout (by its Idempotency-Key), or null. */
  async claimOf(sku: string, claimKey: string): Promise<DropClaim | null> {
    const [row] = await this.sql.query<{ customer_id: string; qty: number }>('SELECT customer_id, qty FROM drop_claims WHERE sku = $1 AND claim_key = $2', [sku, claimKey]);
    return row === undefined ? null : { customerId: row.customer_id, qty: Number(row.qty) };
  }

  /** Which of these customers hold a claim of the drop now (a checkout of theirs took units and was not refused). */
  async claimants(sku: string, customerIds: string[]): Promise<Set<string>> {
    if (customerIds.length === 0) return new Set();
    const rows = await this.sql.query<{ customer_id: string }>('SELECT DISTINCT customer_id FROM drop_claims WHERE sku = $1 AND customer_id = ANY($2::text[])', [sku, customerIds]);
    return new Set(rows.map((r) => r.customer_id));
  }
}

/** Rolls the claim's transaction back (its claim row with it) and carries what the customer bought already. */
class LimitReached extends Error {
  constructor(readonly bought: number) {
    super('purchase limit reached');
  }
}

function dropOf(r: Record<string, unknown>): DropRow {
  return {
    sku: r['sku'] as string,
    startsAtMs: Number(r['starts_at_ms']),
    perCustomerLimit: Number(r['per_customer_limit']),
    admissionTtlMs: Number(r['admission_ttl_ms']),
    tokenKey: r['token_key'] as string,
    shuffleSeed: (r['shuffle_seed'] as string | null) ?? null,
  };
}
