import type { OrderEvent } from '../domain/order-events.js';
import { outboxPartition } from './outbox.js';
import type { SqlClient } from './sql.js';

/** An undelivered outbox row, as the relay reads it. */
export interface OutboxRow {
  position: number;
  partition: number;
  createdAt: Date;
  event: OrderEvent;
}

/** A partition and the epoch this node owns it at: marking its rows delivered is fenced on that epoch. */
export interface RelayFence {
  partition: number;
  epoch: number;
}

/** The relay's reads and writes of the outbox (see src/events/outbox-relay.ts). */
export class OutboxRelayStore {
  constructor(private readonly sql: SqlClient) {}

  /** Undelivered rows of `partitions`, oldest position first: within an order, sequence order. */
  async undelivered(partitions: readonly number[], limit: number): Promise<OutboxRow[]> {
    if (partitions.length === 0) return [];
    const rows = await this.sql.query<{ position: number; partition: number; created_at: Date; payload: OrderEvent }>(
      `SELECT position, partition, created_at, payload FROM outbox
       WHERE published_at IS NULL AND partition = ANY($1::int[]) ORDER BY position LIMIT $2`,
      [partitions, limit],
    );
    return rows.map((r) => ({ position: r.position, partition: r.partition, createdAt: r.created_at, event: r.payload }));
  }

  /**
   * Marks rows delivered and queues each for the webhook endpoints subscribed to its type, in one statement (so a
   * crash leaves a row either undelivered with no deliveries, or delivered with all of them). Fenced: only rows of a
   * partition whose ownership row still names `nodeId` at the given epoch are marked (FOR SHARE: a claim waits for
   * this statement), so a relay that lost its partition marks nothing and the next owner delivers the rows again.
   * Returns the positions marked.
   */
  async markDelivered(nodeId: string, fences: readonly RelayFence[], positions: readonly number[], nowMs: number): Promise<number[]> {
    if (positions.length === 0 || fences.length === 0) return [];
    const rows = await this.sql.query<{ position: number }>(
      `WITH fence AS (
         SELECT o.partition FROM partition_owners o
         JOIN unnest($2::int[], $3::bigint[]) AS f(partition, epoch) ON f.partition = o.partition AND f.epoch = o.epoch
         WHERE o.node = $1 ORDER BY o.partition FOR SHARE OF o
       ), marked AS (
         UPDATE outbox SET published_at = now()
         WHERE position = ANY($4::bigint[]) AND published_at IS NULL AND partition IN (SELECT partition FROM fence)
         RETURNING id, aggregateid, type, sequence, partition, payload, position
       ), queued AS (
         INSERT INTO webhook_deliveries (endpoint_id, event_id, order_id, sequence, partition, payload, next_attempt_at)
         SELECT w.id, m.id, m.aggregateid, m.sequence, m.partition, m.payload, to_timestamp($5::double precision / 1000)
         FROM marked m JOIN webhook_endpoints w ON m.type = ANY(w.events)
         ON CONFLICT DO NOTHING
       )
       SELECT position FROM marked`,
      [nodeId, fences.map((f) => f.partition), fences.map((f) => f.epoch), positions, nowMs],
    );
    return rows.map((r) => r.position);
  }

  /**
   * Gives rows without a partition (written before migration 6, or by a writer that does not know the partition
   * count) their order's partition, a bounded batch at a time. Returns how many were placed.
   */
  async placeUnpartitioned(partitions: number, limit: number): Promise<number> {
    const rows = await this.sql.query<{ position: number; aggregateid: string }>(
      'SELECT position, aggregateid FROM outbox WHERE partition IS NULL AND published_at IS NULL ORDER BY position LIMIT $1',
      [limit],
    );
    if (rows.length === 0) return 0;
    await this.sql.query(
      `UPDATE outbox o SET partition = p.partition FROM unnest($1::bigint[], $2::int[]) AS p(position, partition)
       WHERE o.position = p.position AND o.partition IS NULL`,
      [rows.map((r) => r.position), rows.map((r) => outboxPartition(r.aggregateid, partitions))],
    );
    return rows.length;
  }
}
