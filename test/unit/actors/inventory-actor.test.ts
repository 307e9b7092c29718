import { afterEach, describe, expect, it } from 'vitest';
import { startActorSystem, type ActorSystem } from '../../../src/actors/actor-system.js';
import { SimulatedClock } from '../../../src/clock.js';
import { InventoryActor, type EventJournal } from '../../../src/actors/inventory-actor.js';
import { asHoldId, asSku, type HoldId } from '../../../src/domain/ids.js';
import {
  applyInventoryEvent,
  countsOf,
  emptyInventory,
  inventoryFromSnapshot,
  type InventoryCommand,
  type InventoryEvent,
  type InventoryReply,
  type InventorySnapshot,
} from '../../../src/domain/inventory.js';
import { intBelow, intBetween, pick, seededRng, seedsToRun, type Rng } from '../../support/seeded-random.js';

/**
 * The inventory actor (the pipelined shell around decideInventory) in a deterministic simulation: a SimulatedClock,
 * and an in-memory journal double that commits appends in order, only when the seeded driver says so. Every step
 * checks the stock invariants, every hold's lifecycle in the committed journal, and that no reply is delivered
 * before the journal committed the events it depends on. A failing seed replays with BO_SEED=<seed>.
 */

/** An EventJournal that holds appends until the test commits them, in append order (like group commit). */
class ManualJournal implements EventJournal {
  /** What the journal says of its queue; the test sets it to play a database that stopped keeping up. */
  full = false;
  readonly appended: { partition: number; entity: string; events: InventoryEvent[]; seq: number }[] = [];
  private readonly waiting: { seq: number; resolve: (seq: number) => void; reject: (err: Error) => void }[] = [];
  committed = 0;

  append(partition: number, entity: string, event: unknown): Promise<number> {
    const seq = this.appended.length + 1;
    this.appended.push({ partition, entity, events: event as InventoryEvent[], seq });
    return new Promise((resolve, reject) => this.waiting.push({ seq, resolve, reject }));
  }

  backlogged(): boolean {
    return this.full;
  }

  get uncommitted(): number {
    return this.waiting.length;
  }

  /** Commits the oldest `n` appends, in order. */
  commit(n: number): void {
    for (const w of this.waiting.splice(0, n)) {
      this.committed = w.seq;
      w.resolve(w.seq);
    }
  }

  /** Fails the oldest `n` appends (a batch the database refused), in order. */
  fail(n: number): void {
    for (const w of this.waiting.splice(0, n)) w.reject(new Error('simulated journal failure'));
  }

  committedSince(appends: number): InventoryEvent[] {
    return this.appended.slice(appends, this.committed).flatMap((a) => a.events);
  }

  committedEvents(): InventoryEvent[] {
    return this.appended.slice(0, this.committed).flatMap((a) => a.events);
  }
}

/**
 * Wraps the real actor system so the test learns, for each command, how many appends existed once the actor had
 * handled it: its reply may only arrive after that many appends committed (its own events, and any write in
 * flight its answer may depend on).
 */
function watermarkingSystem(inner: ActorSystem, journal: ManualJournal, onEarlyReply: (msg: string) => void): ActorSystem {
  return {
    stop: () => inner.stop(),
    mailboxDepths: () => inner.mailboxDepths(),
    spawn(spec) {
      return inner.spawn({
        ...spec,
        handle: (state, msg, self) => {
          const m = msg as { t: string; cmd?: InventoryCommand; reply?: (r: InventoryReply) => void };
          let watermark: number | null = null;
          if (m.t === 'cmd' && m.reply) {
            const original = m.reply;
            m.reply = (r) => {
              // Replied inside the handler (nothing in flight): everything appended so far must be committed.
              const needed = watermark ?? journal.appended.length;
              if (journal.committed < needed) onEarlyReply(`${JSON.stringify(m.cmd)} answered with ${journal.committed} of ${needed} appends committed`);
              original(r);
            };
          }
          const next = spec.handle(state, msg, self);
          watermark = journal.appended.length;
          return next;
        },
      });
    },
  };
}

const ttlMs = 1_000;
const holdPool = 16;
/** A hold's quantity is a function of its id, so re-reserving an id never asks for another quantity (a bug). */
const qtyOf = (id: HoldId): number => 1 + (Number(id.slice(1)) % 3);

interface Run {
  seed: number;
  clock: SimulatedClock;
  journal: ManualJournal;
  actor: InventoryActor;
  system: ActorSystem;
  problems: string[];
  outstanding: Set<Promise<InventoryReply>>;
  /** Holds live in the committed journal, and how many appends have been checked. */
  live: Set<string>;
  checkedAppends: number;
  /** Snapshots the actor handed over, with the seq of the journal row each one claims to match. */
  snapshots: { seq: number; snap: InventorySnapshot }[];
}

function startRun(seed: number): Run {
  const clock = new SimulatedClock();
  const journal = new ManualJournal();
  const problems: string[] = [];
  const snapshots: Run['snapshots'] = [];
  const system = watermarkingSystem(startActorSystem(`inv-sim-${seed}-${Math.random().toString(36).slice(2)}`), journal, (p) => problems.push(p));
  const actor = new InventoryActor(
    {
      system,
      journal,
      clock,
      partition: 0,
      entity: 'sku:SIM',
      snapshotEveryEvents: 7,
      onSnapshot: (_p, _e, seq, snap) => snapshots.push({ seq, snap }),
      onJournalFailure: () => {},
      onBug: (err) => problems.push(`bug: ${String(err)}`),
    },
    emptyInventory(asSku('SIM')),
  );
  return { seed, clock, journal, actor, system, problems, outstanding: new Set(), live: new Set(), checkedAppends: 0, snapshots };
}

function ask(run: Run, cmd: InventoryCommand): void {
  const p = run.actor.ask(cmd);
  run.outstanding.add(p);
  void p.then(() => run.outstanding.delete(p));
}

/** Lets the actor and the promise callbacks run: nact handles one message per setImmediate turn. */
async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** Checks the invariants on the actor's live view and on the committed journal's hold lifecycles. */
function checkInvariants(run: Run): void {
  const v = run.actor.view;
  expect(v.available + v.held + v.sold, 'available + held + sold == onHand').toBe(v.onHand);
  expect(v.available).toBeGreaterThanOrEqual(0);
  expect(v.held).toBeGreaterThanOrEqual(0);
  expect(v.sold).toBeLessThanOrEqual(v.onHand);
  // Incremental: only the appends committed since the last check are walked.
  const { live } = run;
  for (const e of run.journal.committedSince(run.checkedAppends)) {
    if (e.t === 'reserved') {
      expect(live.has(e.holdId), `hold ${e.holdId} reserved while live`).toBe(false);
      live.add(e.holdId);
    } else if (e.t === 'committed' || e.t === 'released') {
      expect(live.delete(e.holdId), `hold ${e.holdId} ended twice (${e.t})`).toBe(true);
    } else if (e.t === 'pinned') {
      expect(live.has(e.holdId), `hold ${e.holdId} pinned after it ended`).toBe(true);
    }
  }
  run.checkedAppends = run.journal.committed;
  expect(run.problems).toEqual([]);
}

function randomCommand(rng: Rng, run: Run): InventoryCommand {
  const holdId = asHoldId(`h${intBelow(rng, holdPool)}`);
  const roll = intBelow(rng, 10);
  if (roll < 4) return { t: 'reserve', holdId, qty: qtyOf(holdId), ttlMs, checkoutId: `co_${holdId}` };
  if (roll < 6) return { t: 'pin', holdId };
  if (roll < 7) return { t: 'commit', holdId };
  if (roll < 9) return { t: 'release', holdId, reason: pick(rng, ['payment_failed', 'compensated', 'cancelled'] as const) };
  const v = run.actor.view;
  // Sometimes below held + sold, which must be refused.
  return { t: 'setOnHand', onHand: Math.max(0, v.held + v.sold + intBetween(rng, -3, 12)) };
}

async function simulate(run: Run, steps: number): Promise<void> {
  const rng = seededRng(run.seed);
  ask(run, { t: 'setOnHand', onHand: 12 });
  for (let i = 0; i < steps; i++) {
    const roll = intBelow(rng, 10);
    if (roll < 5) {
      const burst = intBetween(rng, 1, 4);
      for (let b = 0; b < burst; b++) ask(run, randomCommand(rng, run));
    } else if (roll < 7) {
      run.journal.commit(intBetween(rng, 1, Math.max(1, run.journal.uncommitted)));
    } else if (roll < 8) {
      run.clock.advance(intBelow(rng, Math.round(ttlMs * 0.7)));
    }
    await turns(intBetween(rng, 0, 3));
    checkInvariants(run);
  }
}

/** Ends every hold (release what is left, let the rest expire) and commits everything; bounded. */
async function drain(run: Run): Promise<void> {
  for (let round = 0; round < 200; round++) {
    if (round % 20 === 0) {
      for (let i = 0; i < holdPool; i++) ask(run, { t: 'release', holdId: asHoldId(`h${i}`), reason: 'compensated' });
      run.clock.advance(2 * ttlMs);
    }
    run.journal.commit(run.journal.uncommitted);
    await turns(2);
    checkInvariants(run);
    if (run.outstanding.size === 0 && run.journal.uncommitted === 0 && run.actor.view.pendingWrites === 0 && run.actor.queued() === 0) return;
  }
  throw new Error(`seed ${run.seed}: did not drain (${run.outstanding.size} replies outstanding, ${run.journal.uncommitted} appends uncommitted)`);
}

describe('the inventory actor in a seeded simulation', () => {
  let current: Run | null = null;
  afterEach(() => {
    current?.actor.stop();
    current?.system.stop();
    current = null;
  });

  for (const seed of seedsToRun(Array.from({ length: 20 }, (_, i) => 1_000 + i * 7_919))) {
    it(`keeps stock conserved, ends every hold once and never replies before its commit (seed ${seed})`, async () => {
      const run = (current = startRun(seed));
      await simulate(run, 400);
      await drain(run);
      const v = run.actor.view;
      expect(v.held).toBe(0);
      // Recovery equivalence: replaying the committed journal gives the counts the actor reports.
      const replayed = emptyInventory(asSku('SIM'));
      for (const e of run.journal.committedEvents()) applyInventoryEvent(replayed, e);
      expect(countsOf(replayed)).toEqual({ sku: 'SIM', onHand: v.onHand, available: v.available, held: v.held, sold: v.sold });
      expect(replayed.holds.size).toBe(0);
      expect(run.live.size, 'every reserved hold ended').toBe(0);
      // A snapshot claims to be the state after the journal row with its seq: with a turn's events coalesced into
      // one row, it must equal the replay of rows 1..seq exactly (recovery starts from it and applies the rest).
      expect(run.snapshots.length).toBeGreaterThan(3);
      for (const { seq, snap } of run.snapshots) {
        const upTo = emptyInventory(asSku('SIM'));
        for (const row of run.journal.appended.slice(0, seq)) for (const e of row.events) applyInventoryEvent(upTo, e);
        const restored = inventoryFromSnapshot(snap);
        expect({ ...countsOf(restored), holds: [...restored.holds.keys()].sort() }, `snapshot at seq ${seq}`).toEqual({ ...countsOf(upTo), holds: [...upTo.holds.keys()].sort() });
      }
    });
  }
});

describe('the inventory actor', () => {
  let current: Run | null = null;
  afterEach(() => {
    current?.actor.stop();
    current?.system.stop();
    current = null;
  });

  it('answers a reservation only after its journal write commits', async () => {
    const run = (current = startRun(1));
    const stocked = run.actor.ask({ t: 'setOnHand', onHand: 5 });
    await turns(3);
    run.journal.commit(1);
    expect(await stocked).toMatchObject({ ok: true, onHand: 5 });
    let answered = false;
    const reserved = run.actor.ask({ t: 'reserve', holdId: asHoldId('h1'), qty: 2, ttlMs, checkoutId: 'co_1' }).then((r) => ((answered = true), r));
    await turns(5);
    expect(answered).toBe(false);
    expect(run.actor.view).toMatchObject({ available: 3, held: 2, pendingWrites: 1 });
    run.journal.commit(1);
    expect(await reserved).toMatchObject({ ok: true, available: 3, held: 2 });
  });

  it('refuses new commands with OVERLOADED, applying nothing, while the journal is backlogged', async () => {
    const run = (current = startRun(11));
    const stocked = run.actor.ask({ t: 'setOnHand', onHand: 5 });
    await turns(3);
    run.journal.commit(1);
    await stocked;
    run.journal.full = true;
    const refused = await run.actor.ask({ t: 'reserve', holdId: asHoldId('h1'), qty: 2, ttlMs, checkoutId: 'co_1' });
    expect(refused).toMatchObject({ ok: false, code: 'OVERLOADED' });
    expect(run.actor.view).toMatchObject({ available: 5, held: 0, pendingWrites: 0 });
    expect(run.journal.appended).toHaveLength(1);
    run.journal.full = false;
    const reserved = run.actor.ask({ t: 'reserve', holdId: asHoldId('h1'), qty: 2, ttlMs, checkoutId: 'co_1' });
    await turns(3);
    run.journal.commit(1);
    expect(await reserved).toMatchObject({ ok: true, available: 3, held: 2 });
  });

  it('holds back a sold-out answer while a write it depends on is in flight', async () => {
    const run = (current = startRun(2));
    run.journal.commit(0);
    const stocked = run.actor.ask({ t: 'setOnHand', onHand: 1 });
    await turns(3);
    run.journal.commit(1);
    await stocked;
    const first = run.actor.ask({ t: 'reserve', holdId: asHoldId('h1'), qty: 1, ttlMs, checkoutId: 'co_1' });
    let secondAnswered = false;
    const second = run.actor.ask({ t: 'reserve', holdId: asHoldId('h2'), qty: 1, ttlMs, checkoutId: 'co_2' }).then((r) => ((secondAnswered = true), r));
    await turns(5);
    expect(secondAnswered).toBe(false);
    run.journal.commit(1);
    expect(await first).toMatchObject({ ok: true });
    expect(await second).toMatchObject({ ok: false, code: 'OUT_OF_STOCK' });
  });

  it('pipelines: the commands of one turn share one journal row, later turns add rows while it is in flight, and no reply precedes its row', async () => {
    const run = (current = startRun(3));
    const stocked = run.actor.ask({ t: 'setOnHand', onHand: 100 });
    await turns(3);
    run.journal.commit(1);
    await stocked;
    let answered = 0;
    const ask = (i: number) => run.actor.ask({ t: 'reserve', holdId: asHoldId(`h${i}`), qty: 1, ttlMs, checkoutId: `co_${i}` }).then((r) => (answered++, r));
    const first = Array.from({ length: 50 }, (_, i) => ask(i));
    await turns(10);
    const second = Array.from({ length: 30 }, (_, i) => ask(50 + i));
    await turns(10);
    expect(run.journal.uncommitted).toBe(2);
    expect(run.journal.appended.slice(-2).map((row) => row.events.length)).toEqual([50, 30]);
    expect(run.actor.view.pendingWrites).toBe(2);
    expect(answered).toBe(0);
    run.journal.commit(1);
    for (const r of await Promise.all(first)) expect(r.ok).toBe(true);
    await turns(5);
    expect(answered).toBe(50);
    run.journal.commit(1);
    for (const r of await Promise.all(second)) expect(r.ok).toBe(true);
    expect(run.actor.view).toMatchObject({ available: 20, held: 80, pendingWrites: 0 });
  });

  it('releases an active hold when the clock passes its deadline, and never a pinned one', async () => {
    const run = (current = startRun(4));
    const setup = [
      run.actor.ask({ t: 'setOnHand', onHand: 10 }),
      run.actor.ask({ t: 'reserve', holdId: asHoldId('h1'), qty: 2, ttlMs, checkoutId: 'co_1' }),
      run.actor.ask({ t: 'reserve', holdId: asHoldId('h2'), qty: 3, ttlMs, checkoutId: 'co_2' }),
      run.actor.ask({ t: 'pin', holdId: asHoldId('h2') }),
    ];
    await turns(6);
    run.journal.commit(run.journal.uncommitted);
    await Promise.all(setup);
    run.clock.advance(ttlMs);
    await turns(3);
    expect(run.journal.appended.at(-1)?.events).toEqual([{ t: 'released', holdId: 'h1', reason: 'expired' }]);
    run.journal.commit(run.journal.uncommitted);
    await turns(3);
    expect(run.actor.view).toMatchObject({ available: 7, held: 3, sold: 0 });
  });

  it('re-arms expiry timers for active holds it recovers', async () => {
    const clock = new SimulatedClock();
    const state = inventoryFromSnapshot({
      sku: 'REC',
      onHand: 10,
      held: 5,
      sold: 0,
      holds: [
        ['a', 2, clock.now() + 500, 'active', 'co_a'],
        ['p', 3, clock.now() - 500, 'pinned', 'co_p'],
      ],
      returnedOrders: [],
    } satisfies InventorySnapshot);
    const journal = new ManualJournal();
    const system = startActorSystem(`inv-rec-${Math.random().toString(36).slice(2)}`);
    const actor = new InventoryActor(
      { system, journal, clock, partition: 0, entity: 'sku:REC', snapshotEveryEvents: 1_000, onSnapshot: () => {}, onJournalFailure: () => {}, onBug: (e) => { throw e; } },
      state,
    );
    try {
      clock.advance(500);
      await turns(3);
      expect(journal.appended.map((a) => a.events)).toEqual([[{ t: 'released', holdId: 'a', reason: 'expired' }]]);
      journal.commit(1);
      expect(actor.view).toMatchObject({ available: 7, held: 3 });
    } finally {
      actor.stop();
      system.stop();
    }
  });

  it('answers NOT_READY, never success, when its journal write fails', async () => {
    const run = (current = startRun(5));
    const stocked = run.actor.ask({ t: 'setOnHand', onHand: 5 });
    await turns(3);
    run.journal.commit(1);
    await stocked;
    const reserved = run.actor.ask({ t: 'reserve', holdId: asHoldId('h1'), qty: 1, ttlMs, checkoutId: 'co_1' });
    const read = run.actor.ask({ t: 'setOnHand', onHand: 5 });
    await turns(4);
    run.journal.fail(1);
    expect(await reserved).toMatchObject({ ok: false, code: 'NOT_READY' });
    expect(await read).toMatchObject({ ok: false, code: 'NOT_READY' });
  });
});
