import { checkoutEntity, checkoutPartition } from '../domain/entities.js';
import type { SqlClient } from './sql.js';

/**
 * Whether the saga of the checkout keyed `key` is over, as the journal says: its entity has a tombstone (a snapshot
 * written when it ended), or no row at all (compacted after its tombstone, or never started here). A saga with
 * journal rows and no tombstone is unfinished: it runs, or its partition's next owner resumes it.
 */
export async function checkoutSagaFinished(sql: SqlClient, partitions: number, key: string): Promise<boolean> {
  const partition = checkoutPartition(key, partitions);
  const entity = checkoutEntity(key);
  const [row] = await sql.query<{ tombstone: boolean; events: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM snapshots WHERE partition = $1 AND entity = $2) AS tombstone,
            EXISTS (SELECT 1 FROM journal WHERE partition = $1 AND entity = $2) AS events`,
    [partition, entity],
  );
  return row!.tombstone || !row!.events;
}
