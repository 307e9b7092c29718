import { migrate } from '../../src/persistence/migrations.js';
import { openSql, type SqlClient } from '../../src/persistence/sql.js';
import { createPgliteDir, createPgTestDatabase } from './databases.js';

export type Driver = 'pg' | 'pglite';

/** For `describe.each(drivers)`: every persistence suite runs against real PostgreSQL and against PGlite. */
export const drivers: Driver[] = ['pg', 'pglite'];

export interface TestDatabase {
  driver: Driver;
  /** Migrated client on the fresh database. */
  sql: SqlClient;
  /**
   * Another client on the same database, like a second node (pg: its own pool). PGlite is single-process, one
   * instance per folder: there is no second client, and this returns null.
   */
  openAnother(poolSize?: number): Promise<SqlClient | null>;
  /** Closes every client opened here and removes the database or folder. */
  dispose(): Promise<void>;
}

export async function createTestDatabase(driver: Driver, opts: { migrate?: boolean } = {}): Promise<TestDatabase> {
  const clients: SqlClient[] = [];
  let url: string | undefined;
  let cleanup: () => Promise<void>;
  let dataDir = '';
  if (driver === 'pg') {
    const db = await createPgTestDatabase();
    url = db.url;
    cleanup = db.drop;
  } else {
    const dir = await createPgliteDir();
    dataDir = dir.dir;
    cleanup = dir.remove;
  }
  const open = async (poolSize?: number): Promise<SqlClient> => {
    const client = await openSql({ databaseUrl: url, dataDir, ...(poolSize === undefined ? {} : { poolSize }) });
    clients.push(client);
    return client;
  };
  const sql = await open();
  if (opts.migrate !== false) await migrate(sql);
  return {
    driver,
    sql,
    openAnother: (poolSize) => (driver === 'pg' ? open(poolSize) : Promise.resolve(null)),
    async dispose() {
      for (const c of clients) await c.close();
      await cleanup();
    },
  };
}
