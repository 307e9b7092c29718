import { Redis } from 'ioredis';
import { Client } from 'pg';
import { describe, expect, it } from 'vitest';
import { startCluster } from '../support/cluster-harness.js';

/**
 * The multi-process harness of the cluster tests, checked on one single-node process (no REDIS_URL), so it does not
 * depend on cluster mode: ports read from the log, readiness, the admin token, kill, restart on the same database,
 * and that stop() leaves no process, database or Redis key behind.
 */
const redisUrl = process.env['BO_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const adminUrl = process.env['BO_TEST_PG_ADMIN_URL'] ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

describe('the cluster harness', () => {
  it('starts, kills and restarts a node process, and stop() leaves nothing behind', async () => {
    const c = await startCluster({ nodes: 1, cluster: false });
    const redis = new Redis(redisUrl);
    const pg = new Client({ connectionString: adminUrl });
    try {
      await pg.connect();
      const node = c.nodes[0]!;
      expect(node.id).toBe('node-1');
      expect(node.port).toBeGreaterThan(0);
      expect(c.url(0)).toBe(`http://127.0.0.1:${node.port}`);
      expect(node.logs.some((l) => l.includes('"msg":"listening; recovering"'))).toBe(true);
      expect((await fetch(`${c.url(0)}/readyz`)).status).toBe(200);
      const put = await c.admin(0, 'PUT', '/api/products/HARNESS-1', { name: 'Harness', priceMinor: 100, currency: 'USD', weightGrams: 1 });
      expect(put.status).toBe(200);

      expect(await node.kill()).toEqual({ code: null, signal: 'SIGKILL' });
      expect(node.running).toBe(false);
      await node.restart();
      expect(node.running).toBe(true);
      expect(await node.waitForLog(/restart 1/)).toBe('--- node-1: restart 1 ---');
      expect((await node.admin('GET', '/api/products/HARNESS-1')).body).toMatchObject({ sku: 'HARNESS-1', priceMinor: 100 });
      await expect(node.waitForLog(/never logged/, 50)).rejects.toThrow(/no log line matched/);

      await redis.set(`${c.name}:harness-check`, '1');
      const child = node.child;
      await c.stop();
      expect(child.exitCode !== null || child.signalCode !== null).toBe(true);
      expect(await redis.exists(`${c.name}:harness-check`)).toBe(0);
      const dbName = new URL(c.databaseUrl).pathname.slice(1);
      expect((await pg.query('SELECT 1 FROM pg_database WHERE datname = $1', [dbName])).rows).toEqual([]);
    } finally {
      await c.stop();
      redis.disconnect();
      await pg.end();
    }
  }, 120_000);
});
