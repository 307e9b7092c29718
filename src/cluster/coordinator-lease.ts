import { coordinatorLeaseLimits } from '../config/limits.js';
import { EventEmitter } from 'node:events';
import { Client } from 'pg';
import type { SqlTx } from '../persistence/sql.js';

/**
 * One coordinator at a time (issue 4, "Membership"), held through PostgreSQL: a session-level advisory lock,
 * pg_try_advisory_lock(classId, objId), on a connection of its own.
 *
 * Why an advisory lock and not a lease row: the lock lives exactly as long as the session, so a holder that dies
 * (crash, kill -9, OOM) releases it the moment PostgreSQL sees the connection close, with no expiry to wait for and
 * no table or migration; PostgreSQL's clock alone decides, so node clocks never matter.
 *
 * A session outlives a process that is paused (SIGSTOP, a long GC, a VM freeze): the kernel keeps its TCP connection
 * open. So the session sets idle_session_timeout = ttlMs (PostgreSQL ≥ 14) and the holder runs a query every ttl/3:
 * a holder silent for ttlMs has its session ended by the server, which frees the lock for the next node.
 *
 *   holder dies              → lock free at once (connection closed); on a vanished host, at most ttlMs later.
 *   holder paused > ttlMs    → the server ends its session after ttlMs; another node takes the lock. On waking,
 *                              isHeld() is already false (its local deadline passed), and 'lost' follows.
 *   holder's session killed  → 'lost' at once (pg_terminate_backend, server restart).
 *   network partition        → the holder steps down locally after ttlMs without a successful heartbeat.
 *
 * The holder's local deadline is counted from when it SENT its last successful heartbeat, minus a margin, so it
 * always ends before the server's idle timer (which starts later, when that query completed). Only a session that
 * dies early (killed, server restart) can free the lock while the old holder still believes it holds; so, as with
 * every lease, safety must not depend on it: moves are fenced by partition epochs in PostgreSQL, and `term`
 * (a transaction id taken after acquiring, so it grows with each new holder) lets anything the coordinator writes
 * be ordered by term.
 *
 * Needs a direct session: a transaction-pooling proxy (PgBouncer in transaction mode) breaks session locks.
 */


export interface CoordinatorLeaseOptions {
  /** postgres://… of the cluster's database (PGlite has no second session; a single node needs no lease). */
  databaseUrl: string;
  nodeId: string;
  ttlMs?: number;
  /** How often a node without the lease tries again; default ttl/3. */
  retryIntervalMs?: number;
  /** Another lock within the same database (tests, two clusters in one database). */
  lockObjId?: number;
  /** Failed attempts and lost connections, for logs. Default: ignored. */
  onError?: (err: Error) => void;
}

export interface CoordinatorLeaseEvents {
  acquired: [term: number];
  lost: [reason: Error];
}

/** Who holds the lease now (for `boxoffice status`): the node id from the holder's application_name. */
export async function readCoordinator(sql: SqlTx, lockObjId: number = coordinatorLeaseLimits.lockObjIdDefault): Promise<{ nodeId: string; pid: number } | null> {
  const rows = await sql.query<{ application_name: string; pid: number }>(
    `SELECT a.application_name, a.pid FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
     WHERE l.locktype = 'advisory' AND l.granted AND l.classid = $1 AND l.objid = $2 AND l.objsubid = 2
       AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    [coordinatorLeaseLimits.lockClassId, lockObjId],
  );
  const row = rows[0];
  if (row === undefined) return null;
  return { nodeId: row.application_name.replace(/^boxoffice-coordinator:/, ''), pid: row.pid };
}

export class CoordinatorLease extends EventEmitter<CoordinatorLeaseEvents> {
  private readonly ttlMs: number;
  private readonly retryIntervalMs: number;
  private readonly lockObjId: number;
  private readonly onError: (err: Error) => void;
  private client: Client | null = null;
  private connecting: Promise<Client> | null = null;
  private held = false;
  private heldTerm: number | null = null;
  private validUntil = 0;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private deadlineTimer: NodeJS.Timeout | null = null;
  private campaignTimer: NodeJS.Timeout | null = null;
  private campaigning = false;
  private released = false;

  constructor(private readonly opts: CoordinatorLeaseOptions) {
    super();
    this.ttlMs = opts.ttlMs ?? coordinatorLeaseLimits.ttlMsDefault;
    if (!(Number.isInteger(this.ttlMs) && this.ttlMs >= coordinatorLeaseLimits.ttlMsMin && this.ttlMs <= coordinatorLeaseLimits.ttlMsMax)) {
      throw new RangeError(`ttlMs must be an integer in [${coordinatorLeaseLimits.ttlMsMin}, ${coordinatorLeaseLimits.ttlMsMax}], got ${this.ttlMs}`);
    }
    this.retryIntervalMs = opts.retryIntervalMs ?? Math.floor(this.ttlMs / coordinatorLeaseLimits.heartbeatsPerTtl);
    if (!(this.retryIntervalMs > 0 && this.retryIntervalMs < this.ttlMs)) {
      // A waiting session idle for ttlMs would be ended by its own idle_session_timeout.
      throw new RangeError(`retryIntervalMs must be in (0, ttlMs), got ${this.retryIntervalMs}`);
    }
    this.lockObjId = opts.lockObjId ?? coordinatorLeaseLimits.lockObjIdDefault;
    this.onError = opts.onError ?? (() => {});
  }

  /** True while this node holds the lease and its local deadline has not passed (checked against the clock now). */
  isHeld(): boolean {
    return this.held && performance.now() < this.validUntil;
  }

  /** The holder's term: grows with every new holder. Null when not held. */
  get term(): number | null {
    return this.isHeld() ? this.heldTerm : null;
  }

  /** Keeps trying to acquire (every retryIntervalMs) until release(); tries again after a loss. */
  start(): void {
    if (this.campaigning || this.released) return;
    this.campaigning = true;
    void this.campaignStep();
  }

  /** One attempt; true when this node holds the lease afterwards. Rejects when PostgreSQL cannot be reached. */
  async tryAcquire(): Promise<boolean> {
    if (this.released) return false;
    if (this.held) return true;
    const client = await this.connection();
    const sentAt = performance.now();
    const [row] = (await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS locked', [coordinatorLeaseLimits.lockClassId, this.lockObjId])).rows;
    if (row?.locked !== true) return false;
    const [termRow] = (await client.query<{ term: string }>('SELECT txid_current()::text AS term')).rows;
    if (this.released || this.client !== client) {
      // Released (or the connection was replaced) while acquiring: closing the session drops the lock.
      await client.end().catch(() => {});
      return false;
    }
    this.held = true;
    this.heldTerm = Number(termRow!.term);
    this.renewed(sentAt);
    this.scheduleHeartbeat();
    this.emit('acquired', this.heldTerm);
    return true;
  }

  /** Gives the lease up (closing the session frees the lock at once) and stops trying. Idempotent. */
  async release(): Promise<void> {
    this.released = true;
    this.held = false;
    this.heldTerm = null;
    this.clearTimers();
    const client = this.client ?? (await this.connecting?.catch(() => null)) ?? null;
    this.client = null;
    await client?.end().catch(() => {});
  }

  private async campaignStep(): Promise<void> {
    this.campaignTimer = null;
    if (this.released || this.held) return;
    try {
      if (await this.tryAcquire()) return;
    } catch (err) {
      if (this.released) return;
      this.onError(err as Error);
      this.dropConnection();
    }
    if (this.released || this.held) return;
    this.campaignTimer = setTimeout(() => void this.campaignStep(), this.retryIntervalMs);
  }

  private scheduleHeartbeat(): void {
    const intervalMs = Math.floor(this.ttlMs / coordinatorLeaseLimits.heartbeatsPerTtl);
    this.heartbeatTimer = setTimeout(() => void this.heartbeat(), intervalMs);
  }

  private async heartbeat(): Promise<void> {
    this.heartbeatTimer = null;
    const client = this.client;
    if (!this.held || client === null) return;
    const sentAt = performance.now();
    try {
      await client.query('SELECT 1');
    } catch (err) {
      this.lose(err as Error);
      return;
    }
    if (!this.held || this.client !== client) return;
    this.renewed(sentAt);
    this.scheduleHeartbeat();
  }

  /** The server cannot end the session before sentAt + ttl; we stop believing a margin earlier. */
  private renewed(sentAt: number): void {
    this.validUntil = sentAt + this.ttlMs * (1 - coordinatorLeaseLimits.localMarginShare);
    if (this.deadlineTimer !== null) clearTimeout(this.deadlineTimer);
    this.deadlineTimer = setTimeout(
      () => this.lose(new Error(`no successful heartbeat within ${this.ttlMs} ms`)),
      Math.max(0, this.validUntil - performance.now()),
    );
  }

  private lose(reason: Error): void {
    if (!this.held) return;
    this.held = false;
    this.heldTerm = null;
    this.clearTimers();
    this.dropConnection();
    this.emit('lost', reason);
    if (this.campaigning && !this.released) this.campaignTimer = setTimeout(() => void this.campaignStep(), this.retryIntervalMs);
  }

  private connection(): Promise<Client> {
    if (this.client !== null) return Promise.resolve(this.client);
    this.connecting ??= this.connect().finally(() => (this.connecting = null));
    return this.connecting;
  }

  private async connect(): Promise<Client> {
    const client = new Client({
      connectionString: this.opts.databaseUrl,
      application_name: `boxoffice-coordinator:${this.opts.nodeId}`.slice(0, 63),
      keepAlive: true,
      connectionTimeoutMillis: this.ttlMs,
    });
    // The session ending (killed, idle timeout, network) shows up here; without a listener pg would crash the process.
    const onGone = (err?: Error) => this.onConnectionGone(client, err ?? new Error('coordinator session ended'));
    client.on('error', onGone);
    client.on('end', () => onGone());
    await client.connect();
    try {
      await client.query(`SET idle_session_timeout = ${this.ttlMs}`);
    } catch (err) {
      // PostgreSQL < 14: no idle_session_timeout. Everything works except taking over from a paused holder.
      this.onError(new Error(`idle_session_timeout unavailable, a paused coordinator keeps the lease: ${(err as Error).message}`));
    }
    if (this.released) {
      await client.end().catch(() => {});
      throw new Error('the lease was released while connecting');
    }
    this.client = client;
    return client;
  }

  private onConnectionGone(client: Client, err: Error): void {
    if (this.client !== client) return;
    this.client = null;
    if (this.held) this.lose(err);
    else this.onError(err);
  }

  private dropConnection(): void {
    const client = this.client;
    this.client = null;
    void client?.end().catch(() => {});
  }

  private clearTimers(): void {
    for (const t of [this.heartbeatTimer, this.deadlineTimer, this.campaignTimer]) if (t !== null) clearTimeout(t);
    this.heartbeatTimer = this.deadlineTimer = this.campaignTimer = null;
  }
}
