import { persistenceLimits } from '../config/limits.js';
import { Batcher, allOk } from './batcher.js';
import type { SqlClient } from './sql.js';

/** A stored Idempotency-Key: what it was used with, and the final response once there is one. */
export interface IdempotencyRecord {
  key: string;
  fingerprint: string;
  checkoutId: string;
  /** null while the checkout has no final response yet. */
  statusCode: number | null;
  body: unknown | null;
  createdAt: Date;
}

export interface IdempotencyResponse {
  key: string;
  fingerprint: string;
  checkoutId: string;
  statusCode: number | null;
  body: unknown;
}


/**
 * Idempotency records, read and written in batches: every get() of one tick becomes one `key = ANY($1)` query and
 * every saveResponse() one multi-row upsert. Rows older than the retention are left for a cleanup job; nothing
 * here deletes them (DESIGN.md: records are kept at least 24 h).
 */
export class IdempotencyStore {
  private readonly reads: Batcher<string, IdempotencyRecord | null>;
  private readonly writes: Batcher<IdempotencyResponse, void>;

  constructor(
    private readonly sql: SqlClient,
    opts: { batchDelayMs?: number } = {},
  ) {
    const batchDelayMs = opts.batchDelayMs ?? 0;
    this.reads = new Batcher((keys) => this.readMany(keys), { batchMax: persistenceLimits.idempotencyBatchMax, batchDelayMs });
    this.writes = new Batcher<IdempotencyResponse, void>((recs) => this.writeMany(recs), { batchMax: persistenceLimits.idempotencyBatchMax, batchDelayMs });
  }

  get(key: string): Promise<IdempotencyRecord | null> {
    return this.reads.add(key);
  }

  /** Upserts the record; resolves once committed. Several saves of one key in a batch: the last one wins. */
  saveResponse(rec: IdempotencyResponse): Promise<void> {
    return this.writes.add(rec);
  }

  async close(): Promise<void> {
    await Promise.all([this.reads.close(), this.writes.close()]);
  }

  private async readMany(keys: string[]) {
    const rows = await this.sql.query<{
      key: string;
      fingerprint: string;
      checkout_id: string;
      status_code: number | null;
      response: unknown;
      created_at: Date;
    }>(
      'SELECT key, fingerprint, checkout_id, status_code, response, created_at FROM idempotency_keys WHERE key = ANY($1::text[])',
      [[...new Set(keys)]],
    );
    const byKey = new Map<string, IdempotencyRecord>(
      rows.map((r) => [
        r.key,
        { key: r.key, fingerprint: r.fingerprint, checkoutId: r.checkout_id, statusCode: r.status_code, body: r.response ?? null, createdAt: r.created_at },
      ]),
    );
    return keys.map((k) => ({ ok: true as const, value: byKey.get(k) ?? null }));
  }

  private async writeMany(recs: IdempotencyResponse[]) {
    const last = new Map<string, IdempotencyResponse>();
    for (const r of recs) last.set(r.key, r);
    await this.sql.query(
      `INSERT INTO idempotency_keys AS k (key, fingerprint, checkout_id, status_code, response, created_at, completed_at)
       SELECT key, fingerprint, checkout_id, status_code, response, now(), CASE WHEN status_code IS NULL THEN NULL ELSE now() END
       FROM jsonb_to_recordset($1::jsonb) AS r(key text, fingerprint text, checkout_id text, status_code int, response jsonb)
       ON CONFLICT (key) DO UPDATE SET fingerprint = excluded.fingerprint, checkout_id = excluded.checkout_id,
         status_code = excluded.status_code, response = excluded.response, completed_at = excluded.completed_at
       -- A final response is never replaced (a second run of a checkout, e.g. on a new owner, cannot rewrite it).
       WHERE k.status_code IS NULL`,
      [
        JSON.stringify(
          [...last.values()].map((r) => ({
            key: r.key,
            fingerprint: r.fingerprint,
            checkout_id: r.checkoutId,
            status_code: r.statusCode,
            response: r.body ?? null,
          })),
        ),
      ],
    );
    return allOk<void>(recs.length, undefined);
  }
}
