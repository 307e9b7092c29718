import type { SqlClient, SqlTx } from '../../src/persistence/sql.js';

/**
 * Wraps a real SqlClient to count statements and inject faults around them. The database is always real: a fault
 * either stops a statement before it is sent or throws after it has run (a commit whose reply was lost).
 */
export interface SqlSpy {
  sql: SqlClient;
  /** Statements sent, by the first words of their text. */
  statements: string[];
  /** Most statements matching `match` that were running at once. */
  maxConcurrent: number;
  /** Extra latency before every statement, like a database across a network (PGlite answers in-process). */
  latencyMs: number;
  /** Fails the next `times` statements whose text matches `match`: 'before' sending them, or 'after' they ran. */
  failNext(match: RegExp, times: number, when: 'before' | 'after'): void;
}

export function spyOnSql(inner: SqlClient, concurrencyMatch: RegExp = /INSERT INTO journal/): SqlSpy {
  const faults: { match: RegExp; left: number; when: 'before' | 'after' }[] = [];
  let running = 0;
  const spy: SqlSpy = {
    sql: undefined as unknown as SqlClient,
    statements: [],
    maxConcurrent: 0,
    latencyMs: 0,
    failNext(match, times, when) {
      faults.push({ match, left: times, when });
    },
  };
  const run = async <R>(target: SqlTx, text: string, params?: unknown[]): Promise<R[]> => {
    spy.statements.push(text.replace(/\s+/g, ' ').trim());
    const fault = faults.find((f) => f.left > 0 && f.match.test(text));
    if (fault !== undefined) fault.left--;
    if (fault?.when === 'before') throw Object.assign(new Error('injected fault before the statement'), { code: '08006' });
    const counted = concurrencyMatch.test(text);
    if (counted) spy.maxConcurrent = Math.max(spy.maxConcurrent, ++running);
    try {
      if (spy.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, spy.latencyMs));
      const rows = await target.query<R>(text, params);
      if (fault?.when === 'after') throw Object.assign(new Error('injected fault after the statement'), { code: '08006' });
      return rows;
    } finally {
      if (counted) running--;
    }
  };
  spy.sql = {
    driver: inner.driver,
    query: (text, params) => run(inner, text, params),
    transaction: (fn) => inner.transaction((tx) => fn({ query: (text, params) => run(tx, text, params) })),
    close: () => inner.close(),
  };
  return spy;
}
