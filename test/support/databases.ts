import { randomBytes } from 'node:crypto';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';

/**
 * Fresh databases for integration tests: each test file gets its own PostgreSQL database (or PGlite folder), so
 * files running in parallel never see each other's rows.
 *
 * BO_TEST_PG_ADMIN_URL names a database on the server used to create and drop the test databases; the default is
 * the local server of the dev machines and CI (trust auth).
 */
const adminUrl = process.env['BO_TEST_PG_ADMIN_URL'] ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

export async function createPgTestDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `bo_test_${randomBytes(6).toString('hex')}`;
  await withAdmin((admin) => admin.query(`CREATE DATABASE ${name}`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => withAdmin((admin) => admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}

/** A temporary folder for a PGlite database: empty, or a copy of `copyFrom` (a closed PGlite data folder). */
export async function createPgliteDir(opts: { copyFrom?: string } = {}): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'bo-pglite-'));
  if (opts.copyFrom !== undefined) await cp(opts.copyFrom, dir, { recursive: true });
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

async function withAdmin<T>(fn: (admin: Client) => Promise<T>): Promise<T> {
  const admin = new Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.end();
  }
}
