import type { StoredResponse } from '../../src/actors/checkout-actor.js';
import { decodePayload } from '../../src/persistence/journal-codec.js';
import type { SqlClient, SqlTx } from '../../src/persistence/sql.js';
import type { NewOrder, OrderWriteResult } from '../../src/persistence/order-writer.js';
import type { SimFaults } from './sim-faults.js';

/**
 * The simulation's PostgreSQL: the tables the checkout path writes (partition owners, journal, snapshots, orders,
 * idempotency records), in memory and shared by every simulated node. It outlives crashes: it is what a restarted
 * node recovers from, and what the checker reads as the durable truth.
 */
export interface JournalRow {
  partition: number;
  seq: number;
  epoch: number;
  entity: string;
  payload: Buffer;
}

export interface SnapshotRow extends JournalRow {}

export class SimDatabase {
  readonly owners = new Map<number, { node: string; epoch: number }>();
  readonly journal = new Map<string, JournalRow>();
  readonly snapshots = new Map<string, SnapshotRow>();
  readonly orders = new Map<string, NewOrder>();
  /** Orders in the order they committed (the checker reads new ones after every step). */
  readonly orderLog: NewOrder[] = [];
  readonly responses = new Map<string, StoredResponse>();
  /** Checkout ids whose plan (`started` event) is in the journal: recovery can see these checkouts. */
  readonly recordedPlans = new Set<string>();
  /**
   * A planted fault for the checker's own test: a crash loses the last committed order (as a database that
   * acknowledged a commit it never made durable). Never set in a normal run.
   */
  dropOrders = false;

  constructor(readonly now: () => number) {}

  /** The order write of a checkout: orders, items, payment, reservations and the idempotency record in one transaction. */
  writeOrder(o: NewOrder, fence: { partition: number; epoch: number | undefined }): OrderWriteResult {
    // As OrderWriter's statement: written only while the checkout partition's owner row holds the writer's epoch.
    if (fence.epoch === undefined || this.owners.get(fence.partition)?.epoch !== fence.epoch) return this.orders.has(o.orderId) ? 'existed' : 'fenced';
    const byKey = [...this.orders.values()].find((x) => x.idempotencyKey === o.idempotencyKey && x.orderId !== o.orderId);
    // The real idempotency_keys row is the key's primary key: a second order for one key cannot commit.
    if (byKey) throw Object.assign(new Error(`duplicate key value violates unique constraint (idempotency key ${o.idempotencyKey})`), { code: '23505' });
    // As OrderWriter's statement: an order already stored is left as it is, and so is its key's answer.
    if (this.orders.has(o.orderId)) return 'existed';
    this.orders.set(o.orderId, o);
    this.orderLog.push(o);
    this.responses.set(o.idempotencyKey, { fingerprint: o.fingerprint, statusCode: o.response.statusCode, body: o.response.body });
    return 'inserted';
  }

  /** The planted fault: forgets the newest order and its answer. */
  crashed(): void {
    const last = this.dropOrders ? this.orderLog[this.orderLog.length - 1] : undefined;
    if (!last) return;
    this.orders.delete(last.orderId);
    this.responses.delete(last.idempotencyKey);
  }

  saveResponse(r: { key: string; fingerprint: string; statusCode: number; body: unknown }): void {
    this.responses.set(r.key, { fingerprint: r.fingerprint, statusCode: r.statusCode, body: r.body });
  }

  journalRows(): JournalRow[] {
    return [...this.journal.values()].sort((a, b) => a.partition - b.partition || a.seq - b.seq);
  }
}

/** A transient connection error, as the pg driver reports one (the journal retries it). */
export function connectionError(what: string): Error {
  return Object.assign(new Error(`Connection terminated unexpectedly (simulated: ${what})`), { code: '08006' });
}

type Params = unknown[];
type Row = Record<string, unknown>;

/**
 * One node's SQL client over the shared SimDatabase: it answers exactly the statements the group-commit journal,
 * the partition host and the snapshot writer send (matched by their text; any other statement throws, so a change of
 * SQL shows up here). Journal inserts can fail before they commit or commit and then fail (an ambiguous commit), as
 * the fault plan draws. A crashed node's client never answers again.
 */
export class SimSql implements SqlClient {
  readonly driver = 'pg' as const;
  dead = false;

  constructor(
    private readonly db: SimDatabase,
    private readonly node: string,
    private readonly faults: SimFaults,
  ) {}

  async query<R = Row>(text: string, params: Params = []): Promise<R[]> {
    if (this.dead) return new Promise<R[]>(() => {});
    await this.faults.latency();
    if (this.dead) return new Promise<R[]>(() => {});
    return this.run(text, params) as R[];
  }

  transaction<T>(fn: (tx: SqlTx) => Promise<T>): Promise<T> {
    return fn(this);
  }

  async close(): Promise<void> {}

  private run(text: string, p: Params): Row[] {
    if (text.includes('INSERT INTO journal')) return this.insertJournal(p);
    if (text.includes('FROM journal j JOIN unnest')) return this.storedRows(p);
    if (text.includes('INSERT INTO partition_owners')) return this.claim(p);
    if (text.includes('greatest(')) return this.tails(p);
    if (text.startsWith('SET TRANSACTION')) return [];
    if (text.includes('FROM snapshots WHERE partition = ANY')) return this.loadSnapshots(p);
    if (text.includes('LEFT JOIN snapshots')) return this.loadEvents(p);
    if (text.includes('INSERT INTO snapshots')) return this.writeSnapshots(p);
    if (text.includes('FROM idempotency_keys')) return [...this.db.responses.keys()].map((key) => ({ key, now: String(this.db.now()) }));
    if (text.startsWith('SELECT now()')) return [{ now: String(this.db.now()) }];
    throw new Error(`SimSql: a statement the simulation does not know: ${text.slice(0, 80)}`);
  }

  private insertJournal(p: Params): Row[] {
    const fault = this.faults.journalWrite();
    if (fault === 'fail') throw connectionError('journal insert lost before commit');
    const [, parts, seqs, epochs, entities, starts, lengths, bytes] = p as [number[], number[], number[], number[], string[], number[], number[], Buffer];
    const inserted: Row[] = [];
    parts.forEach((partition, i) => {
      const seq = seqs[i]!;
      const id = `${partition}:${seq}`;
      if (this.db.owners.get(partition)?.epoch !== epochs[i] || this.db.journal.has(id)) return;
      const payload = Buffer.from(bytes.subarray(starts[i]! - 1, starts[i]! - 1 + lengths[i]!));
      this.db.journal.set(id, { partition, seq, epoch: epochs[i]!, entity: entities[i]!, payload });
      if (entities[i]!.startsWith('co:')) {
        const ev = decodePayload(payload) as { t?: string; plan?: { checkoutId: string } };
        if (ev.t === 'started' && ev.plan) this.db.recordedPlans.add(ev.plan.checkoutId);
      }
      inserted.push({ partition, seq });
    });
    if (fault === 'ambiguous') throw connectionError('journal insert committed, reply lost');
    return inserted;
  }

  private storedRows(p: Params): Row[] {
    const [parts, seqs] = p as [number[], number[]];
    return parts.flatMap((partition, i) => {
      const row = this.db.journal.get(`${partition}:${seqs[i]}`);
      return row ? [{ ...row, payload: new Uint8Array(row.payload) }] : [];
    });
  }

  private claim(p: Params): Row[] {
    const [wanted] = p as [number[]];
    return wanted.map((partition) => {
      const epoch = (this.db.owners.get(partition)?.epoch ?? 0) + 1;
      this.db.owners.set(partition, { node: this.node, epoch });
      return { partition, epoch };
    });
  }

  private tails(p: Params): Row[] {
    const [wanted] = p as [number[]];
    return wanted.map((partition) => {
      let last = 0;
      for (const r of this.db.journal.values()) if (r.partition === partition) last = Math.max(last, r.seq);
      for (const s of this.db.snapshots.values()) if (s.partition === partition) last = Math.max(last, s.seq);
      return { partition, last_seq: last };
    });
  }

  private loadSnapshots(p: Params): Row[] {
    const wanted = new Set(p[0] as number[]);
    return [...this.db.snapshots.values()]
      .filter((s) => wanted.has(s.partition))
      .sort((a, b) => a.partition - b.partition || (a.entity < b.entity ? -1 : 1))
      .map((s) => ({ ...s, payload: new Uint8Array(s.payload) }));
  }

  private loadEvents(p: Params): Row[] {
    const wanted = new Set(p[0] as number[]);
    return this.db
      .journalRows()
      .filter((j) => wanted.has(j.partition) && !(j.seq <= (this.db.snapshots.get(`${j.partition}\u0000${j.entity}`)?.seq ?? 0)))
      .map((j) => ({ ...j, payload: new Uint8Array(j.payload) }));
  }

  private writeSnapshots(p: Params): Row[] {
    const [parts, entities, seqs, epochs, starts, lengths, bytes] = p as [number[], string[], number[], number[], number[], number[], Buffer];
    const written: Row[] = [];
    parts.forEach((partition, i) => {
      if (this.db.owners.get(partition)?.epoch !== epochs[i]) return;
      const entity = entities[i]!;
      const payload = Buffer.from(bytes.subarray(starts[i]! - 1, starts[i]! - 1 + lengths[i]!));
      this.db.snapshots.set(`${partition}\u0000${entity}`, { partition, entity, seq: seqs[i]!, epoch: epochs[i]!, payload });
      written.push({ partition, entity });
    });
    return written;
  }
}
