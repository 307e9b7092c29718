import type { SqlClient } from './sql.js';

/** Where a known-keys scan starts: the whole retention window (at start), or an earlier scan less an overlap. */
export type KeyScanFrom = { withinMs: number } | { since: string; overlapSeconds: number };

/**
 * Reads the idempotency keys created since `from` and hands each to `onKey`, at most `pageRowsMax` rows per statement
 * (keyset pages in (created_at, key) order, on the created_at index). A sale stores millions of keys in the retention
 * window: read in one result they would be a heap of millions of row objects and one statement long enough to hit
 * DB_QUERY_TIMEOUT_MS, and a node that cannot scan cannot start. Resolves with the database time the scan began
 * (where the next scan starts) and the number of keys read.
 */
export async function scanIdempotencyKeys(
  sql: SqlClient,
  from: KeyScanFrom,
  pageRowsMax: number,
  onKey: (key: string) => void,
): Promise<{ scannedAt: string; keys: number }> {
  const [start] = await sql.query<{ now: string; cutoff: string }>(
    'withinMs' in from
      ? `SELECT now()::text AS now, (now() - make_interval(secs => $1::double precision / 1000))::text AS cutoff`
      : `SELECT now()::text AS now, ($1::timestamptz - make_interval(secs => $2::double precision))::text AS cutoff`,
    'withinMs' in from ? [from.withinMs] : [from.since, from.overlapSeconds],
  );
  let after: { at: string; key: string } | null = null;
  let keys = 0;
  for (;;) {
    const rows: { key: string; at: string }[] = await sql.query<{ key: string; at: string }>(
      after === null
        ? `SELECT key, created_at::text AS at FROM idempotency_keys WHERE created_at > $1::timestamptz ORDER BY created_at, key LIMIT $2`
        : `SELECT key, created_at::text AS at FROM idempotency_keys
           WHERE created_at >= $3::timestamptz AND (created_at, key) > ($3::timestamptz, $4::text) AND created_at > $1::timestamptz
           ORDER BY created_at, key LIMIT $2`,
      after === null ? [start!.cutoff, pageRowsMax] : [start!.cutoff, pageRowsMax, after.at, after.key],
    );
    for (const r of rows) onKey(r.key);
    keys += rows.length;
    if (rows.length < pageRowsMax) break;
    const last = rows[rows.length - 1]!;
    after = { at: last.at, key: last.key };
  }
  return { scannedAt: start!.now, keys };
}
