import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backlogParts, backlogStatement, readBacklogPart } from '../../../src/persistence/metric-queries.js';
import { drivers, createTestDatabase, type TestDatabase } from '../../support/sql-drivers.js';

/**
 * The backlog gauges' reads (migration 8's partial indexes): each part reads an index holding only the backlog, so a
 * large table of settled rows costs nothing, on PostgreSQL and on PGlite (where a scan would hold the one connection
 * the journal's group commits need).
 */
describe.each(drivers)('the backlog reads on %s', (driver) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(driver);
    // 20,000 settled payments and 3 outstanding authorizations, 2 of them old.
    await db.sql.query(
      `INSERT INTO payments (payment_id, order_id, provider, status, amount, currency, idempotency_key)
       SELECT 'pay_' || i, 'ord_' || i, 'sim', 'captured', 100, 'USD', 'k_' || i FROM generate_series(1, 20000) AS i`,
    );
    await db.sql.query(
      `INSERT INTO payments (payment_id, order_id, provider, status, amount, currency, idempotency_key, created_at)
       VALUES ('pay_a1', 'ord_a1', 'sim', 'authorized', 100, 'USD', 'ka1', now() - interval '2 days'),
              ('pay_a2', 'ord_a2', 'sim', 'authorized', 100, 'USD', 'ka2', now() - interval '1 day'),
              ('pay_a3', 'ord_a3', 'sim', 'authorized', 100, 'USD', 'ka3', now())`,
    );
    await db.sql.query('ANALYZE payments');
  }, 60_000);
  afterAll(() => db.dispose());

  it('counts the outstanding authorizations and the oldest one through the partial index, not a scan of payments', async () => {
    const read = await readBacklogPart(db.sql, 'authorizations', 5_000);
    expect(read.authorizationsOutstanding).toBe(3);
    expect(read.authorizationOldestAgeS).toBeGreaterThanOrEqual(2 * 86_400 - 60);
    const plan = (await db.sql.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${backlogStatement('authorizations')}`)).map((r) => r['QUERY PLAN']).join('\n');
    expect(plan).toContain('payments_authorized_created_at');
    expect(plan).not.toMatch(/Seq Scan on payments/);
  });

  it('has an index for every part (pending orders, pending webhook deliveries), each read on its own', async () => {
    const plans = await db.sql.transaction(async (tx) => {
      await tx.query(`SELECT set_config('enable_seqscan', 'off', true)`);
      const out: string[] = [];
      for (const part of backlogParts) out.push((await tx.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${backlogStatement(part)}`)).map((r) => r['QUERY PLAN']).join('\n'));
      return out;
    });
    expect(plans[0]).toContain('orders_status_created_at');
    expect(plans[1]).toContain('payments_authorized_created_at');
    expect(plans[2]).toContain('webhook_deliveries_pending_created_at');
    expect(await readBacklogPart(db.sql, 'orders', 5_000)).toEqual({ ordersPending: 0, orderPendingOldestAgeS: 0 });
    expect(await readBacklogPart(db.sql, 'webhooks', 5_000)).toEqual({ webhookLagS: 0 });
  });
});
