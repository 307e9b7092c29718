import type { SpanContext } from '@opentelemetry/api';
import { fail } from '../errors.js';
import { limits } from '../config/limits.js';
import {
  applyInventoryEvent,
  countsOf,
  decideInventory,
  opensWork,
  inventoryToSnapshot,
  oversoldUnits,
  type InventoryCommand,
  type InventoryEvent,
  type InventoryReply,
  type InventorySnapshot,
  type InventoryState,
  type InventoryView,
} from '../domain/inventory.js';
import type { HoldId } from '../domain/ids.js';
import type { Hold } from '../domain/inventory.js';
import type { ActorRef, ActorSystem } from './actor-system.js';
import type { Clock, TimerHandle } from '../clock.js';
import { MinHeap } from './min-heap.js';

/** What an actor needs of the journal: append resolves with the row's seq once its batch commits. */
export interface EventJournal {
  /** `link`: the span of the request the event belongs to, which the journal batch span links to (tracing on). */
  append(partition: number, entity: string, event: unknown, link?: SpanContext): Promise<number>;
  /** True while the journal's queue is at its bound: new work (a new hold, a stock change) is refused before it is applied. */
  backlogged?(): boolean;
}

/** One journal row being filled: the events of a turn's commands, and each command's reply. */
interface OpenRow {
  events: InventoryEvent[];
  replies: ((r: InventoryReply) => void)[];
  results: InventoryReply[];
}

type InventoryMsg = { t: 'cmd'; cmd: InventoryCommand; reply: (r: InventoryReply) => void } | { t: 'timer' };

export interface InventoryActorDeps {
  system: ActorSystem;
  journal: EventJournal;
  clock: Clock;
  partition: number;
  entity: string;
  snapshotEveryEvents: number;
  onSnapshot: (partition: number, entity: string, seq: number, snap: InventorySnapshot) => void;
  onJournalFailure: (err: unknown) => void;
  onBug: (err: unknown) => void;
  onQueueWait?: (seconds: number) => void;
  /** The clock of an ask's deadline (limits.actorAskTimeoutMs); default: the system clock (test/sim injects its own). */
  askClock?: Clock;
  /** The available count after a row commits, when it differs from the last one told (live `stock:<sku>` updates). */
  onAvailable?: (available: number) => void;
  /**
   * The SKU's oversold units changed (sold + held beyond on hand: `units`, 0 once no longer), and by how many units
   * this change newly oversold it (`added`, for boxoffice_oversold_units_total: must never be positive).
   */
  onOversold?: (units: number, added: number) => void;
}

/** What callers need of a SKU's inventory, wherever it is served (a local actor, or its owner in a cluster). */
export interface InventoryHandle {
  /** Resolves with the reply after the events the command caused are committed. */
  ask(cmd: InventoryCommand): Promise<InventoryReply>;
}

/**
 * The single writer of one SKU's stock. Pipelined (NACT.md): the handler decides and applies synchronously and
 * adds the events to the journal row of the current turn; the row is appended at the end of the turn and every
 * reply is sent when the row's batch commits, so one hot SKU has many events in flight while no reply ever
 * precedes its commit. Replies that change nothing still wait for the writes already in flight, because what they
 * report may depend on them.
 */
export class InventoryActor {
  readonly view: InventoryView;
  private readonly ref: ActorRef<InventoryMsg>;
  private readonly expiries = new MinHeap<HoldId>();
  private timer: TimerHandle | null = null;
  private timerAtMs = Infinity;
  private pending = 0;
  private lastWrite: Promise<boolean> = Promise.resolve(true);
  /** The journal row this turn's events go into, appended at the end of the turn (see persist). */
  private openRow: OpenRow | null = null;
  private eventsSinceSnapshot = 0;
  private lastActiveMs: number;
  /** The live state: nact hands the same object back to every handler, since events apply in place. */
  private readonly state: InventoryState;
  /** The available count last told to onAvailable (starts at the loaded count: a load is no change). */
  private availableTold: number;
  /** The oversold units last told (starts at the loaded ones: the registry measures those at load). */
  private oversoldTold: number;
  /** Open holds pinned now, kept as events apply (a scrape reads it without walking the holds). */
  private pinned = 0;

  constructor(private readonly deps: InventoryActorDeps, state: InventoryState) {
    this.state = state;
    this.lastActiveMs = deps.clock.now();
    this.view = { ...countsOf(state), pendingWrites: 0 };
    this.availableTold = this.view.available;
    this.oversoldTold = oversoldUnits(state);
    for (const h of state.holds.values()) {
      if (h.status === 'active') this.expiries.push(h.expiresAtMs, h.holdId);
      else this.pinned++;
    }
    this.ref = deps.system.spawn<InventoryState, InventoryMsg>({
      name: deps.entity,
      initialState: state,
      mailboxMax: limits.inventoryMailboxMax,
      handle: (s, msg) => this.handle(s, msg),
      onBug: (err) => deps.onBug(err),
      ...(deps.onQueueWait ? { onQueueWait: deps.onQueueWait } : {}),
    });
    this.armTimer();
  }

  /** Sends a command; resolves with the reply after the events it caused commit. Never rejects. */
  ask(cmd: InventoryCommand): Promise<InventoryReply> {
    return new Promise<InventoryReply>((resolve) => {
      let done = false;
      // The deadline runs on real time unless a simulation injects its clock (`askClock`): an ask to an actor stopped
      // under it (its partition left) then times out in simulated time, so a seeded run never waits for a real timer.
      const expire = () => finish(fail('INTERNAL', { reason: 'inventory actor timed out' }));
      const askClock = this.deps.askClock;
      const timeout = askClock ? askClock.setTimer(askClock.now() + limits.actorAskTimeoutMs, expire) : realTimer(expire, limits.actorAskTimeoutMs);
      const finish = (r: InventoryReply) => {
        if (done) return;
        done = true;
        timeout.cancel();
        resolve(r);
      };
      if (!this.ref.tell({ t: 'cmd', cmd, reply: finish })) finish(fail('OVERLOADED', { retryAfterS: 1 }));
    });
  }

  queued(): number {
    return this.ref.queued();
  }

  /** Open holds: active (expire by TTL) and pinned (a payment in flight). */
  holdCounts(): { active: number; pinned: number } {
    return { active: this.state.holds.size - this.pinned, pinned: this.pinned };
  }

  /** Every open hold (active or pinned), read in place: the operator dashboard's soonest expiries. */
  openHolds(): IterableIterator<Hold> {
    return this.state.holds.values();
  }

  /** Holds pinned by a saga whose deadline passed before `beforeMs` (a pinned hold never expires by itself). */
  pinnedBefore(beforeMs: number): Hold[] {
    const out: Hold[] = [];
    for (const h of this.state.holds.values()) if (h.status === 'pinned' && h.expiresAtMs < beforeMs) out.push(h);
    return out;
  }

  /**
   * Whether the actor can be stopped and its SKU kept as counts only: nothing queued or in flight, no hold (so no
   * timer is needed), no returned-order memory, and no command since `idleSinceMs`.
   */
  passivatable(idleSinceMs: number): boolean {
    const s = this.state;
    return this.lastActiveMs <= idleSinceMs && this.pending === 0 && this.ref.queued() === 0 && s.holds.size === 0 && s.returnedOrders.size === 0;
  }

  stop(): void {
    this.timer?.cancel();
    this.ref.stop();
  }

  private handle(state: InventoryState, msg: InventoryMsg): InventoryState {
    const nowMs = this.deps.clock.now();
    this.lastActiveMs = nowMs;
    let cmd: InventoryCommand;
    let reply: (r: InventoryReply) => void;
    if (msg.t === 'timer') {
      this.timer = null;
      this.timerAtMs = Infinity;
      cmd = { t: 'expire', holdIds: this.expiries.popUpTo(nowMs) };
      reply = () => {};
    } else {
      cmd = msg.cmd;
      reply = msg.reply;
    }
    // New work waits (429, nothing applied) while the journal's queue is at its bound; what ends work already
    // admitted goes on, so no hold a saga owns is stranded and no cancelled order keeps its units.
    if ((cmd.t === 'reserve' || cmd.t === 'setOnHand') && this.deps.journal.backlogged?.() && opensWork(state, cmd)) {
      reply(fail('OVERLOADED', { retryAfterS: 1 }));
      return state;
    }
    const d = decideInventory(state, cmd, nowMs);
    try {
      for (const e of d.events) {
        const wasPinned = 'holdId' in e && state.holds.get(e.holdId)?.status === 'pinned';
        applyInventoryEvent(state, e);
        if (e.t === 'reserved') this.expiries.push(e.expiresAtMs, e.holdId);
        if ('holdId' in e) this.pinned += Number(state.holds.get(e.holdId)?.status === 'pinned') - Number(wasPinned);
      }
    } finally {
      // The domain asserts this cannot happen; if it ever does, the assertion throws, and it is counted first.
      this.tellOversold();
    }
    Object.assign(this.view, countsOf(state));
    if (d.events.length > 0) this.persist(d.events, d.reply, reply);
    else if (this.pending > 0) void this.lastWrite.then((ok) => reply(ok ? d.reply : fail('NOT_READY')));
    else reply(d.reply);
    this.armTimer();
    return state;
  }

  /**
   * Adds the events to the row this turn is building; the first event of a turn opens the row and schedules its
   * append for the end of the turn (a microtask: the actor's drain handles its whole batch synchronously first).
   * One row per turn instead of one per command: a hot SKU's reserve, pin and commit events of hundreds of
   * checkouts share one journal row, one encode and one promise, and every reply still waits for that row's commit.
   */
  private persist(events: InventoryEvent[], result: InventoryReply, reply: (r: InventoryReply) => void): void {
    let row = this.openRow;
    if (row === null) {
      const opened: OpenRow = { events: [], replies: [], results: [] };
      row = this.openRow = opened;
      this.pending++;
      this.view.pendingWrites = this.pending;
      this.lastWrite = new Promise<boolean>((resolve) => queueMicrotask(() => this.appendRow(opened, resolve)));
    }
    for (const e of events) row.events.push(e);
    row.replies.push(reply);
    row.results.push(result);
    this.eventsSinceSnapshot += events.length;
  }

  private appendRow(row: OpenRow, done: (ok: boolean) => void): void {
    this.openRow = null;
    // The snapshot is taken now, right after the row's last event (every event applied so far is in this row or an
    // earlier one), so it matches the seq this append gets.
    const snap = this.eventsSinceSnapshot >= this.deps.snapshotEveryEvents ? inventoryToSnapshot(this.state) : null;
    if (snap) this.eventsSinceSnapshot = 0;
    this.deps.journal.append(this.deps.partition, this.deps.entity, row.events).then(
      (seq) => {
        this.settle();
        if (snap) this.deps.onSnapshot(this.deps.partition, this.deps.entity, seq, snap);
        for (let i = 0; i < row.replies.length; i++) row.replies[i]!(row.results[i]!);
        done(true);
        this.tellAvailable();
      },
      (err: unknown) => {
        this.settle();
        this.deps.onJournalFailure(err);
        const notReady = fail('NOT_READY');
        for (const reply of row.replies) reply(notReady);
        done(false);
      },
    );
  }

  /**
   * Told after a commit, so a subscriber never sees a count that a failed write takes back; after the row is done, and
   * a listener that throws is a bug reported on its own, so live updates can never stall the actor's writes.
   */
  private tellAvailable(): void {
    const available = this.view.available;
    if (this.deps.onAvailable === undefined || available === this.availableTold) return;
    this.availableTold = available;
    try {
      this.deps.onAvailable(available);
    } catch (err) {
      this.deps.onBug(err);
    }
  }

  private tellOversold(): void {
    const units = oversoldUnits(this.state);
    if (units === this.oversoldTold) return;
    const added = Math.max(0, units - this.oversoldTold);
    this.oversoldTold = units;
    this.deps.onOversold?.(units, added);
  }

  private settle(): void {
    this.pending--;
    this.view.pendingWrites = this.pending;
  }

  private armTimer(): void {
    const next = this.expiries.peekKey();
    if (next === undefined || next >= this.timerAtMs) return;
    this.timer?.cancel();
    this.timerAtMs = next;
    this.timer = this.deps.clock.setTimer(next, () => {
      // Expiry is never refused by admission control: it only frees stock.
      this.ref.tell({ t: 'timer' }, true);
    });
  }
}

/** A plain timer (kept referenced, as an ask's deadline always was). */
function realTimer(fn: () => void, ms: number): TimerHandle {
  const t = setTimeout(fn, ms);
  return { cancel: () => clearTimeout(t) };
}
