import { Pool, TypeOverrides, types, type PoolClient } from 'pg';
import { persistenceLimits } from '../config/limits.js';
import { parseInt8 } from './parse-int8.js';
import type { SqlClient, SqlTx } from './sql.js';

const OID_INT8 = 20;
const OID_INT8_ARRAY = 1016;

/**
 * Type parsers for this pool only: changing pg's global parsers would change them for every other user of `pg`
 * in the process. timestamptz → Date, jsonb → object and bytea → Buffer are pg's defaults already.
 */
function poolTypes(): TypeOverrides {
  const overrides = new TypeOverrides();
  overrides.setTypeParser(OID_INT8, 'text', parseInt8);
  // pg's own int8[] parser yields strings (nulls kept); one-dimensional arrays are all we use.
  // (@types/pg only types the oids of base types, not of arrays.)
  const getParser = types.getTypeParser as (oid: number, format: 'text') => (text: string) => (string | null)[];
  const parseTextArray = getParser(OID_INT8_ARRAY, 'text');
  overrides.setTypeParser(OID_INT8_ARRAY, 'text', (text: string) =>
    parseTextArray(text).map((v) => (v === null ? null : parseInt8(v))),
  );
  return overrides;
}

export async function openPgClient(opts: { databaseUrl: string; poolSize: number; queryTimeoutMs?: number }): Promise<SqlClient> {
  if (!(Number.isInteger(opts.poolSize) && opts.poolSize >= 1)) throw new Error(`poolSize must be a positive integer, got ${opts.poolSize}`);
  const pool = new Pool({
    connectionString: opts.databaseUrl,
    max: opts.poolSize,
    types: poolTypes(),
    // Bounded waits and a live check of idle connections: a server that is gone, or a connection dropped silently
    // (no RST), fails a query instead of hanging the journal's flush while heartbeats go on.
    connectionTimeoutMillis: persistenceLimits.connectTimeoutMs,
    query_timeout: opts.queryTimeoutMs ?? persistenceLimits.queryTimeoutMs,
    // The server gives up a little before the client does, so a slow statement ends with its own error.
    statement_timeout: Math.max(1, Math.min(persistenceLimits.statementTimeoutMs, (opts.queryTimeoutMs ?? persistenceLimits.queryTimeoutMs) - 1_000)),
    keepAlive: true,
    keepAliveInitialDelayMillis: persistenceLimits.keepAliveInitialDelayMs,
  });
  // An idle client that loses its connection emits 'error' on the pool; without a listener Node would crash the
  // process. The pool drops that client, and the next query on a broken server rejects on its own.
  pool.on('error', () => {});
  // Fail fast on a wrong URL instead of at the first query.
  const probe = await pool.connect();
  probe.release();
  return new PgClient(pool);
}

class PgClient implements SqlClient {
  readonly driver = 'pg' as const;
  private closed = false;

  constructor(private readonly pool: Pool) {}

  async query<R = Record<string, unknown>>(text: string, params?: unknown[]): Promise<R[]> {
    const result = await this.pool.query(text, params);
    return result.rows as R[];
  }

  async transaction<T>(fn: (tx: SqlTx) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const value = await fn(clientTx(client));
      await client.query('COMMIT');
      return value;
    } catch (err) {
      try {
        await client.query('ROLLBACK');
      } catch (rollbackErr) {
        // The connection is unusable; release(err) destroys it instead of returning it to the pool.
        broken = rollbackErr as Error;
      }
      throw err;
    } finally {
      client.release(broken);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}

function clientTx(client: PoolClient): SqlTx {
  return {
    async query<R = Record<string, unknown>>(text: string, params?: unknown[]): Promise<R[]> {
      const result = await client.query(text, params);
      return result.rows as R[];
    },
  };
}
