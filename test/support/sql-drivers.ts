import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { migrate, migrations } from '../../src/persistence/migrations.js';
import { openSql, type SqlClient } from '../../src/persistence/sql.js';
import { createPgliteDir, createPgTestDatabase } from './databases.js';

export type Driver = 'pg' | 'pglite';

/** For `describe.each(drivers)`: every persistence suite runs against real PostgreSQL and against PGlite. */
export const drivers: Driver[] = ['pg', 'pglite'];

export interface TestDatabase {
  driver: Driver;
  /** Client on the fresh database, migrated unless asked otherwise. */
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
  const migrated = opts.migrate !== false;
  const clients: SqlClient[] = [];
  let url: string | undefined;
  let dataDir = '';
  let cleanup: () => Promise<void>;
  if (driver === 'pg') {
    const db = await createPgTestDatabase();
    url = db.url;
    cleanup = db.drop;
  } else {
    const dir = await createPgliteDir({ copyFrom: await pgliteTemplate(migrated) });
    dataDir = dir.dir;
    cleanup = dir.remove;
  }
  const open = async (poolSize?: number): Promise<SqlClient> => {
    const client = await openSql({ databaseUrl: url, dataDir, ...(poolSize === undefined ? {} : { poolSize }) });
    clients.push(client);
    return client;
  };
  const sql = await open();
  if (driver === 'pg' && migrated) await migrate(sql);
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

/**
 * PGlite's initdb takes 2–3 s; copying a closed data folder and opening it takes well under one. So the first test
 * file to need one builds a template folder in the temp dir (named by the PGlite version and, when migrated, a
 * hash of the migrations, so a change builds a new one) and every file copies it. Built under a temporary name and
 * renamed into place, so test files racing to build it never see half a folder.
 */
async function pgliteTemplate(migrated: boolean): Promise<string> {
  const pkg = readFileSync(join(__dirname, '../../node_modules/@electric-sql/pglite/package.json'), 'utf8');
  const version = (JSON.parse(pkg) as { version: string }).version;
  const hash = createHash('sha256')
    .update(version)
    .update(migrated ? JSON.stringify(migrations) : 'empty')
    .digest('hex')
    .slice(0, 16);
  const template = join(tmpdir(), `bo-pglite-template-${hash}`);
  if (existsSync(join(template, 'PG_VERSION'))) return template;
  const building = await mkdtemp(join(tmpdir(), 'bo-pglite-building-'));
  const sql = await openSql({ dataDir: building });
  if (migrated) await migrate(sql);
  await sql.close();
  try {
    await rename(building, template);
  } catch {
    // Another test file got there first; its template is as good as ours.
    await rm(building, { recursive: true, force: true });
  }
  return template;
}
