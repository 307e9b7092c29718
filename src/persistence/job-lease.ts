import type { SqlClient } from './sql.js';

/**
 * A lease on a node-wide job (a sweep, a reconciliation) in PostgreSQL: held by one node at a time until it lets go
 * or the lease expires, so the job runs single-flight across the cluster even while the coordinator changes hands
 * (two nodes may both believe they coordinate for a moment; only one holds the lease). A holder renews it as it
 * works and stops when a renewal fails. An expired lease (its holder died) is taken over.
 */
export class JobLease {
  constructor(
    private readonly sql: SqlClient,
    private readonly name: string,
    private readonly holder: string,
    private readonly ttlMs: number,
  ) {}

  /** Takes or renews the lease; false when another holder has it and it has not expired. */
  async take(): Promise<boolean> {
    const rows = await this.sql.query<{ holder: string }>(
      `INSERT INTO job_leases (name, holder, expires_at) VALUES ($1, $2, now() + make_interval(secs => $3::double precision / 1000))
       ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
       WHERE job_leases.holder = excluded.holder OR job_leases.expires_at <= now()
       RETURNING holder`,
      [this.name, this.holder, this.ttlMs],
    );
    return rows.length === 1;
  }

  /** Lets go (the next holder need not wait for the expiry). */
  async release(): Promise<void> {
    await this.sql.query('UPDATE job_leases SET expires_at = now() WHERE name = $1 AND holder = $2', [this.name, this.holder]);
  }
}
