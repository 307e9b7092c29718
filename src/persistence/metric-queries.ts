import type { SqlClient } from './sql.js';

/** The cluster-wide backlog gauges (docs/metrics.md), read from the shared tables in one statement. */
export interface BacklogCounts {
  ordersPending: number;
  orderPendingOldestAgeS: number;
  authorizationsOutstanding: number;
  authorizationOldestAgeS: number;
  /** Age of the oldest outgoing webhook delivery still pending (not delivered, not parked); 0 when none. */
  webhookLagS: number;
}

/**
 * One read of the backlog: pending orders (orders_status_created_at), payments authorized and neither captured nor
 * voided (a scan of payments: it has no index on status, hence the caller's cache and timeout), pending webhook
 * deliveries. Bounded by `timeoutMs` on the server (statement_timeout, local to the transaction).
 */
export async function readBacklog(sql: SqlClient, timeoutMs: number): Promise<BacklogCounts> {
  return sql.transaction(async (tx) => {
    await tx.query(`SELECT set_config('statement_timeout', $1, true)`, [String(Math.max(1, Math.round(timeoutMs)))]);
    const [row] = await tx.query<Record<string, string | number | null>>(
      `SELECT
         (SELECT count(*) FROM orders WHERE status = 'pending') AS orders_pending,
         (SELECT extract(epoch FROM now() - min(created_at)) FROM orders WHERE status = 'pending') AS order_oldest_s,
         (SELECT count(*) FROM payments WHERE status = 'authorized') AS auths,
         (SELECT extract(epoch FROM now() - min(created_at)) FROM payments WHERE status = 'authorized') AS auth_oldest_s,
         (SELECT extract(epoch FROM now() - min(created_at)) FROM webhook_deliveries WHERE state = 'pending') AS webhook_lag_s`,
    );
    const n = (v: string | number | null | undefined): number => Math.max(0, Number(v ?? 0));
    return {
      ordersPending: n(row?.['orders_pending']),
      orderPendingOldestAgeS: n(row?.['order_oldest_s']),
      authorizationsOutstanding: n(row?.['auths']),
      authorizationOldestAgeS: n(row?.['auth_oldest_s']),
      webhookLagS: n(row?.['webhook_lag_s']),
    };
  });
}
