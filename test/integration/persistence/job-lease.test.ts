import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobLease } from '../../../src/persistence/job-lease.js';
import { drivers, createTestDatabase, type TestDatabase } from '../../support/sql-drivers.js';

describe.each(drivers)('a job lease on %s', (driver) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(driver);
  });
  afterAll(() => db.dispose());

  it('has one holder at a time, renews for its holder, and passes on once released', async () => {
    const a = new JobLease(db.sql, 'sweep-1', 'node-1', 60_000);
    const b = new JobLease(db.sql, 'sweep-1', 'node-2', 60_000);
    expect(await a.take()).toBe(true);
    expect(await b.take()).toBe(false);
    expect(await a.take()).toBe(true);
    await b.release(); // not the holder: changes nothing
    expect(await b.take()).toBe(false);
    await a.release();
    expect(await b.take()).toBe(true);
    expect(await a.take()).toBe(false);
  });

  it('is taken over once its holder let it expire', async () => {
    const a = new JobLease(db.sql, 'sweep-2', 'node-1', 0);
    const b = new JobLease(db.sql, 'sweep-2', 'node-2', 60_000);
    expect(await a.take()).toBe(true);
    expect(await b.take()).toBe(true);
    expect(await a.take()).toBe(false);
  });
});
