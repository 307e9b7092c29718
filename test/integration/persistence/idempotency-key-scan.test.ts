import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scanIdempotencyKeys } from '../../../src/persistence/idempotency-key-scan.js';
import type { SqlClient } from '../../../src/persistence/sql.js';
import { drivers, createTestDatabase, type TestDatabase } from '../../support/sql-drivers.js';

/**
 * The known-keys scan (at start and on every acquire) reads the keys of the retention window into the Bloom filter.
 * A flash sale stores millions of keys in that window: the scan must read them a bounded page at a time, never all
 * rows in one result (a heap of millions of row objects, and one statement that can outlast DB_QUERY_TIMEOUT_MS, so
 * a node could never start again).
 */
describe.each(drivers)('the known-keys scan on %s', (driver) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(driver);
    const insert = (key: string, ageHours: number) =>
      db.sql.query(
        `INSERT INTO idempotency_keys (key, fingerprint, checkout_id, status_code, response, created_at) VALUES ($1, 'fp', $2, 201, '{}', now() - make_interval(hours => $3))`,
        [key, `co_${key}`, ageHours],
      );
    // Several keys share a created_at (one transaction), so paging must not skip or repeat ties.
    await db.sql.query(
      `INSERT INTO idempotency_keys (key, fingerprint, checkout_id, status_code, response, created_at)
       SELECT 'tie-' || i, 'fp', 'co_tie-' || i, 201, '{}', now() - interval '2 hours' FROM generate_series(1, 13) AS i`,
    );
    for (let i = 0; i < 12; i++) await insert(`recent-${i}`, i % 5);
    for (let i = 0; i < 4; i++) await insert(`old-${i}`, 100 + i);
  });
  afterAll(() => db.dispose());

  /** Counts the rows each statement returned. */
  function counting(sql: SqlClient): { sql: SqlClient; rowsPerStatement: number[] } {
    const rowsPerStatement: number[] = [];
    return {
      rowsPerStatement,
      sql: {
        ...sql,
        driver: sql.driver,
        async query<R>(text: string, params?: unknown[]) {
          const rows = await sql.query<R>(text, params);
          rowsPerStatement.push(rows.length);
          return rows;
        },
        transaction: (fn) => sql.transaction(fn),
        close: () => sql.close(),
      },
    };
  }

  it('reads every key of the window a bounded page at a time, and none older', async () => {
    const { sql, rowsPerStatement } = counting(db.sql);
    const seen: string[] = [];
    const scan = await scanIdempotencyKeys(sql, { withinMs: 48 * 3600 * 1000 }, 4, (key) => seen.push(key));
    expect(seen.sort()).toEqual([...Array.from({ length: 12 }, (_, i) => `recent-${i}`), ...Array.from({ length: 13 }, (_, i) => `tie-${i + 1}`)].sort());
    expect(scan.keys).toBe(25);
    expect(Math.max(...rowsPerStatement)).toBeLessThanOrEqual(4);
    expect(typeof scan.scannedAt).toBe('string');
  });

  it('reads from an earlier scan on (less the overlap), also in pages', async () => {
    const [{ at }] = (await db.sql.query<{ at: string }>(`SELECT (now() - interval '90 minutes')::text AS at`)) as [{ at: string }];
    const { sql, rowsPerStatement } = counting(db.sql);
    const seen: string[] = [];
    await scanIdempotencyKeys(sql, { since: at, overlapSeconds: 60 }, 3, (key) => seen.push(key));
    // Keys at most 1 h old: recent-* with i % 5 <= 1 hours old... those created within 90 + 1 minutes.
    expect(seen.sort()).toEqual(['recent-0', 'recent-1', 'recent-10', 'recent-11', 'recent-5', 'recent-6'].sort());
    expect(Math.max(...rowsPerStatement)).toBeLessThanOrEqual(3);
  });
});
