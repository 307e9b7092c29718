import { openPgClient } from './pg-client.js';
import { openPgliteClient } from './pglite-client.js';

/**
 * The SQL client the rest of boxoffice talks to: PostgreSQL through a `pg` pool when a database URL is given,
 * embedded PostgreSQL (PGlite) in a local folder otherwise (DESIGN.md, "Embedded default").
 *
 * Both drivers return the same JavaScript values: int8 as a safe-integer number (a larger value is a bug and throws),
 * bytea as a Uint8Array (a Buffer on pg), json/jsonb parsed, timestamptz as a Date. A failed query rejects with the
 * driver's own error, so `code` ('23505', '40P01', …) survives.
 *
 * Caveat: PGlite has one connection. Inside `transaction(fn)`, use only the `tx` handed to `fn`; a query on the
 * client itself waits for the transaction to end, which never happens (on pg it would run on another connection).
 */
export interface SqlTx {
  query<R = Record<string, unknown>>(text: string, params?: unknown[]): Promise<R[]>;
}

export interface SqlClient extends SqlTx {
  readonly driver: 'pg' | 'pglite';
  /** Runs `fn` in BEGIN … COMMIT; a rejection of `fn` rolls back and rejects with the same error. */
  transaction<T>(fn: (tx: SqlTx) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface OpenSqlOptions {
  /** postgres://… URL; when absent the embedded PGlite driver stores its data in `dataDir`. */
  databaseUrl?: string;
  /** Folder for PGlite's data (created when missing); ignored when `databaseUrl` is set. */
  dataDir: string;
  /** pg pool size; default 10. */
  poolSize?: number;
  /** DB_QUERY_TIMEOUT_MS: a query not answered within this fails (pg driver; default persistenceLimits.queryTimeoutMs). */
  queryTimeoutMs?: number;
}

export async function openSql(opts: OpenSqlOptions): Promise<SqlClient> {
  if (opts.databaseUrl !== undefined && opts.databaseUrl !== '') {
    return openPgClient({ databaseUrl: opts.databaseUrl, poolSize: opts.poolSize ?? 10, ...(opts.queryTimeoutMs === undefined ? {} : { queryTimeoutMs: opts.queryTimeoutMs }) });
  }
  return openPgliteClient({ dataDir: opts.dataDir });
}
