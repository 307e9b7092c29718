import { randomUUID } from 'node:crypto';
import { orderEntity, partitionOf } from '../domain/entities.js';
import type { OrderEventType } from '../domain/order-events.js';
import type { SqlTx } from './sql.js';

/**
 * The outbox (issue 12, "Events out"). Its columns follow Debezium's outbox convention, default names included, so a
 * CDC pipeline (Debezium's outbox event router) reads the table with no mapping: `id` (the event's stable id, a uuid),
 * `aggregatetype` ('order'), `aggregateid` (the order id), `type` (order.confirmed, …) and `payload` (the whole event
 * as every sink carries it: `{ id, type, orderId, sequence, occurredAt, data }`). Besides: `position` (bigserial: the
 * relay's read order), `sequence` (per order, from 1), `partition` (which node relays it), `occurred_at`, `created_at`
 * and `published_at` (set once the relay delivered it).
 *
 * An event's partition is its ORDER's partition, `partitionOf('order:<orderId>')`, whoever wrote it (the checkout's
 * node, the order's owner for ship and cancel, the sweeper's node): every event of one order is relayed by one node,
 * the owner of that partition, which is what keeps an order's events in order across the cluster.
 *
 * Sequences come from `orders.event_seq`, bumped by the same UPDATE that changes the order (or locks it): two changes
 * of one order serialize on its row, so the numbers have no gaps and no repeats, and an order's later event always
 * has a larger position than its earlier one (its transaction began after the earlier one committed).
 */

/** An event about to be written; `payload` is the event's `data`. */
export interface OutboxEvent {
  eventType: OrderEventType;
  payload: unknown;
}

/** The partition that relays an order's events. */
export function outboxPartition(orderId: string, partitions: number): number {
  return partitionOf(orderEntity(orderId), partitions);
}

/** `now()` as the events' occurredAt: ISO 8601, UTC, milliseconds (what `Date.prototype.toISOString` gives). */
export const occurredAtSql = `to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/** The outbox rows of these events as jsonb_to_recordset input: ids are made here, once per event. */
export function outboxRecords(orderId: string, partition: number, firstSequence: number, events: readonly OutboxEvent[]) {
  return events.map((e, i) => ({ id: randomUUID(), type: e.eventType, order_id: orderId, sequence: firstSequence + i, partition, data: e.payload ?? null }));
}

/** Inserts events made by `outboxRecords` (in the caller's transaction). */
export async function insertOutbox(tx: SqlTx, records: ReturnType<typeof outboxRecords>): Promise<void> {
  if (records.length === 0) return;
  await tx.query(
    `INSERT INTO outbox (id, aggregatetype, aggregateid, type, sequence, partition, occurred_at, payload)
     SELECT e.id, 'order', e.order_id, e.type, e.sequence, e.partition, now(),
            jsonb_build_object('id', e.id, 'type', e.type, 'orderId', e.order_id, 'sequence', e.sequence, 'occurredAt', ${occurredAtSql}, 'data', coalesce(e.data, 'null'::jsonb))
     FROM jsonb_to_recordset($1::jsonb) AS e(id uuid, type text, order_id text, sequence int, partition int, data jsonb)
     ORDER BY e.sequence`,
    [JSON.stringify(records)],
  );
}

/**
 * Bumps the order's event counter by `count` and returns the first sequence of those events, or null when the order
 * does not exist. The UPDATE takes the order's row lock, so it also serializes this change with any other of the order.
 */
export async function reserveSequences(tx: SqlTx, orderId: string, count: number): Promise<number | null> {
  const [row] = await tx.query<{ event_seq: number }>('UPDATE orders SET event_seq = event_seq + $2 WHERE order_id = $1 RETURNING event_seq', [orderId, count]);
  return row === undefined ? null : row.event_seq - count + 1;
}
