import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import { dropLimits } from '../config/limits.js';
import { signAdmission } from '../domain/admission-token.js';
import { admissionsDue, isSoldOut, queueOrder, type TicketState } from '../domain/drop-queue.js';
import type { DropRow, DropStore } from '../persistence/drop-store.js';
import { fail, type Failure } from '../errors.js';

/** Called on every ticket state change (ticket set) and once when the drop sells out (ticket null). */
export type DropPublisher = (sku: string, ticket: string | null, data: unknown) => void;

/** What a ticket poll answers (GET /api/drops/:sku/queue/:ticket), and what the publisher is given. */
export interface TicketView {
  ticket: string;
  state: TicketState;
  position: number | null;
  admissionToken?: string;
  expiresAt: string | null;
}

export interface RoomDeps {
  store: DropStore;
  clock: Clock;
  log: Logger;
  /** The SKU actor's counts on this node (the owner's), undefined when it has none. */
  counts(sku: string): { available: number; held: number; sold: number; onHand: number } | undefined;
  checkouts: { inFlight(): number; inFlightMax: number };
  publish: DropPublisher;
  newTicketId(): string;
  newSeed(): string;
  counted: { admitted(sku: string, n: number): void; expired(n: number): void };
}

interface Ticket {
  ticket: string;
  customerId: string;
  seq: number;
  early: boolean;
  admittedAtMs: number | null;
  expiresAtMs: number | null;
  bought: boolean;
  /** Place in the queue once the drop started; -1 before. */
  index: number;
}

type Joining = { t: Ticket; settle: (r: Ticket | Failure) => void };

/**
 * The waiting room of one drop, on the node that owns the SKU's partition (docs/drops.md). Joins are written in
 * batches (one INSERT per flush), a ticket is visible only once its row committed, and one step at a time
 * (`chain`) flushes, starts the drop (the seed, the shuffle), reads new purchases, expires and admits. Admissions
 * are written before anyone sees them, so a new owner loading the tables admits nobody twice and skips nobody.
 */
export class DropRoom {
  private readonly tickets = new Map<string, Ticket>();
  private readonly byCustomer = new Map<string, Ticket>();
  /** Before the start: every ticket, unordered. After: the queue, admitted ones first (index < cursor). */
  private unordered: Ticket[] = [];
  private queue: Ticket[] = [];
  private cursor = 0;
  /** Admitted and not yet past expiresAt (bought or not). */
  private open: Ticket[] = [];
  private nextSeq = 1;
  private buffer: Joining[] = [];
  private readonly joining = new Map<string, Promise<Ticket | Failure>>();
  private chain: Promise<void> = Promise.resolve();
  private stepping = false;
  private soldOutAnnounced = false;
  /** The tables hold rows this room does not (another owner wrote them): the service loads the room again. */
  stale = false;

  private constructor(public config: DropRow, private readonly d: RoomDeps) {}

  static async load(config: DropRow, d: RoomDeps): Promise<DropRoom> {
    const room = new DropRoom(config, d);
    const rows = await d.store.tickets(config.sku);
    for (const r of rows) {
      const t: Ticket = { ...r, bought: false, index: -1 };
      room.tickets.set(t.ticket, t);
      room.byCustomer.set(t.customerId, t);
      room.unordered.push(t);
    }
    room.nextSeq = rows.reduce((m, r) => Math.max(m, r.seq), 0) + 1;
    if (config.shuffleSeed !== null) room.order(config.shuffleSeed);
    const now = d.clock.now();
    room.open = room.queue.filter((t) => t.expiresAtMs !== null && t.expiresAtMs > now);
    return room;
  }

  get sku(): string {
    return this.config.sku;
  }

  get started(): boolean {
    return this.config.shuffleSeed !== null;
  }

  get queued(): number {
    return this.tickets.size + this.buffer.length;
  }

  get admittedCount(): number {
    return this.cursor;
  }

  get soldOut(): boolean {
    return this.started && this.soldOutAnnounced;
  }

  /** Joins the queue (once per customer): resolves when the ticket's row committed. */
  join(customerId: string): Promise<Ticket | Failure> | Ticket {
    const known = this.byCustomer.get(customerId);
    if (known) return known;
    const pending = this.joining.get(customerId);
    if (pending) return pending;
    if (this.queued >= dropLimits.queueLengthMax) return Promise.resolve(fail('DROP_QUEUE_FULL', { max: dropLimits.queueLengthMax }));
    const t: Ticket = { ticket: this.d.newTicketId(), customerId, seq: this.nextSeq++, early: this.d.clock.now() < this.config.startsAtMs, admittedAtMs: null, expiresAtMs: null, bought: false, index: -1 };
    const p = new Promise<Ticket | Failure>((settle) => this.buffer.push({ t, settle }));
    this.joining.set(customerId, p);
    void p.then(() => this.joining.delete(customerId));
    this.enqueue(() => this.flush());
    return p;
  }

  ticket(id: string): Ticket | undefined {
    return this.tickets.get(id);
  }

  /** The ticket as a poll answers it, at `nowMs`. */
  view(t: Ticket, nowMs: number): TicketView {
    if (t.admittedAtMs !== null && t.expiresAtMs !== null) {
      const expiresAt = new Date(t.expiresAtMs).toISOString();
      if (nowMs >= t.expiresAtMs) return { ticket: t.ticket, state: 'expired', position: null, expiresAt };
      const admissionToken = signAdmission(Buffer.from(this.config.tokenKey, 'hex'), { sku: this.sku, customerId: t.customerId, ticket: t.ticket, expiresAtMs: t.expiresAtMs });
      return { ticket: t.ticket, state: 'admitted', position: null, admissionToken, expiresAt };
    }
    const position = t.index < 0 ? null : t.index - this.cursor + 1;
    return { ticket: t.ticket, state: this.soldOut ? 'sold_out' : 'waiting', position, expiresAt: null };
  }

  /** One step (the service calls it every tickMs); a step still running makes this one a no-op. */
  step(): Promise<void> {
    if (this.stepping) return this.chain;
    this.stepping = true;
    return this.enqueue(async () => {
      try {
        await this.stepNow();
      } finally {
        this.stepping = false;
      }
    });
  }

  private enqueue(fn: () => Promise<void>): Promise<void> {
    const next = this.chain.then(fn);
    this.chain = next.catch((err: unknown) => this.d.log.warn({ err, sku: this.sku }, 'drop step failed; retried at the next tick'));
    return this.chain;
  }

  private async stepNow(): Promise<void> {
    await this.flush();
    const now = this.d.clock.now();
    if (!this.started) {
      if (now < this.config.startsAtMs) return;
      const seed = await this.d.store.setSeed(this.sku, this.d.newSeed());
      this.config = { ...this.config, shuffleSeed: seed };
      this.order(seed);
    }
    await this.readPurchases();
    this.expire(now);
    const counts = this.d.counts(this.sku) ?? { available: 0, held: 0 };
    if (isSoldOut(counts)) return this.announceSoldOut();
    this.soldOutAnnounced = false;
    await this.admit(now, counts.available);
  }

  /** Writes the buffered joins (a batch at a time) and makes their tickets visible, in arrival order. */
  private async flush(): Promise<void> {
    while (this.buffer.length > 0) {
      const batch = this.buffer.splice(0, dropLimits.joinBatchRowsMax);
      let written: Set<string>;
      try {
        written = await this.d.store.insertTickets(this.sku, batch.map((j) => j.t));
      } catch (err) {
        for (const j of batch) j.settle(fail('PARTITION_UNAVAILABLE', { reason: 'the queue could not be written; retry' }));
        throw err;
      }
      for (const j of batch) {
        if (!written.has(j.t.customerId)) {
          this.stale = true;
          j.settle(fail('PARTITION_UNAVAILABLE', { reason: 'the queue moved; retry' }));
          continue;
        }
        this.remember(j.t);
        j.settle(j.t);
      }
    }
  }

  private remember(t: Ticket): void {
    this.tickets.set(t.ticket, t);
    this.byCustomer.set(t.customerId, t);
    if (!this.started) this.unordered.push(t);
    else {
      t.index = this.queue.length;
      this.queue.push(t);
    }
  }

  /** The start: the queue is the shuffle of the early joiners, then the others in arrival order. */
  private order(seed: string): void {
    this.queue = queueOrder(seed, this.unordered);
    this.unordered = [];
    this.queue.forEach((t, i) => (t.index = i));
    // Admission follows the queue, so the admitted are its head; a ticket admitted out of order (never written so)
    // would still count as admitted.
    while (this.cursor < this.queue.length && this.queue[this.cursor]!.admittedAtMs !== null) this.cursor++;
  }

  /**
   * An admitted buyer whose checkout holds a claim (on any node) no longer needs an admission: their hold counts
   * against the stock. One refused gives the claim back and needs the admission again, so this is read afresh.
   */
  private async readPurchases(): Promise<void> {
    const waiting = this.open.slice(0, dropLimits.purchaseRowsPerTickMax);
    const buying = await this.d.store.claimants(this.sku, waiting.map((t) => t.customerId));
    for (const t of waiting) t.bought = buying.has(t.customerId);
  }

  private expire(now: number): void {
    const ended = this.open.filter((t) => t.expiresAtMs! <= now);
    if (ended.length === 0) return;
    this.open = this.open.filter((t) => t.expiresAtMs! > now);
    this.d.counted.expired(ended.filter((t) => !t.bought).length);
    for (const t of ended) this.d.publish(this.sku, t.ticket, this.view(t, now));
  }

  private async admit(now: number, available: number): Promise<void> {
    const n = admissionsDue({
      available,
      checkoutsInFlight: this.d.checkouts.inFlight(),
      checkoutsInFlightMax: this.d.checkouts.inFlightMax,
      admittedOpen: this.open.filter((t) => !t.bought).length,
      waiting: this.queue.length - this.cursor,
      admitsMax: dropLimits.admitsPerTickMax,
    });
    if (n === 0) return;
    const batch = this.queue.slice(this.cursor, this.cursor + n);
    const expiresAtMs = now + this.config.admissionTtlMs;
    await this.d.store.admit(this.sku, batch.map((t) => t.ticket), now, expiresAtMs);
    for (const t of batch) {
      t.admittedAtMs = now;
      t.expiresAtMs = expiresAtMs;
      this.open.push(t);
    }
    this.cursor += batch.length;
    this.d.counted.admitted(this.sku, batch.length);
    for (const t of batch) this.d.publish(this.sku, t.ticket, this.view(t, now));
  }

  /**
   * Everyone still waiting hears it at once: one message for the whole drop, which reaches every subscriber of
   * `drop:<sku>`, ticket or not. Not one per waiting ticket: a queue of a million would be a million messages through
   * Redis in one turn of the event loop. A poll of any waiting ticket answers sold_out from now on.
   */
  private announceSoldOut(): void {
    if (this.soldOutAnnounced) return;
    this.soldOutAnnounced = true;
    this.d.publish(this.sku, null, { sku: this.sku, state: 'sold_out' });
  }
}
