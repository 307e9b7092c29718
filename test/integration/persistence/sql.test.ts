import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drivers, createTestDatabase, type TestDatabase } from '../../support/sql-drivers.js';

describe.each(drivers)('the SQL client on %s', (driver) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(driver, { migrate: false });
    await db.sql.query('CREATE TABLE kinds (id int PRIMARY KEY, big bigint, bytes bytea, doc jsonb, at timestamptz, bigs bigint[])');
  });
  afterAll(() => db.dispose());

  it('reports which driver it is', () => {
    expect(db.sql.driver).toBe(driver);
  });

  it('returns int8 as a number, bytea as bytes, jsonb parsed and timestamptz as a Date', async () => {
    const at = new Date('2030-01-02T03:04:05.678Z');
    await db.sql.query('INSERT INTO kinds VALUES ($1, $2, $3, $4::jsonb, $5, $6::bigint[])', [
      1,
      2 ** 53 - 1,
      Buffer.from([0, 1, 255]),
      JSON.stringify({ a: [1, 'x'] }),
      at,
      [1, 2 ** 40],
    ]);
    const [row] = await db.sql.query<{ big: unknown; bytes: Uint8Array; doc: unknown; at: unknown; bigs: unknown }>(
      'SELECT big, bytes, doc, at, bigs FROM kinds WHERE id = 1',
    );
    expect(row!.big).toBe(2 ** 53 - 1);
    expect(row!.bytes).toBeInstanceOf(Uint8Array);
    expect([...row!.bytes]).toEqual([0, 1, 255]);
    expect(row!.doc).toEqual({ a: [1, 'x'] });
    expect(row!.at).toEqual(at);
    expect(row!.bigs).toEqual([1, 2 ** 40]);
  });

  it('returns count(*) as a number', async () => {
    const [row] = await db.sql.query<{ n: unknown }>('SELECT count(*) AS n FROM kinds');
    expect(typeof row!.n).toBe('number');
  });

  it('refuses an int8 beyond 2^53 instead of losing precision', async () => {
    await expect(db.sql.query('SELECT 9007199254740993::bigint AS n')).rejects.toThrow(/safe/);
  });

  it('rejects a failed query with the original error code', async () => {
    await db.sql.query('INSERT INTO kinds (id) VALUES (2)');
    await expect(db.sql.query('INSERT INTO kinds (id) VALUES (2)')).rejects.toMatchObject({ code: '23505' });
  });

  it('commits a transaction and returns its value', async () => {
    const value = await db.sql.transaction(async (tx) => {
      await tx.query('INSERT INTO kinds (id) VALUES (3)');
      return 'done';
    });
    expect(value).toBe('done');
    expect(await db.sql.query('SELECT id FROM kinds WHERE id = 3')).toHaveLength(1);
  });

  it('rolls a transaction back when its function throws', async () => {
    await expect(
      db.sql.transaction(async (tx) => {
        await tx.query('INSERT INTO kinds (id) VALUES (4)');
        await tx.query('INSERT INTO kinds (id) VALUES (4)');
      }),
    ).rejects.toMatchObject({ code: '23505' });
    expect(await db.sql.query('SELECT id FROM kinds WHERE id = 4')).toHaveLength(0);
  });
});
