import { once } from 'node:events';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  publishRoutes,
  readOwnerRoutes,
  rebuildRoutesFromDatabase,
  routingKeys,
  RoutingTable,
  type Route,
  type RoutingTableOptions,
} from '../../../src/cluster/routing-table.js';
import { migrate } from '../../../src/persistence/migrations.js';
import { claimPartitions } from '../../../src/persistence/partitions.js';
import { openSql, type SqlClient } from '../../../src/persistence/sql.js';
import { createPgTestDatabase } from '../../support/databases.js';
import { deleteKeysUnder, openTestRedis, redisTarget, TcpProxy, testKeyPrefix } from './redis-support.js';

/** Bound on every wait for an event in this file. */
const eventWaitMs = 5_000;
const filePrefix = testKeyPrefix('routing');
let testNumber = 0;
let prefix = filePrefix;
let admin: Redis;
let db: { url: string; drop(): Promise<void> };
let sql: SqlClient;
const clients: Redis[] = [];
const tables: RoutingTable[] = [];
const proxies: TcpProxy[] = [];

beforeAll(async () => {
  admin = openTestRedis();
  db = await createPgTestDatabase();
  sql = await openSql({ databaseUrl: db.url, dataDir: '', poolSize: 2 });
  await migrate(sql);
});

afterEach(async () => {
  await Promise.all(tables.splice(0).map((t) => t.close()));
  for (const c of clients.splice(0)) c.disconnect();
  await Promise.all(proxies.splice(0).map((p) => p.stop()));
  await deleteKeysUnder(admin, prefix);
  await sql.query('DELETE FROM partition_owners');
});

afterAll(async () => {
  await deleteKeysUnder(admin, filePrefix);
  admin.disconnect();
  await sql.close();
  await db.drop();
});

// A fresh prefix per test under the file's own, so a table from one test never reads another test's routes.
beforeEach(() => {
  prefix = `${filePrefix}${++testNumber}:`;
});

/** A node's table, on its own Redis connection (through `url`, e.g. a proxy that a test can stop). */
async function openTable(opts: Partial<RoutingTableOptions> & { url?: string } = {}): Promise<RoutingTable> {
  const redis = openTestRedis(opts.url);
  clients.push(redis);
  const table = await RoutingTable.open({ redis, keyPrefix: prefix, ...opts });
  tables.push(table);
  return table;
}

async function startProxy(): Promise<TcpProxy> {
  const target = redisTarget();
  const proxy = new TcpProxy(target.host, target.port);
  proxies.push(proxy);
  await proxy.start();
  return proxy;
}

const nextChange = (table: RoutingTable) => once(table, 'change', { signal: AbortSignal.timeout(eventWaitMs) }) as Promise<[Route[]]>;
const route = (partition: number, nodeId: string, epoch: number): Route => ({ partition, nodeId, epoch });

async function redisRoutes(): Promise<Record<string, string>> {
  return admin.hgetall(routingKeys(prefix).table);
}

describe('the routing table', () => {
  it('delivers a route update to another node over pub/sub, with the same version', async () => {
    const a = await openTable();
    const b = await openTable();
    const changed = nextChange(b);
    const result = await a.publish([route(1, 'node-a', 1), route(2, 'node-b', 1)]);
    expect(result).toEqual({ version: 1, applied: 2 });
    expect((await changed)[0]).toEqual([route(1, 'node-a', 1), route(2, 'node-b', 1)]);
    expect(b.lookup(1)).toEqual(route(1, 'node-a', 1));
    expect(b.lookup(2)).toEqual(route(2, 'node-b', 1));
    expect(b.version).toBe(1);
    expect(a.version).toBe(1);
  });

  it('answers unknown (null) for a partition it has no route for', async () => {
    const a = await openTable();
    await a.publish([route(1, 'node-a', 1)]);
    expect(a.lookup(2)).toBeNull();
  });

  it('never lets a lower or equal epoch replace a route, in Redis or in a cache', async () => {
    const a = await openTable();
    await a.publish([route(5, 'node-a', 3)]);
    expect(await a.publish([route(5, 'node-b', 2), route(5, 'node-c', 3)])).toEqual({ version: 1, applied: 0 });
    expect(a.learn([route(5, 'node-b', 2)])).toEqual([]);
    expect(a.lookup(5)).toEqual(route(5, 'node-a', 3));
    expect(await redisRoutes()).toEqual({ '5': '3:node-a' });
  });

  it('loads the whole table when it opens', async () => {
    await publishRoutes(admin, prefix, [route(0, 'node-a', 1), route(9, 'node-b', 4)]);
    const late = await openTable();
    expect(late.snapshot()).toEqual([route(0, 'node-a', 1), route(9, 'node-b', 4)]);
    expect(late.version).toBe(1);
  });

  it('keeps serving known routes while Redis is down, answers unknown for the rest, and catches up after', async () => {
    const proxy = await startProxy();
    const b = await openTable({ url: proxy.url });
    await publishRoutes(admin, prefix, [route(1, 'node-a', 1)]);
    await b.refresh();
    expect(b.lookup(1)).toEqual(route(1, 'node-a', 1));

    await proxy.stop();
    // Updates published while b is cut off: a move of partition 1 and a new partition 2. b misses both messages.
    await publishRoutes(admin, prefix, [route(1, 'node-c', 2), route(2, 'node-c', 1)]);
    await expect(b.refresh()).rejects.toThrow();
    expect(b.lookup(1)).toEqual(route(1, 'node-a', 1));
    expect(b.lookup(2)).toBeNull();

    // Redis is back: the subscriber reconnects and the table reloads on its own.
    const changed = nextChange(b);
    await proxy.start();
    expect((await changed)[0]).toEqual([route(1, 'node-c', 2), route(2, 'node-c', 1)]);
    expect(b.version).toBe(2);
  });

  it('reloads when a message shows it missed a version', async () => {
    const b = await openTable();
    // Version 1 goes to Redis without a message (as if b's subscriber had been reconnecting).
    await admin.multi().hset(routingKeys(prefix).table, '7', '1:node-a').incr(routingKeys(prefix).version).exec();
    const changed = nextChange(b);
    await publishRoutes(admin, prefix, [route(8, 'node-b', 1)]);
    await changed;
    // The message of version 2 came first; the gap made b reload and take partition 7 too.
    if (b.lookup(7) === null) await nextChange(b);
    expect(b.snapshot()).toEqual([route(7, 'node-a', 1), route(8, 'node-b', 1)]);
    expect(b.version).toBe(2);
  });

  it('ignores a malformed message on the channel and reports it', async () => {
    const errors: Error[] = [];
    const b = await openTable({ onError: (err) => errors.push(err) });
    await b.publish([route(1, 'node-a', 1)]);
    await admin.publish(routingKeys(prefix).changed, '{"v": 2, "r": ["1", "x", ""]}');
    await admin.publish(routingKeys(prefix).changed, 'not json');
    // A proper update after the bad ones: once it has arrived, so have they (one channel, in order).
    const changed = nextChange(b);
    await publishRoutes(admin, prefix, [route(2, 'node-b', 1)]);
    await changed;
    expect(errors.map((e) => e.message)).toEqual([
      expect.stringMatching(/^ignoring a malformed routing update: \{"v"/),
      expect.stringMatching(/^ignoring a malformed routing update: not json/),
    ]);
    expect(b.lookup(1)).toEqual(route(1, 'node-a', 1));
  });
});

describe('the routing table and PostgreSQL ownership', () => {
  async function claimFixture(): Promise<void> {
    await claimPartitions(sql, 'node-a', [0, 1, 2, 3]);
    await claimPartitions(sql, 'node-b', [4, 5, 6, 7]);
    await claimPartitions(sql, 'node-b', [0]); // a move: partition 0 is at epoch 2 now
  }

  it('reads partition_owners as routes', async () => {
    await claimFixture();
    const routes = await readOwnerRoutes(sql);
    expect(routes).toHaveLength(8);
    expect(routes[0]).toEqual(route(0, 'node-b', 2));
    expect(routes[4]).toEqual(route(4, 'node-b', 1));
  });

  it('rebuilds the Redis table from partition_owners after our keys are deleted', async () => {
    await claimFixture();
    const first = await rebuildRoutesFromDatabase(sql, admin, prefix);
    expect(first.applied).toBe(8);
    const a = await openTable({ sql });
    const b = await openTable();
    expect(b.snapshot()).toEqual(await readOwnerRoutes(sql));

    // Redis loses everything (our FLUSHDB), and meanwhile partition 5 moves in PostgreSQL.
    expect(await deleteKeysUnder(admin, prefix)).toBeGreaterThan(0);
    await claimPartitions(sql, 'node-c', [5]);
    // Caches keep serving what they know.
    expect(b.lookup(5)).toEqual(route(5, 'node-b', 1));

    const rebuilt = once(a, 'rebuilt', { signal: AbortSignal.timeout(eventWaitMs) });
    const bChanged = nextChange(b);
    await a.refresh();
    await rebuilt;
    const fromDb = await readOwnerRoutes(sql);
    expect(await redisRoutes()).toEqual(Object.fromEntries(fromDb.map((r) => [String(r.partition), `${r.epoch}:${r.nodeId}`])));
    expect(a.snapshot()).toEqual(fromDb);
    // b hears the rebuild over pub/sub; only partition 5 is news to it.
    expect((await bChanged)[0]).toEqual([route(5, 'node-c', 2)]);
  });

  it('notices a flushed table on its periodic check and rebuilds it without being asked', async () => {
    await claimFixture();
    const a = await openTable({ sql, resyncIntervalMs: 50 });
    expect(a.snapshot()).toHaveLength(8);
    await deleteKeysUnder(admin, prefix);
    await once(a, 'rebuilt', { signal: AbortSignal.timeout(eventWaitMs) });
    expect(Object.keys(await redisRoutes())).toHaveLength(8);
  });

  it('routes from partition_owners when Redis is unreachable at start', async () => {
    await claimFixture();
    const proxy = await startProxy();
    await proxy.stop();
    const a = await openTable({ url: proxy.url, sql });
    expect(a.snapshot()).toEqual(await readOwnerRoutes(sql));
  });
});
