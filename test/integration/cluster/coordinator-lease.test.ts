import { once } from 'node:events';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CoordinatorLease, readCoordinator, type CoordinatorLeaseOptions } from '../../../src/cluster/coordinator-lease.js';
import { openSql, type SqlClient } from '../../../src/persistence/sql.js';
import { createPgTestDatabase } from '../../support/databases.js';

/** Bound on every wait for an event in this file. */
const eventWaitMs = 5_000;
let db: { url: string; drop(): Promise<void> };
let sql: SqlClient;
const leases: CoordinatorLease[] = [];
/** Each test takes its own lock, so a lease a failed test left behind cannot block the next one. */
let lockObjId = 100;

beforeAll(async () => {
  db = await createPgTestDatabase();
  sql = await openSql({ databaseUrl: db.url, dataDir: '', poolSize: 2 });
});

afterEach(async () => {
  await Promise.all(leases.splice(0).map((l) => l.release()));
  lockObjId++;
});

afterAll(async () => {
  await sql.close();
  await db.drop();
});

function lease(nodeId: string, opts: Partial<CoordinatorLeaseOptions> = {}): CoordinatorLease {
  const l = new CoordinatorLease({ databaseUrl: db.url, nodeId, lockObjId, ...opts });
  leases.push(l);
  return l;
}

const acquired = (l: CoordinatorLease) => once(l, 'acquired', { signal: AbortSignal.timeout(eventWaitMs) }) as Promise<[number]>;
const lost = (l: CoordinatorLease) => once(l, 'lost', { signal: AbortSignal.timeout(eventWaitMs) }) as Promise<[Error]>;

describe('the coordinator lease', () => {
  it('is held by one node at a time', async () => {
    const a = lease('node-a');
    const b = lease('node-b');
    expect(await readCoordinator(sql, lockObjId)).toBeNull();
    expect(await a.tryAcquire()).toBe(true);
    expect(await b.tryAcquire()).toBe(false);
    expect(a.isHeld()).toBe(true);
    expect(b.isHeld()).toBe(false);
    expect(a.term).toEqual(expect.any(Number));
    expect(b.term).toBeNull();
    expect((await readCoordinator(sql, lockObjId))?.nodeId).toBe('node-a');
  });

  it('passes to the waiting node when the holder releases it, with a higher term', async () => {
    const a = lease('node-a');
    const b = lease('node-b');
    a.start();
    const [termA] = await acquired(a);
    const bAcquired = acquired(b);
    b.start();
    await a.release();
    const [termB] = await bAcquired;
    expect(termB).toBeGreaterThan(termA);
    expect(a.isHeld()).toBe(false);
    expect((await readCoordinator(sql, lockObjId))?.nodeId).toBe('node-b');
  });

  it('passes to the waiting node when the holder connection dies', async () => {
    const a = lease('node-a');
    const b = lease('node-b');
    expect(await a.tryAcquire()).toBe(true);
    b.start();
    const aLost = lost(a);
    const bAcquired = acquired(b);
    const holder = await readCoordinator(sql, lockObjId);
    await sql.query('SELECT pg_terminate_backend($1)', [holder!.pid]);
    expect((await aLost)[0].message).toMatch(/terminat/i);
    await bAcquired;
    expect(a.isHeld()).toBe(false);
    expect(b.isHeld()).toBe(true);
  });

  it('lets another node take over from a paused holder after its TTL, and the holder knows as soon as it wakes', async () => {
    const ttlMs = 600;
    const a = lease('node-a', { ttlMs });
    const b = lease('node-b', { ttlMs });
    expect(await a.tryAcquire()).toBe(true);
    b.start();
    const aLost = lost(a);
    const bAcquired = acquired(b);
    // A real pause of this whole thread (as SIGSTOP or a long GC would do): no timer, no heartbeat, for 2 TTLs.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2 * ttlMs);
    expect(a.isHeld()).toBe(false);
    await Promise.all([aLost, bAcquired]);
    expect((await readCoordinator(sql, lockObjId))?.nodeId).toBe('node-b');
  });

  it('keeps the lease across many heartbeats while the holder is live', async () => {
    const ttlMs = 800;
    const a = lease('node-a', { ttlMs });
    const b = lease('node-b', { ttlMs });
    expect(await a.tryAcquire()).toBe(true);
    let changes = 0;
    a.on('lost', () => changes++);
    b.on('acquired', () => changes++);
    b.start();
    // The duration is what is under test here: three TTLs of the server's idle timeout, which only heartbeats
    // survive (a session silent for one TTL is ended by the server).
    await new Promise((resolve) => setTimeout(resolve, 3 * ttlMs));
    expect(changes).toBe(0);
    expect(a.isHeld()).toBe(true);
  });

  it.each([
    ['a TTL below the minimum', { ttlMs: 10 }],
    ['a retry interval as long as the TTL', { ttlMs: 1_000, retryIntervalMs: 1_000 }],
  ])('refuses %s', (_label, opts) => {
    expect(() => new CoordinatorLease({ databaseUrl: db.url, nodeId: 'node-a', ...opts })).toThrow(RangeError);
  });
});
