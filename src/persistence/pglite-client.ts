import { mkdirSync } from 'node:fs';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import { parseInt8 } from './parse-int8.js';
import type { SqlClient, SqlTx } from './sql.js';

const OID_INT8 = 20;

/**
 * Embedded PostgreSQL in `dataDir`. PGlite parses int8 to a number only when it fits and to a BigInt otherwise;
 * we install the same strict parser as on pg (PGlite derives the int8[] parser from it). bytea comes back as
 * Uint8Array, jsonb parsed, timestamptz as Date.
 */
export async function openPgliteClient(opts: { dataDir: string }): Promise<SqlClient> {
  mkdirSync(opts.dataDir, { recursive: true });
  const db = new PGlite(opts.dataDir, { parsers: { [OID_INT8]: parseInt8 } });
  await db.waitReady;
  return new PgliteClient(db);
}

class PgliteClient implements SqlClient {
  readonly driver = 'pglite' as const;

  constructor(private readonly db: PGlite) {}

  async query<R = Record<string, unknown>>(text: string, params?: unknown[]): Promise<R[]> {
    const result = await this.db.query<R>(text, params);
    return result.rows;
  }

  transaction<T>(fn: (tx: SqlTx) => Promise<T>): Promise<T> {
    return this.db.transaction((tx) => fn(pgliteTx(tx)));
  }

  async close(): Promise<void> {
    if (this.db.closed) return;
    await this.db.close();
  }
}

function pgliteTx(tx: Transaction): SqlTx {
  return {
    async query<R = Record<string, unknown>>(text: string, params?: unknown[]): Promise<R[]> {
      const result = await tx.query<R>(text, params);
      return result.rows;
    },
  };
}
