import { persistenceLimits } from '../config/limits.js';
import { isTransientDbError } from './db-errors.js';
import { bytesEqual, encodePayload, packPayloads } from './journal-codec.js';
import type { SqlClient } from './sql.js';
import type { Clock } from '../clock.js';
import type { SpanContext } from '@opentelemetry/api';
import { inBatchSpan } from '../telemetry/batch-spans.js';
import type { Tracing } from '../telemetry/tracing.js';

export { claimPartitions, loadPartitions, writeSnapshots } from './partitions.js';
export type { JournalEntry, PartitionClaim, SnapshotRecord } from './partitions.js';
import type { PartitionClaim } from './partitions.js';

/**
 * The partition journal with group commit and epoch fencing (DESIGN.md, "Persistence", invariant 5).
 *
 * Appends accumulate in memory; one batch at a time goes to PostgreSQL as ONE multi-row INSERT whose rows are
 * written only where `partition_owners` still holds the writer's epoch. While a batch commits, the next one
 * accumulates, so batches grow with load and the cost per row falls. An append resolves only after the statement
 * that wrote its row has committed; a row whose partition moved to another owner rejects with FencedError.
 *
 * A batch that fails with a database error is retried with backoff. The statement is idempotent (ON CONFLICT DO
 * NOTHING, then a check that rows it did not insert are ours, byte for byte), so a retry after a commit whose reply
 * was lost resolves correctly. When retries run out, `onFatal` is called and every unsettled append rejects: the
 * node is expected to exit and recover from the database (crash-only).
 */

export class FencedError extends Error {
  constructor(
    readonly partition: number,
    readonly epoch: number,
  ) {
    super(`partition ${partition} is no longer owned at epoch ${epoch}`);
    this.name = 'FencedError';
  }
}

export interface GroupCommitOptions {
  /** Rows per INSERT; reaching it starts a batch at once (limits.journalBatchRowsMax). */
  batchRowsMax: number;
  /** Longest a row waits before its batch starts; 0 means the next turn of the event loop (setImmediate). */
  batchDelayMs: number;
  /** Called once when a batch cannot be committed after retries; the node should exit. */
  onFatal: (err: Error) => void;
  /** Rows waiting for or in a commit at which `backlogged()` turns true (default persistenceLimits.journalPendingRowsMax). */
  pendingRowsMax?: number;
  /** Told each committed batch: its rows and the seconds its commit took, retries included (metrics). */
  onBatch?: (rows: number, seconds: number) => void;
  /**
   * Times the retry backoff and the outage bound. Default: real timers and `performance.now()`; the seeded
   * simulation (test/sim) passes its simulated clock so a run that retries a batch replays exactly.
   */
  clock?: Clock;
  /** Tracing on: each batch is a `journal.batch` span linked to the spans its appends came from. */
  tracing?: Tracing;
}

export interface JournalStats {
  /** Batches committed (a batch whose rows were all fenced counts too). */
  batches: number;
  /** Rows committed. */
  rows: number;
  maxBatchRows: number;
  /** Appends not settled yet (waiting for a batch or in the batch being committed). */
  inFlight: number;
  /** Wall time spent committing batches, retries included. */
  commitMsTotal: number;
}

interface PendingRow {
  /** Append order over the whole journal; batches take rows in this order. */
  ticket: number;
  partition: number;
  seq: number;
  epoch: number;
  entity: string;
  payload: Buffer;
  resolve: (seq: number) => void;
  reject: (err: Error) => void;
  link: SpanContext | undefined;
}

interface FlushWaiter {
  ticket: number;
  resolve: () => void;
}

export class GroupCommitJournal {
  private readonly owned = new Map<number, { epoch: number; nextSeq: number }>();
  /** The epoch a partition was last owned at, for the FencedError of a late append. */
  private readonly lastEpoch = new Map<number, number>();
  private pending: PendingRow[] = [];
  private inFlightBatch: PendingRow[] = [];
  private flushing = false;
  private timer: NodeJS.Timeout | NodeJS.Immediate | null = null;
  private urgent = false;
  private waiters: FlushWaiter[] = [];
  private tickets = 0;
  private fatal: Error | null = null;
  private closed = false;
  private readonly counters = { batches: 0, rows: 0, maxBatchRows: 0, commitMsTotal: 0 };

  constructor(
    private readonly sql: SqlClient,
    private readonly opts: GroupCommitOptions,
  ) {
    if (!(Number.isInteger(opts.batchRowsMax) && opts.batchRowsMax >= 1)) throw new Error('batchRowsMax must be a positive integer');
    if (!(opts.batchDelayMs >= 0)) throw new Error('batchDelayMs must be >= 0');
  }

  /** The epoch this journal writes `partition` at, while it owns it. */
  epochOf(partition: number): number | undefined {
    return this.owned.get(partition)?.epoch;
  }

  /** Starts writing to `claim.partition` at `claim.epoch`, from `claim.nextSeq`. */
  own(claim: PartitionClaim): void {
    if (!(Number.isInteger(claim.epoch) && claim.epoch >= 1)) throw new Error(`bad epoch ${claim.epoch}`);
    if (!(Number.isInteger(claim.nextSeq) && claim.nextSeq >= 1)) throw new Error(`bad nextSeq ${claim.nextSeq}`);
    this.owned.set(claim.partition, { epoch: claim.epoch, nextSeq: claim.nextSeq });
    this.lastEpoch.set(claim.partition, claim.epoch);
  }

  /**
   * Stops writing to `partition`. Its appends still waiting for a batch reject with FencedError; rows already in
   * the batch being committed settle with that batch's outcome (they may well be committed).
   */
  disown(partition: number): void {
    const owner = this.owned.get(partition);
    if (owner === undefined) return;
    this.owned.delete(partition);
    const keep: PendingRow[] = [];
    for (const row of this.pending) {
      if (row.partition === partition) row.reject(new FencedError(partition, row.epoch));
      else keep.push(row);
    }
    this.pending = keep;
    this.settleWaiters();
  }

  owns(partition: number): boolean {
    return this.owned.has(partition);
  }

  /**
   * True while `pendingRowsMax` rows wait for or are in a commit (the database is slow or stalled). Appends are never
   * refused here — an event an actor already applied must reach the journal — so the bound is kept upstream: the
   * inventory actors refuse new work (a new hold, a stock change: 429 OVERLOADED) before applying anything while this
   * is true, while everything that ends admitted work goes on; checkout plans are bounded by
   * limits.checkoutsInFlightMax.
   */
  backlogged(): boolean {
    return this.pending.length + this.inFlightBatch.length >= (this.opts.pendingRowsMax ?? persistenceLimits.journalPendingRowsMax);
  }

  /**
   * Appends an event. The seq is assigned now, so the order of append calls on a partition is its seq order; the
   * promise resolves with that seq once the row is committed. `link`: the appending request's span (tracing).
   */
  append(partition: number, entity: string, event: unknown, link?: SpanContext): Promise<number> {
    if (this.fatal !== null) return Promise.reject(this.fatal);
    if (this.closed) return Promise.reject(new Error('the journal is closed'));
    const owner = this.owned.get(partition);
    if (owner === undefined) return Promise.reject(new FencedError(partition, this.lastEpoch.get(partition) ?? 0));
    let payload: Buffer;
    try {
      payload = encodePayload(event);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    const seq = owner.nextSeq++;
    return new Promise<number>((resolve, reject) => {
      this.pending.push({ ticket: ++this.tickets, partition, seq, epoch: owner.epoch, entity, payload, resolve, reject, link });
      this.schedule();
    });
  }

  /** Resolves when every append made before this call has been committed or rejected. */
  flush(): Promise<void> {
    if (this.oldestUnsettledTicket() === null) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.waiters.push({ ticket: this.tickets, resolve });
      this.urgent = true;
      this.schedule();
    });
  }

  /** Refuses new appends and waits for the ones already made. Does not close the SQL client. */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
    this.cancelTimer();
  }

  stats(): JournalStats {
    return { ...this.counters, inFlight: this.pending.length + this.inFlightBatch.length };
  }

  private schedule(): void {
    if (this.flushing || this.pending.length === 0) return;
    if (this.urgent || this.pending.length >= this.opts.batchRowsMax) {
      this.cancelTimer();
      void this.runBatch();
      return;
    }
    if (this.timer !== null) return;
    const fire = (): void => {
      this.timer = null;
      if (!this.flushing) void this.runBatch();
    };
    this.timer = this.opts.batchDelayMs === 0 ? setImmediate(fire) : setTimeout(fire, this.opts.batchDelayMs);
  }

  private cancelTimer(): void {
    if (this.timer === null) return;
    clearTimeout(this.timer as NodeJS.Timeout);
    clearImmediate(this.timer as NodeJS.Immediate);
    this.timer = null;
  }

  private async runBatch(): Promise<void> {
    if (this.pending.length === 0) return;
    this.flushing = true;
    this.urgent = false;
    const batch = this.pending.splice(0, this.opts.batchRowsMax);
    this.inFlightBatch = batch;
    const started = performance.now();
    try {
      await inBatchSpan(this.opts.tracing, 'journal.batch', batch, () => this.commitWithRetries(batch));
      this.opts.onBatch?.(batch.length, (performance.now() - started) / 1000);
    } finally {
      this.counters.commitMsTotal += performance.now() - started;
      this.inFlightBatch = [];
      this.flushing = false;
    }
    this.settleWaiters();
    if (this.pending.length === 0) return;
    if (this.waiters.length > 0) this.urgent = true;
    // Rows that arrived during the commit have waited a whole commit already: start the next batch on the next
    // turn of the event loop, which still lets the callers woken by this batch append their follow-up events.
    if (this.timer === null && !this.urgent && this.pending.length < this.opts.batchRowsMax) {
      this.timer = setImmediate(() => {
        this.timer = null;
        if (!this.flushing) void this.runBatch();
      });
      return;
    }
    this.schedule();
  }

  /**
   * Commits a batch, retrying with the same rows (a retry finds what an unanswered attempt wrote): a few times for an
   * error of the statement, and for up to journalOutageMsMax while the database is away. Then the batch fails.
   */
  private async commitWithRetries(batch: PendingRow[]): Promise<void> {
    let lastErr: Error = new Error('unreachable');
    const now = () => this.opts.clock?.now() ?? performance.now();
    const outageEndsAt = now() + persistenceLimits.journalOutageMsMax;
    let otherFailures = 0;
    for (let attempt = 1; ; attempt++) {
      if (attempt > 1) await this.sleep(Math.min(persistenceLimits.journalFlushRetryDelayMsMax, persistenceLimits.journalFlushRetryDelayMsBase * 2 ** (attempt - 2)));
      try {
        this.settle(batch, await this.commitOnce(batch));
        return;
      } catch (err) {
        lastErr = err as Error;
        if (!isTransientDbError(err) && ++otherFailures >= persistenceLimits.journalFlushAttemptsMax) break;
        if (isTransientDbError(err) && now() > outageEndsAt) break;
      }
    }
    this.fail(batch, lastErr);
  }

  /** One attempt: returns the rows that are in the journal now, written by us at our epoch. */
  private async commitOnce(batch: PendingRow[]): Promise<Set<PendingRow>> {
    const n = batch.length;
    const partitions = new Set<number>();
    const cols = { partition: new Array<number>(n), seq: new Array<number>(n), epoch: new Array<number>(n), entity: new Array<string>(n), payload: new Array<Buffer>(n) };
    for (let i = 0; i < n; i++) {
      const row = batch[i]!;
      partitions.add(row.partition);
      cols.partition[i] = row.partition;
      cols.seq[i] = row.seq;
      cols.epoch[i] = row.epoch;
      cols.entity[i] = row.entity;
      cols.payload[i] = row.payload;
    }
    // FOR SHARE makes a concurrent claim (UPDATE of the owner row) wait for this INSERT, and this INSERT wait for a
    // claim in progress and then re-read the row, so an epoch bump and a write of the old epoch never interleave.
    // Rows are locked in partition order, the order claimPartitions locks them in, so the two cannot deadlock.
    const packed = packPayloads(cols.payload);
    const inserted = await this.sql.query<{ partition: number; seq: number }>(
      `WITH o AS (SELECT partition, epoch FROM partition_owners WHERE partition = ANY($1::int[]) ORDER BY partition FOR SHARE)
       INSERT INTO journal (partition, seq, epoch, entity, payload)
       SELECT u.partition, u.seq, u.epoch, u.entity, substring($8::bytea FROM u.start FOR u.length)
       FROM unnest($2::int[], $3::bigint[], $4::bigint[], $5::text[], $6::int[], $7::int[]) AS u(partition, seq, epoch, entity, start, length)
       JOIN o ON o.partition = u.partition AND o.epoch = u.epoch
       ON CONFLICT (partition, seq) DO NOTHING
       RETURNING partition, seq`,
      [[...partitions], cols.partition, cols.seq, cols.epoch, cols.entity, packed.starts, packed.lengths, packed.bytes],
    );
    if (inserted.length === n) return new Set(batch);
    const insertedKeys = new Set(inserted.map((r) => rowKey(r.partition, r.seq)));
    const committed = new Set<PendingRow>();
    const missing: PendingRow[] = [];
    for (const row of batch) {
      if (insertedKeys.has(rowKey(row.partition, row.seq))) committed.add(row);
      else missing.push(row);
    }
    // A row not inserted was either fenced (epoch moved on) or already written by an earlier attempt of this very
    // batch whose commit we did not hear about. Only the stored bytes tell which.
    const stored = await this.sql.query<{ partition: number; seq: number; epoch: number; entity: string; payload: Uint8Array }>(
      `SELECT j.partition, j.seq, j.epoch, j.entity, j.payload
       FROM journal j JOIN unnest($1::int[], $2::bigint[]) AS u(partition, seq) ON j.partition = u.partition AND j.seq = u.seq`,
      [missing.map((r) => r.partition), missing.map((r) => r.seq)],
    );
    const storedByKey = new Map(stored.map((s) => [rowKey(s.partition, s.seq), s]));
    for (const row of missing) {
      const s = storedByKey.get(rowKey(row.partition, row.seq));
      if (s !== undefined && s.epoch === row.epoch && s.entity === row.entity && bytesEqual(s.payload, row.payload)) committed.add(row);
    }
    return committed;
  }

  private sleep(ms: number): Promise<void> {
    const clock = this.opts.clock;
    if (clock === undefined) return sleep(ms);
    return new Promise((resolve) => clock.setTimer(clock.now() + ms, resolve));
  }

  private settle(batch: PendingRow[], committed: Set<PendingRow>): void {
    this.counters.batches++;
    this.counters.rows += committed.size;
    this.counters.maxBatchRows = Math.max(this.counters.maxBatchRows, batch.length);
    const fencedPartitions = new Map<number, number>();
    for (const row of batch) {
      if (committed.has(row)) row.resolve(row.seq);
      else {
        row.reject(new FencedError(row.partition, row.epoch));
        fencedPartitions.set(row.partition, row.epoch);
      }
    }
    // Disown only if we still hold the epoch that was fenced: the partition may have been re-claimed meanwhile.
    for (const [partition, epoch] of fencedPartitions) {
      if (this.owned.get(partition)?.epoch === epoch) this.disown(partition);
    }
  }

  private fail(batch: PendingRow[], err: Error): void {
    this.fatal = err;
    for (const row of batch) row.reject(err);
    for (const row of this.pending) row.reject(err);
    this.pending = [];
    this.owned.clear();
    this.cancelTimer();
    this.settleWaiters(true);
    this.opts.onFatal(err);
  }

  private oldestUnsettledTicket(): number | null {
    const a = this.inFlightBatch[0]?.ticket;
    const b = this.pending[0]?.ticket;
    if (a === undefined) return b ?? null;
    if (b === undefined) return a;
    return Math.min(a, b);
  }

  /** Wakes every flush() whose appends have all settled. Batches take rows in ticket order, so a watermark does. */
  private settleWaiters(all = false): void {
    if (this.waiters.length === 0) return;
    const oldest = all ? null : this.oldestUnsettledTicket();
    const still: FlushWaiter[] = [];
    for (const w of this.waiters) {
      if (oldest === null || w.ticket < oldest) w.resolve();
      else still.push(w);
    }
    this.waiters = still;
  }
}

function rowKey(partition: number, seq: number): string {
  return `${partition}:${seq}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
