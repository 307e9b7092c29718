import { actorLimits } from '../config/limits.js';
import type { Logger } from 'pino';
import { writeSnapshots, type SnapshotRecord } from '../persistence/journal.js';
import type { SqlClient } from '../persistence/sql.js';

/**
 * Writes entity snapshots in batches (fenced by epoch) and compacts the journal: rows covered by a snapshot are
 * deleted, so recovery reads snapshots plus short tails instead of the whole history.
 */
export class SnapshotWriter {
  private pending: SnapshotRecord[] = [];
  private running: Promise<void> = Promise.resolve();

  constructor(
    private readonly sql: SqlClient,
    private readonly epochOf: (partition: number) => number | undefined,
    private readonly log: Logger,
    /** A snapshot of `partition` written at `epoch` was fenced: another node owns it now. */
    private readonly onFenced: (partition: number, epoch: number) => void = () => {},
  ) {}

  add(partition: number, entity: string, seq: number, state: unknown): void {
    const epoch = this.epochOf(partition);
    if (epoch === undefined) return;
    this.pending.push({ partition, entity, seq, epoch, state });
    // Past the bound (the database is not keeping up) the oldest are dropped: a dropped snapshot only makes recovery
    // read a longer tail.
    if (this.pending.length > actorLimits.snapshotsPendingMax) this.pending.shift();
    if (this.pending.length === actorLimits.snapshotsFlushAtPending) void this.flush();
  }

  /** Writes what is pending; one write at a time. */
  flush(): Promise<void> {
    this.running = this.running.then(async () => {
      const batch = this.pending;
      this.pending = [];
      if (batch.length === 0) return;
      const r = await writeSnapshots(this.sql, batch);
      if (r.fenced.length > 0) {
        this.log.warn({ partitions: r.fenced }, 'snapshot writes fenced: partitions lost');
        const fenced = new Set(r.fenced);
        const seen = new Set<string>();
        for (const snap of batch) {
          if (!fenced.has(snap.partition) || seen.has(`${snap.partition}:${snap.epoch}`)) continue;
          seen.add(`${snap.partition}:${snap.epoch}`);
          this.onFenced(snap.partition, snap.epoch);
        }
      }
    }).catch((err: unknown) => this.log.error({ err }, 'snapshot write failed'));
    return this.running;
  }

  /** Deletes journal rows that snapshots cover, in the partitions this node owns. */
  async compact(owned: number[]): Promise<void> {
    await this.flush();
    if (owned.length === 0) return;
    await this.sql.query(
      `DELETE FROM journal j USING snapshots s
       WHERE j.partition = ANY($1::int[]) AND j.partition = s.partition AND j.entity = s.entity AND j.seq <= s.seq`,
      [owned],
    );
  }
}
