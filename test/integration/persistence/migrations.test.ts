import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, migrations } from '../../../src/persistence/migrations.js';
import { drivers, createTestDatabase, type TestDatabase } from '../../support/sql-drivers.js';

const contractTables = [
  'products',
  'promotions',
  'promotion_usages',
  'carts',
  'orders',
  'order_items',
  'payments',
  'inventory_reservations',
  'journal',
  'snapshots',
  'partition_owners',
  'idempotency_keys',
  'outbox',
  'schema_migrations',
];

describe.each(drivers)('migrations on %s', (driver) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(driver, { migrate: false });
  });
  afterAll(() => db.dispose());

  it('create every table of the schema and record each version once', async () => {
    await migrate(db.sql);
    const tables = await db.sql.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'`,
    );
    expect(tables.map((t) => t.table_name)).toEqual(expect.arrayContaining(contractTables));
    const versions = await db.sql.query<{ version: number; name: string; applied_at: Date }>('SELECT * FROM schema_migrations ORDER BY version');
    expect(versions.map((v) => v.version)).toEqual(migrations.map((m) => m.version));
    expect(versions[0]!.applied_at).toBeInstanceOf(Date);
  });

  it('are idempotent: running them again changes nothing', async () => {
    await migrate(db.sql);
    const versions = await db.sql.query('SELECT version FROM schema_migrations');
    expect(versions).toHaveLength(migrations.length);
  });

  it('apply a new version after the ones already applied, in a transaction of its own', async () => {
    const next = [...migrations, { version: 1000, name: 'test extra', statements: ['CREATE TABLE extra_test (id int)'] }];
    await migrate(db.sql, next);
    const rows = await db.sql.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
    expect(rows.at(-1)!.version).toBe(1000);
  });

  it('roll a failing migration back whole and leave its version unrecorded', async () => {
    const bad = [
      ...migrations,
      { version: 2000, name: 'broken', statements: ['CREATE TABLE half_done (id int)', 'SELECT * FROM no_such_table'] },
    ];
    await expect(migrate(db.sql, bad)).rejects.toMatchObject({ code: '42P01' });
    expect(await db.sql.query('SELECT 1 FROM schema_migrations WHERE version = 2000')).toHaveLength(0);
    expect(await db.sql.query(`SELECT 1 FROM information_schema.tables WHERE table_name = 'half_done'`)).toHaveLength(0);
  });

  it('refuse a list whose versions do not increase', async () => {
    const unordered = [...migrations, { version: 1, name: 'again', statements: [] }];
    await expect(migrate(db.sql, unordered)).rejects.toThrow(/increase/);
  });
});

describe('migrations on pg started by two nodes at once', () => {
  it('apply each version exactly once', async () => {
    const db = await createTestDatabase('pg', { migrate: false });
    try {
      const a = await db.openAnother(2);
      const b = await db.openAnother(2);
      await Promise.all([migrate(a!), migrate(b!), migrate(db.sql)]);
      const versions = await db.sql.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
      expect(versions.map((v) => v.version)).toEqual(migrations.map((m) => m.version));
    } finally {
      await db.dispose();
    }
  });
});
