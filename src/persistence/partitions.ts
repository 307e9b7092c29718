import { persistenceLimits } from '../config/limits.js';
import { decodePayload, encodePayload, packPayloads } from './journal-codec.js';
import type { SqlClient } from './sql.js';

/**
 * Partition ownership, recovery reads and snapshots (DESIGN.md, "Ownership, moves and failover"). Every function
 * is set-based: a node taking 1024 partitions issues a handful of statements, not 1024 round trips.
 */

/** An event read back from the journal. */
export interface JournalEntry {
  partition: number;
  seq: number;
  epoch: number;
  entity: string;
  event: unknown;
}

/** What a node got when it took a partition: write at `epoch`, starting at `nextSeq`. */
export interface PartitionClaim {
  partition: number;
  epoch: number;
  nextSeq: number;
}

export interface SnapshotRecord {
  partition: number;
  entity: string;
  seq: number;
  epoch: number;
  state: unknown;
}

/**
 * Takes `partitions` for `node`: bumps each epoch (1 for a partition never owned), which fences every earlier owner,
 * and returns where the journal continues.
 *
 * Two statements in one transaction, on purpose. The upsert waits for the row locks of any journal INSERT of the
 * old owner still in flight (its FOR SHARE); the second statement takes a fresh snapshot, so it sees the rows that
 * INSERT committed. A single statement would compute max(seq) from a snapshot taken before the wait and could hand
 * out a seq the old owner just used.
 */
export async function claimPartitions(sql: SqlClient, node: string, partitions: number[]): Promise<PartitionClaim[]> {
  // Sorted and distinct: ON CONFLICT DO UPDATE cannot touch a row twice, and a fixed lock order keeps two nodes
  // claiming overlapping sets from deadlocking.
  const wanted = [...new Set(partitions)].sort((a, b) => a - b);
  for (const p of wanted) assertPartition(p);
  if (wanted.length === 0) return [];
  return withDeadlockRetry(() => claimSorted(sql, node, wanted));
}

async function claimSorted(sql: SqlClient, node: string, wanted: number[]): Promise<PartitionClaim[]> {
  return sql.transaction(async (tx) => {
    const owners = await tx.query<{ partition: number; epoch: number }>(
      `INSERT INTO partition_owners AS o (partition, node, epoch, updated_at)
       SELECT p, $2, 1, now() FROM unnest($1::int[]) AS p ORDER BY p
       ON CONFLICT (partition) DO UPDATE SET node = excluded.node, epoch = o.epoch + 1, updated_at = now()
       RETURNING partition, epoch`,
      [wanted, node],
    );
    // A snapshot's seq counts too, so the sequence never restarts if old journal rows are ever compacted away.
    const tails = await tx.query<{ partition: number; last_seq: number }>(
      `SELECT p AS partition,
              greatest(
                (SELECT max(j.seq) FROM journal j WHERE j.partition = p),
                (SELECT max(s.seq) FROM snapshots s WHERE s.partition = p),
                0
              ) AS last_seq
       FROM unnest($1::int[]) AS p`,
      [wanted],
    );
    const lastSeq = new Map(tails.map((t) => [t.partition, t.last_seq]));
    return owners
      .map((o) => ({ partition: o.partition, epoch: o.epoch, nextSeq: (lastSeq.get(o.partition) ?? 0) + 1 }))
      .sort((a, b) => a.partition - b.partition);
  });
}

/**
 * Recovery read: every snapshot of `partitions`, and the journal tail after it. An entity's events with
 * seq ≤ its snapshot's seq are left out; an entity without a snapshot gets all of its events. Events come ordered
 * by partition, then seq, which is the order they were appended in.
 */
export async function loadPartitions(
  sql: SqlClient,
  partitions: number[],
): Promise<{ snapshots: SnapshotRecord[]; events: JournalEntry[] }> {
  const wanted = [...new Set(partitions)];
  for (const p of wanted) assertPartition(p);
  if (wanted.length === 0) return { snapshots: [], events: [] };
  return sql.transaction(async (tx) => {
    // One snapshot of the database for both reads.
    await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
    const snapshotRows = await tx.query<{ partition: number; entity: string; seq: number; epoch: number; payload: Uint8Array }>(
      `SELECT partition, entity, seq, epoch, payload FROM snapshots WHERE partition = ANY($1::int[])
       ORDER BY partition, entity`,
      [wanted],
    );
    const eventRows = await tx.query<{ partition: number; entity: string; seq: number; epoch: number; payload: Uint8Array }>(
      `SELECT j.partition, j.seq, j.epoch, j.entity, j.payload
       FROM journal j
       LEFT JOIN snapshots s ON s.partition = j.partition AND s.entity = j.entity
       WHERE j.partition = ANY($1::int[]) AND (s.seq IS NULL OR j.seq > s.seq)
       ORDER BY j.partition, j.seq`,
      [wanted],
    );
    return {
      snapshots: snapshotRows.map((r) => ({
        partition: r.partition,
        entity: r.entity,
        seq: r.seq,
        epoch: r.epoch,
        state: decodePayload(r.payload),
      })),
      events: eventRows.map((r) => ({
        partition: r.partition,
        seq: r.seq,
        epoch: r.epoch,
        entity: r.entity,
        event: decodePayload(r.payload),
      })),
    };
  });
}

/**
 * Upserts snapshots, each conditional on its partition still being owned at `epoch` (the writer's claim). Returns
 * the partitions at least one of whose snapshots was not written because the epoch moved on: the caller lost them.
 * When one batch holds several snapshots of one entity, the one with the highest seq is written.
 */
export async function writeSnapshots(sql: SqlClient, snaps: SnapshotRecord[]): Promise<{ fenced: number[] }> {
  const latest = new Map<string, SnapshotRecord>();
  for (const s of snaps) {
    assertPartition(s.partition);
    const key = `${s.partition}\u0000${s.entity}`;
    const seen = latest.get(key);
    if (seen === undefined || seen.seq <= s.seq) latest.set(key, s);
  }
  const rows = [...latest.values()];
  if (rows.length === 0) return { fenced: [] };
  const packed = packPayloads(rows.map((r) => encodePayload(r.state)));
  const written = await sql.query<{ partition: number; entity: string }>(
    `WITH s AS (
       SELECT u.partition, u.entity, u.seq, u.epoch, substring($7::bytea FROM u.start FOR u.length) AS payload
       FROM unnest($1::int[], $2::text[], $3::bigint[], $4::bigint[], $5::int[], $6::int[])
         AS u(partition, entity, seq, epoch, start, length)
     ), owned AS (
       SELECT s.* FROM s JOIN partition_owners o ON o.partition = s.partition AND o.epoch = s.epoch
       ORDER BY s.partition
       FOR SHARE OF o
     )
     INSERT INTO snapshots AS t (partition, entity, seq, epoch, payload, created_at)
     SELECT partition, entity, seq, epoch, payload, now() FROM owned
     ON CONFLICT (partition, entity) DO UPDATE
       SET seq = excluded.seq, epoch = excluded.epoch, payload = excluded.payload, created_at = excluded.created_at
     RETURNING partition, entity`,
    [
      rows.map((r) => r.partition),
      rows.map((r) => r.entity),
      rows.map((r) => r.seq),
      rows.map((r) => r.epoch),
      packed.starts,
      packed.lengths,
      packed.bytes,
    ],
  );
  const writtenKeys = new Set(written.map((w) => `${w.partition}\u0000${w.entity}`));
  const fenced = new Set<number>();
  for (const r of rows) if (!writtenKeys.has(`${r.partition}\u0000${r.entity}`)) fenced.add(r.partition);
  return { fenced: [...fenced].sort((a, b) => a - b) };
}

/** Deadlock or serialization failure: PostgreSQL rolled the transaction back, so running it again is safe. */
const retryableCodes = new Set(['40P01', '40001']);

async function withDeadlockRetry<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (attempt >= persistenceLimits.claimAttemptsMax || typeof code !== 'string' || !retryableCodes.has(code)) throw err;
    }
  }
}

function assertPartition(p: number): void {
  if (!(Number.isInteger(p) && p >= 0 && p <= 0x7fffffff)) throw new Error(`partition must be a non-negative int, got ${p}`);
}
