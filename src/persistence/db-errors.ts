/**
 * Whether a database error means "the server or the connection is away for now" (a restart, a failover, a dropped
 * connection, a pool out of connections) rather than "this statement is wrong": the first kind is retried, with the
 * same statement, for as long as an outage is ridden out; the second is not.
 */
export function isTransientDbError(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') {
    // SQLSTATE 08 connection exception; 57P01-57P03 admin or crash shutdown, cannot connect now; 53300 too many
    // connections; 57014 query canceled (our statement_timeout while the server was stalled).
    if (code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03' || code === '53300' || code === '57014') return true;
    if (['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN'].includes(code)) return true;
  }
  const message = (err as { message?: unknown }).message;
  return typeof message === 'string' && /Connection terminated|timeout exceeded when trying to connect|Query read timeout|Client was closed and is not queryable|Connection ended unexpectedly/i.test(message);
}
