import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { Client } from 'pg';
import { benchLimits } from './bench-limits.js';
import { onInterrupt } from './child-processes.js';

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
  const name = benchDatabaseName(label, randomBytes(4).toString('hex'));
  await withAdmin(adminUrl, (admin) => admin.query(`CREATE DATABASE ${name}`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  let dropped = false;
  const drop = async () => {
    if (dropped) return;
    dropped = true;
    await withAdmin(adminUrl, (admin) => admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  };
  const forget = onInterrupt(drop);
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
