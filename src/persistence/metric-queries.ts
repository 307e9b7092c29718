import type { SqlClient } from './sql.js';

/** The cluster-wide backlog gauges (docs/metrics.md), read from the shared tables. */
export interface BacklogCounts {
  ordersPending: number;
  orderPendingOldestAgeS: number;
  authorizationsOutstanding: number;
  authorizationOldestAgeS: number;
  /** Age of the oldest outgoing webhook delivery still pending (not delivered, not parked); 0 when none. */
  webhookLagS: number;
}

/** The backlog is read in parts, one statement each, so a part that times out does not freeze the others. */
export type BacklogPart = 'orders' | 'authorizations' | 'webhooks';

export const backlogParts: readonly BacklogPart[] = ['orders', 'authorizations', 'webhooks'];

/**
 * Each part's statement, and the index it reads (a partial index holds only the backlog, so a read costs the size of
 * the backlog, not of the table): pending orders through orders_status_created_at, payments authorized and neither
 * captured nor voided through payments_authorized_created_at, pending webhook deliveries through
 * webhook_deliveries_pending_created_at (migration 8).
 */
const statements: Record<BacklogPart, string> = {
  orders: `SELECT count(*) AS n, extract(epoch FROM now() - min(created_at)) AS oldest_s FROM orders WHERE status = 'pending'`,
  authorizations: `SELECT count(*) AS n, extract(epoch FROM now() - min(created_at)) AS oldest_s FROM payments WHERE status = 'authorized'`,
  webhooks: `SELECT count(*) AS n, extract(epoch FROM now() - min(created_at)) AS oldest_s FROM webhook_deliveries WHERE state = 'pending'`,
};

/** The SQL of one part (for EXPLAIN in tests). */
export function backlogStatement(part: BacklogPart): string {
  return statements[part];
}

/**
 * One part of the backlog, bounded by `timeoutMs` on the server (statement_timeout, local to its transaction).
 * Returns the gauges of that part only.
 */
export async function readBacklogPart(sql: SqlClient, part: BacklogPart, timeoutMs: number): Promise<Partial<BacklogCounts>> {
  const row = await sql.transaction(async (tx) => {
    await tx.query(`SELECT set_config('statement_timeout', $1, true)`, [String(Math.max(1, Math.round(timeoutMs)))]);
    const [r] = await tx.query<Record<string, string | number | null>>(statements[part]);
    return r;
  });
  const n = (v: string | number | null | undefined): number => Math.max(0, Number(v ?? 0));
  const count = n(row?.['n']);
  const oldest = n(row?.['oldest_s']);
  if (part === 'orders') return { ordersPending: count, orderPendingOldestAgeS: oldest };
  if (part === 'authorizations') return { authorizationsOutstanding: count, authorizationOldestAgeS: oldest };
  return { webhookLagS: oldest };
}
