import type { SqlClient } from './sql.js';

/**
 * Retention of the tables that grow with every sale: answered idempotency keys past IDEMPOTENCY_RETENTION_MS and
 * published outbox rows past their keep time. Each call deletes one bounded batch (oldest first, by index), so a
 * backlog is worked off over several runs without a long transaction or a burst of I/O.
 */
export class Retention {
  constructor(private readonly sql: SqlClient) {}

  /** Answered keys older than `olderThanMs` (a key without an answer, or whose order is still pending, is kept). */
  async deleteKeys(olderThanMs: number, batchMax: number): Promise<number> {
    const rows = await this.sql.query(
      `DELETE FROM idempotency_keys WHERE key IN (
         SELECT key FROM idempotency_keys
         WHERE created_at < now() - make_interval(secs => $1::double precision / 1000) AND status_code IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.checkout_id = idempotency_keys.checkout_id AND o.status = 'pending')
         ORDER BY created_at LIMIT $2)
       RETURNING key`,
      [olderThanMs, batchMax],
    );
    return rows.length;
  }

  /** Outbox rows published longer ago than `olderThanMs` (unpublished rows are never deleted). */
  async deletePublishedOutbox(olderThanMs: number, batchMax: number): Promise<number> {
    const rows = await this.sql.query(
      `DELETE FROM outbox WHERE position IN (
         SELECT position FROM outbox WHERE published_at < now() - make_interval(secs => $1::double precision / 1000)
         ORDER BY position LIMIT $2)
       RETURNING position`,
      [olderThanMs, batchMax],
    );
    return rows.length;
  }
}
