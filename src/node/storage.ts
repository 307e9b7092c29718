import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import { migrate } from '../persistence/migrations.js';
import { openSql, type SqlClient } from '../persistence/sql.js';

/** The node's database, migrated, and the partition count it was created with. */
export async function openStorage(config: Config, log: Logger): Promise<{ sql: SqlClient; partitions: number }> {
  const sql = await openSql({ databaseUrl: config.databaseUrl ?? undefined, dataDir: config.dataDir, poolSize: config.dbPoolSize, queryTimeoutMs: config.dbQueryTimeoutMs });
  await migrate(sql);
  return { sql, partitions: await recordedPartitions(sql, config.partitions, log) };
}

/**
 * The partition count is recorded by the first node that uses the database and never changes afterwards (a
 * partition's journal depends on it). A different PARTITIONS later is ignored, loudly.
 */
async function recordedPartitions(sql: SqlClient, configured: number, log: Logger): Promise<number> {
  await sql.query(`INSERT INTO cluster_settings (name, value) VALUES ('partitions', $1) ON CONFLICT (name) DO NOTHING`, [String(configured)]);
  const [row] = await sql.query<{ value: string }>(`SELECT value FROM cluster_settings WHERE name = 'partitions'`);
  const recorded = Number(row!.value);
  if (recorded !== configured) log.warn({ configured, recorded }, 'PARTITIONS differs from the count this database was created with; using the recorded count');
  return recorded;
}
