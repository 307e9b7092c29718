import { createHash } from 'node:crypto';
import type { PaymentProvider } from '../../src/payments/provider.js';
import { intBetween, pick, seededRng, type Rng } from '../support/seeded-random.js';
import { openHoldsReport, SimChecker, SimViolation } from './sim-check.js';
import { makeClients, send, type Answer, type SimClient } from './sim-clients.js';
import { drawRates, SimFaults, type FaultKind } from './sim-faults.js';
import { SimWorld } from './sim-world.js';

/**
 * One seeded run of the whole checkout: a cluster of simulated nodes takes `checkouts` concurrent checkouts while
 * faults are injected, then drains (faults off, every node back, every client answered, every hold's TTL passed)
 * and is checked once more. A run is a pure function of its seed: no real timers, no Math.random, no Date.now on
 * its path; every choice comes from one PRNG in the order the single-threaded simulation asks for it.
 */
export interface RunOptions {
  checkouts?: number;
  /** A fault planted to prove the checker catches it (the checker's own test); never in a normal run. */
  plant?: 'double-authorize' | 'drop-orders';
}

export interface RunResult {
  seed: number;
  ok: boolean;
  error?: string;
  counts: Map<FaultKind, number>;
  steps: number;
  confirmed: number;
  /** A digest of what the run left in the database and at the provider: equal digests, equal runs (replay check). */
  digest: string;
}

const stepsMaxPerCheckout = 12;
const drainRoundsMax = 400;

export async function runSeed(seed: number, opts: RunOptions = {}): Promise<RunResult> {
  const rng = seededRng(seed);
  const faults = new SimFaults(rng, drawRates(rng));
  const world = new SimWorld(
    {
      seed, nodes: 3, partitions: 6, skus: intBetween(rng, 2, 6), stock: intBetween(rng, 10, 80), holdTtlMs: 120_000,
      ...(opts.plant === 'double-authorize' ? { wrapPayments: doubleAuthorizing } : {}),
    },
    rng,
    faults,
  );
  world.db.dropOrders = opts.plant === 'drop-orders';
  const checker = new SimChecker(world);
  const clients = makeClients(rng, faults, seed, opts.checkouts ?? 200, world.skus);
  let steps = 0;
  try {
    // The cluster starts before the storm: no fault while it claims its partitions and stocks its SKUs.
    const rates = faults.rates;
    faults.quiet();
    await world.start();
    faults.rates = rates;
    steps = await drive(world, clients, checker);
    await drain(world, clients, checker);
    await checker.final(clients);
    return { seed, ok: true, counts: faults.counts, steps, confirmed: world.db.orderLog.filter((o) => o.status === 'confirmed').length, digest: digestOf(world) };
  } catch (err) {
    let error = err instanceof SimViolation ? err.message : `${(err as Error).stack ?? String(err)}`;
    if (process.env['SIM_DEBUG']) error += `\n${openHoldsReport(world)}\n${JSON.stringify([...world.db.owners])}`;
    return { seed, ok: false, error, counts: faults.counts, steps, confirmed: 0, digest: digestOf(world) };
  } finally {
    for (const n of world.nodes) if (n.alive) n.crash();
  }
}

function digestOf(world: SimWorld): string {
  const h = createHash('sha256');
  h.update(`${world.clock.now()}|${world.provider.authorizations()}|${world.provider.voids()}`);
  for (const o of world.db.orderLog) h.update(`${o.orderId}:${o.status}:${o.payment.authId};`);
  for (const r of world.db.journalRows()) h.update(`${r.partition}:${r.seq}:${r.epoch}:${r.entity}:`).update(r.payload);
  return h.digest('hex').slice(0, 16);
}

async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise<void>((r) => setImmediate(r));
}

/** The storm: clients send, retry, duplicate and replay while the clock runs and nodes crash and move. */
async function drive(world: SimWorld, clients: SimClient[], checker: SimChecker): Promise<number> {
  const { rng, faults } = world;
  const onAnswer = checker.onAnswer.bind(checker);
  const unsent = [...clients].reverse();
  const stepsMax = clients.length * stepsMaxPerCheckout;
  let step = 0;
  for (; step < stepsMax && (unsent.length > 0 || clients.some((c) => c.final === null)); step++) {
    const r = rng();
    if (r < 0.5) sendOne(world, unsent, clients, onAnswer);
    else if (r < 0.75) world.clock.advance(intBetween(rng, 1, 1_500));
    else if (r < 0.77) for (const n of world.live()) void n.snapshots.flush(); // the node's snapshot chore
    else if (r < 0.8) replayOne(world, clients, onAnswer);
    if (faults.chance(faults.rates.crash)) crashOne(world, rng);
    if (faults.chance(faults.rates.crash)) restartOne(world, rng);
    if (faults.chance(faults.rates.move)) moveOne(world, rng);
    await turns(intBetween(rng, 1, 3));
    checker.step();
  }
  return step;
}

/** A new client sends, or one whose last answer asked it to retry (or whose connection reset) tries again. */
function sendOne(world: SimWorld, unsent: SimClient[], clients: SimClient[], onAnswer: (c: SimClient, a: Answer) => void): void {
  const { rng, faults } = world;
  const now = world.clock.now();
  const retrying = clients.filter((c) => c.final === null && c.inFlight === 0 && (c.answers.length > 0 || c.lost > 0) && c.retryAtMs <= now);
  const c = retrying.length > 0 && (unsent.length === 0 || rng() < 0.3) ? pick(rng, retrying) : unsent.pop();
  if (!c) return;
  if (c.answers.length > 0 || c.lost > 0) faults.count('clientRetry');
  send(world, c, onAnswer);
  if (faults.chance(0.08, 'clientDuplicate')) send(world, c, onAnswer);
}

function replayOne(world: SimWorld, clients: SimClient[], onAnswer: (c: SimClient, a: Answer) => void): void {
  const done = clients.filter((c) => c.final !== null && c.inFlight === 0);
  if (done.length === 0) return;
  world.faults.count('clientReplay');
  send(world, pick(world.rng, done), onAnswer);
}

/** A node dies (kill -9); half the time a survivor takes its partitions at once, otherwise it restarts later. */
function crashOne(world: SimWorld, rng: Rng): void {
  const live = world.live();
  if (live.length < 2) return;
  const victim = pick(rng, live);
  world.crash(victim);
  if (rng() < 0.5) world.failover(victim.id, pick(rng, world.live()));
}

function restartOne(world: SimWorld, rng: Rng): void {
  const dead = world.nodes.filter((n) => !n.alive);
  if (dead.length > 0) world.restart(pick(rng, dead).id);
}

/** A partition moves: a graceful release and acquire, or a takeover while its owner still runs. */
function moveOne(world: SimWorld, rng: Rng): void {
  const live = world.live();
  const p = intBetween(rng, 0, world.o.partitions - 1);
  const from = live.find((n) => n.host.owns(p));
  const others = live.filter((n) => n !== from);
  if (!from || others.length === 0) return;
  const to = pick(rng, others);
  if (rng() < 0.7) world.move(p, from, to);
  else world.takeover(p, from, to);
}

/** Faults off; every node back; every partition served; every client answered; then every hold's TTL passes. */
async function drain(world: SimWorld, clients: SimClient[], checker: SimChecker): Promise<void> {
  world.faults.quiet();
  await settle(world, clients, checker);
  for (let t = 0; t <= world.o.holdTtlMs + 10_000; t += 5_000) {
    world.clock.advance(5_000);
    await turns(4);
  }
  // Served again, as the coordinator would: a takeover whose new owner claimed the partition and then failed to load
  // it leaves the old owner serving it, unaware, until one of its writes is fenced; when that write is a hold's expiry
  // in the wait above, the old owner drops the partition and nobody serves it, and its holds cannot expire until a
  // node loads it again (seed 5434). A real cluster does not stay that way for ever; the check is of what a served
  // partition does, so the partitions are served again and their overdue holds given time to expire.
  await settle(world, clients, checker);
  world.clock.advance(5_000);
  await turns(4);
  // A batch may be waiting out a retry backoff on the simulated clock: the clock keeps moving while it flushes.
  await whileClockRuns(world, Promise.all(world.live().map((n) => n.journal.flush().then(() => n.snapshots.flush()))));
  await turns(4);
}

/** Rounds of: dead nodes restart, orphan partitions fail over, unanswered clients retry; until all is quiet. */
async function settle(world: SimWorld, clients: SimClient[], checker: SimChecker): Promise<void> {
  const onAnswer = checker.onAnswer.bind(checker);
  for (let round = 0; ; round++) {
    for (const n of world.nodes) if (!n.alive) world.restart(n.id);
    const orphans = world.orphanPartitions();
    if (orphans.length > 0) world.failover('', pick(world.rng, world.live()), orphans);
    for (const c of clients) if (c.final === null && c.inFlight === 0) send(world, c, onAnswer);
    world.clock.advance(1_000);
    await turns(4);
    checker.step();
    if (settled(world, clients)) break;
    if (round >= drainRoundsMax) throw new SimViolation(`the run did not settle: ${unsettled(world, clients)}`);
  }
}

async function whileClockRuns(world: SimWorld, p: Promise<unknown>): Promise<void> {
  let done = false;
  void p.finally(() => (done = true));
  for (let i = 0; !done; i++) {
    if (i > drainRoundsMax) throw new SimViolation('the journal did not flush');
    world.clock.advance(100);
    await turns(2);
  }
}

function settled(world: SimWorld, clients: SimClient[]): boolean {
  if (clients.some((c) => c.final === null || c.inFlight > 0) || world.busy() || world.orphanPartitions().length > 0) return false;
  return world.live().every((n) => n.host.servedPartitions().every((p) => (n.host.checkoutActor(p)?.running() ?? 0) === 0));
}

function unsettled(world: SimWorld, clients: SimClient[]): string {
  const waiting = clients.filter((c) => c.final === null || c.inFlight > 0).map((c) => c.key);
  const running = world.live().flatMap((n) => n.host.servedPartitions().map((p) => `${n.id}/${p}:${n.host.checkoutActor(p)?.running() ?? 0}`));
  const detail = process.env['SIM_DEBUG']
    ? clients.filter((c) => c.final === null).map((c) => {
        const actors = world.live().flatMap((n) => n.host.servedPartitions().map((p) => n.host.checkoutActor(p) as unknown as { entries: Map<string, { t: string }>; committing: number; sagaKeys: Set<string> }));
        const states = actors.map((a) => `${a.entries.get(c.key)?.t ?? '-'}/${a.sagaKeys.has(c.key)}/${a.committing}`);
        return `${c.key} answers ${c.answers.map((a) => a.statusCode).join(',')} lost ${c.lost} actors ${states.join(' ')}`;
      })
    : [];
  return JSON.stringify({ waiting: waiting.slice(0, 5), waitingCount: waiting.length, running, busy: world.busy(), detail });
}

/** Planted: a provider that does not honour idempotency keys: every authorization is made twice. */
function doubleAuthorizing(p: PaymentProvider): PaymentProvider {
  return Object.assign(Object.create(p) as PaymentProvider, {
    authorize: async (req: Parameters<PaymentProvider['authorize']>[0]) => {
      await p.authorize({ ...req, idempotencyKey: `${req.idempotencyKey}#again` }).catch(() => undefined);
      return p.authorize(req);
    },
  });
}
