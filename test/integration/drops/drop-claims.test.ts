import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DropStore } from '../../../src/persistence/drop-store.js';
import type { SqlClient } from '../../../src/persistence/sql.js';
import { intBetween, seededRng, seedsToRun } from '../../support/seeded-random.js';
import { createTestDatabase, type TestDatabase } from '../../support/sql-drivers.js';

const drop = { sku: 'DROP-1', startsAtMs: 1_700_000_000_000, perCustomerLimit: 2, admissionTtlMs: 5_000, tokenKey: '00'.repeat(32) };

/** Purchases of a drop counted per customer in PostgreSQL: at most the limit, whatever races, once per checkout key. */
describe('drop purchase claims', () => {
  let db: TestDatabase;
  let store: DropStore;
  beforeEach(async () => {
    db = await createTestDatabase('pg');
    store = new DropStore(db.sql);
    await store.put(drop, 10);
  });
  afterEach(() => db.dispose());

  it('takes units up to the limit, then refuses with what the customer bought', async () => {
    expect(await store.claim('DROP-1', 'k1', 'cust', 1, 2)).toEqual({ t: 'claimed' });
    expect(await store.claim('DROP-1', 'k2', 'cust', 1, 2)).toEqual({ t: 'claimed' });
    expect(await store.claim('DROP-1', 'k3', 'cust', 1, 2)).toEqual({ t: 'limit', bought: 2 });
    expect(await store.claim('DROP-1', 'k4', 'other', 3, 2)).toEqual({ t: 'limit', bought: 0 });
    expect(await store.claimOf('DROP-1', 'k3')).toBeNull();
    expect(await store.claimOf('DROP-1', 'k2')).toEqual({ customerId: 'cust', qty: 1 });
  });

  it('counts a retried checkout (same key) once', async () => {
    expect(await store.claim('DROP-1', 'k1', 'cust', 2, 2)).toEqual({ t: 'claimed' });
    expect(await store.claim('DROP-1', 'k1', 'cust', 2, 2)).toEqual({ t: 'existing', customerId: 'cust', qty: 2 });
    expect(await db.sql.query('SELECT qty FROM drop_purchases')).toEqual([{ qty: 2 }]);
  });

  it('gives a failed checkout its units back, once', async () => {
    await store.claim('DROP-1', 'k1', 'cust', 2, 2);
    expect(await store.release('DROP-1', 'k1')).toBe(true);
    expect(await store.release('DROP-1', 'k1')).toBe(false);
    expect(await store.claim('DROP-1', 'k2', 'cust', 2, 2)).toEqual({ t: 'claimed' });
  });

  it.each(seedsToRun([1, 2, 3]))('never lets concurrent checkouts on two nodes pass the limit together (seed %i)', async (seed) => {
    const rng = seededRng(seed);
    const other = (await db.openAnother(4))!;
    const clients: SqlClient[] = [db.sql, other];
    const attempts = Array.from({ length: 60 }, (_, i) => ({ key: `k${i}`, customer: `c${intBetween(rng, 0, 4)}`, qty: intBetween(rng, 1, 2), node: intBetween(rng, 0, 1), release: rng() < 0.2 }));
    await Promise.all(attempts.map(async (a) => {
      const s = new DropStore(clients[a.node]!);
      const r = await s.claim('DROP-1', a.key, a.customer, a.qty, 2);
      if (r.t === 'claimed' && a.release) await s.release('DROP-1', a.key);
    }));
    const counted = await db.sql.query<{ customer_id: string; qty: number }>('SELECT customer_id, qty FROM drop_purchases');
    const claimed = await db.sql.query<{ customer_id: string; n: number }>('SELECT customer_id, sum(qty)::int AS n FROM drop_claims GROUP BY customer_id');
    for (const c of counted) expect(c.qty, `seed ${seed}: ${c.customer_id}`).toBeLessThanOrEqual(2);
    for (const c of claimed) expect(counted.find((x) => x.customer_id === c.customer_id)!.qty).toBe(c.n);
  });
});
