import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { Client } from 'pg';
import { benchLimits } from './bench-limits.js';
import { assertNotInterrupted, onInterrupt } from './child-processes.js';

/**
 * A fresh PostgreSQL database per (scenario, contender) run, created through the admin database named by
 * DATABASE_URL and dropped (WITH FORCE) afterwards — also on Ctrl-C — so no run sees another's rows and nothing
 * is left behind. Every statement is bounded by sqlStatementMsMax.
 */
export interface BenchDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

export async function createBenchDatabase(adminUrl: string, label: string): Promise<BenchDatabase> {
  assertNotInterrupted();
  const name = benchDatabaseName(label, randomBytes(4).toString('hex'));
  let dropped = false;
  const drop = async () => {
    if (dropped) return;
    dropped = true;
    await withAdmin(adminUrl, (admin) => admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  };
  // Registered before CREATE: a Ctrl-C while the statement runs still drops it (IF EXISTS covers "never made").
  const forget = onInterrupt(drop);
  try {
    await withAdmin(adminUrl, (admin) => admin.query(`CREATE DATABASE ${name}`));
  } catch (err) {
    forget();
    throw err;
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    drop: () => drop().finally(forget),
  };
}

/** PostgreSQL identifiers: lower-case letters, digits, underscores, at most 63 bytes. */
export function benchDatabaseName(label: string, suffix: string): string {
  const clean = label.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '');
  return `bo_bench_${clean}`.slice(0, 63 - suffix.length - 1) + `_${suffix}`;
}

/** Answers the server's version, or throws a message that says what to fix. */
export async function preflightPostgres(adminUrl: string): Promise<string> {
  try {
    const rows = await withAdmin(adminUrl, (admin) => admin.query<{ server_version: string }>('SHOW server_version'), benchLimits.preflightMsMax);
    return rows.rows[0]?.server_version ?? 'unknown';
  } catch (err) {
    throw new Error(`PostgreSQL at ${redactUrl(adminUrl)} does not answer (${(err as Error).message}); set DATABASE_URL to an admin database`);
  }
}

export async function preflightRedis(redisUrl: string): Promise<string> {
  const redis = new Redis(redisUrl, {
    lazyConnect: true,
    connectTimeout: benchLimits.preflightMsMax,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  redis.on('error', () => {}); // the failure surfaces through connect()/info() below
  try {
    await redis.connect();
    const info = await redis.info('server');
    return /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
  } catch (err) {
    throw new Error(`Redis at ${redactUrl(redisUrl)} does not answer (${(err as Error).message}); set REDIS_URL`);
  } finally {
    redis.disconnect();
  }
}

/** Keys deleted per SCAN round when a run's Redis keys are removed. */
const redisScanCount = 1_000;

/**
 * Removes every key under a run's prefix (redis-lua's stock counters), so a long bench does not leave a million
 * keys behind in a Redis it shares. SCAN + UNLINK: never blocks Redis the way KEYS would. Bounded by
 * sqlStatementMsMax overall.
 */
export async function dropRedisPrefix(redisUrl: string, prefix: string): Promise<number> {
  const redis = new Redis(redisUrl, { lazyConnect: true, connectTimeout: benchLimits.preflightMsMax, maxRetriesPerRequest: 1, retryStrategy: () => null });
  redis.on('error', () => {});
  const deadline = Date.now() + benchLimits.sqlStatementMsMax;
  let removed = 0;
  try {
    await redis.connect();
    let cursor = '0';
    do {
      if (Date.now() > deadline) throw new Error(`removing Redis keys ${prefix}* took longer than ${benchLimits.sqlStatementMsMax} ms`);
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', redisScanCount);
      if (keys.length > 0) removed += await redis.unlink(...keys);
      cursor = next;
    } while (cursor !== '0');
    return removed;
  } finally {
    redis.disconnect();
  }
}

/** A URL without its password, for messages and result files. */
export function redactUrl(raw: string): string {
  try {
    const url = new URL(raw);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return '(unparseable URL)';
  }
}

async function withAdmin<T>(adminUrl: string, fn: (admin: Client) => Promise<T>, timeoutMs: number = benchLimits.sqlStatementMsMax): Promise<T> {
  const admin = new Client({ connectionString: adminUrl, connectionTimeoutMillis: timeoutMs, query_timeout: timeoutMs });
  admin.on('error', () => {}); // a dropped connection rejects the pending query; no process-killing 'error' event
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.end().catch(() => {});
  }
}
