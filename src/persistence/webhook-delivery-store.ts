import type { OrderEvent } from '../domain/order-events.js';
import type { SqlClient } from './sql.js';

/** A delivery due now: the head of its (endpoint, order) chain. */
export interface DueDelivery {
  endpointId: string;
  url: string;
  secret: string;
  eventId: string;
  orderId: string;
  sequence: number;
  attempts: number;
  /** When the first attempt was made (null before it): the retry age counts from it. */
  firstAttemptAt: Date | null;
  event: OrderEvent;
}

/**
 * The delivery state of every event to every endpoint subscribed to it (webhook_deliveries), in PostgreSQL so retries
 * survive restarts and partition moves. A delivery is `pending` until a 2xx (`delivered`) or until it has failed for
 * WEBHOOK_RETRY_MAX_AGE_MS (`parked`). Per endpoint, an order's events go one at a time in sequence order: only the
 * pending delivery with no earlier pending one of the same order and endpoint is due.
 */
export class WebhookDeliveryStore {
  constructor(private readonly sql: SqlClient) {}

  /**
   * Deliveries of `partitions` due at `nowMs`, at most `perEndpointMax` per endpoint (the earliest due first), and
   * `limit` in all, taken round-robin across endpoints so one endpoint's backlog cannot crowd the others out.
   */
  async due(partitions: readonly number[], nowMs: number, perEndpointMax: number, limit: number): Promise<DueDelivery[]> {
    if (partitions.length === 0) return [];
    const rows = await this.sql.query<DueRow>(
      `WITH due AS (
         SELECT d.endpoint_id, d.event_id, d.order_id, d.sequence, d.attempts, d.first_attempt_at, d.payload,
                row_number() OVER (PARTITION BY d.endpoint_id ORDER BY d.next_attempt_at, d.order_id, d.sequence) AS rank
         FROM webhook_deliveries d
         WHERE d.state = 'pending' AND d.partition = ANY($1::int[]) AND d.next_attempt_at <= to_timestamp($2::double precision / 1000)
           AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e
                           WHERE e.endpoint_id = d.endpoint_id AND e.order_id = d.order_id AND e.sequence < d.sequence AND e.state <> 'delivered')
       )
       SELECT due.*, w.url, w.secret FROM due JOIN webhook_endpoints w ON w.id = due.endpoint_id
       WHERE due.rank <= $3 ORDER BY due.rank, due.endpoint_id LIMIT $4`,
      [partitions, nowMs, perEndpointMax, limit],
    );
    return rows.map((r) => ({
      endpointId: r.endpoint_id,
      url: r.url,
      secret: r.secret,
      eventId: r.event_id,
      orderId: r.order_id,
      sequence: r.sequence,
      attempts: r.attempts,
      firstAttemptAt: r.first_attempt_at,
      event: r.payload,
    }));
  }

  /** A 2xx: delivered (only a pending delivery: a repeat changes nothing). */
  async delivered(endpointId: string, eventId: string, attemptedAtMs: number): Promise<boolean> {
    const rows = await this.sql.query(
      `UPDATE webhook_deliveries SET state = 'delivered', attempts = attempts + 1, last_error = NULL, updated_at = now(),
         first_attempt_at = coalesce(first_attempt_at, to_timestamp($3::double precision / 1000))
       WHERE endpoint_id = $1 AND event_id = $2 AND state = 'pending' RETURNING 1`,
      [endpointId, eventId, attemptedAtMs],
    );
    return rows.length > 0;
  }

  /**
   * A failed attempt: retried at `retryAtMs`, or parked when that is null. Parking a delivery parks the later
   * pending deliveries of its order to the same endpoint too (they may never go before it). Returns how many were
   * parked (0 when the delivery is retried or was not pending any more).
   */
  async failed(endpointId: string, eventId: string, attemptedAtMs: number, retryAtMs: number | null, error: string): Promise<number> {
    const rows = await this.sql.query<{ order_id: string; sequence: number }>(
      `UPDATE webhook_deliveries SET attempts = attempts + 1, last_error = $5, updated_at = now(),
         first_attempt_at = coalesce(first_attempt_at, to_timestamp($3::double precision / 1000)),
         state = CASE WHEN $4::double precision IS NULL THEN 'parked' ELSE 'pending' END,
         next_attempt_at = coalesce(to_timestamp($4::double precision / 1000), next_attempt_at)
       WHERE endpoint_id = $1 AND event_id = $2 AND state = 'pending' RETURNING order_id, sequence`,
      [endpointId, eventId, attemptedAtMs, retryAtMs, error],
    );
    const [row] = rows;
    if (row === undefined || retryAtMs !== null) return 0;
    return 1 + (await this.parkBehind(endpointId, row.order_id, row.sequence));
  }

  /**
   * Parks pending deliveries of `partitions` queued behind a parked one of their order and endpoint (an event that
   * arrived after its order's chain was parked). Returns how many.
   */
  async parkBlocked(partitions: readonly number[]): Promise<number> {
    if (partitions.length === 0) return 0;
    const rows = await this.sql.query(
      `UPDATE webhook_deliveries d SET state = 'parked', last_error = 'an earlier event of this order was parked', updated_at = now()
       WHERE d.state = 'pending' AND d.partition = ANY($1::int[])
         AND EXISTS (SELECT 1 FROM webhook_deliveries e WHERE e.endpoint_id = d.endpoint_id AND e.order_id = d.order_id
                     AND e.sequence < d.sequence AND e.state = 'parked')
       RETURNING 1`,
      [partitions],
    );
    return rows.length;
  }

  /** Delivered and parked deliveries settled longer ago than `olderThanMs`, a bounded batch (the retention job). */
  async deleteSettled(olderThanMs: number, batchMax: number): Promise<number> {
    const rows = await this.sql.query(
      `DELETE FROM webhook_deliveries WHERE (endpoint_id, event_id) IN (
         SELECT endpoint_id, event_id FROM webhook_deliveries
         WHERE state <> 'pending' AND updated_at < now() - make_interval(secs => $1::double precision / 1000)
         ORDER BY updated_at LIMIT $2)
       RETURNING 1`,
      [olderThanMs, batchMax],
    );
    return rows.length;
  }

  private async parkBehind(endpointId: string, orderId: string, sequence: number): Promise<number> {
    const rows = await this.sql.query(
      `UPDATE webhook_deliveries SET state = 'parked', last_error = 'an earlier event of this order was parked', updated_at = now()
       WHERE endpoint_id = $1 AND order_id = $2 AND sequence > $3 AND state = 'pending' RETURNING 1`,
      [endpointId, orderId, sequence],
    );
    return rows.length;
  }
}

interface DueRow {
  endpoint_id: string;
  event_id: string;
  order_id: string;
  sequence: number;
  attempts: number;
  first_attempt_at: Date | null;
  payload: OrderEvent;
  url: string;
  secret: string;
}
