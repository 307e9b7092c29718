import pino from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { startActorSystem, type ActorSystem } from '../../../src/actors/actor-system.js';
import { BloomFilter } from '../../../src/actors/bloom-filter.js';
import { CheckoutActor, type CheckoutReply, type StoredResponse } from '../../../src/actors/checkout-actor.js';
import type { CheckoutEvent } from '../../../src/actors/checkout-types.js';
import { seededIds } from '../../../src/actors/id-source.js';
import { InventoryActor, type EventJournal, type InventoryHandle } from '../../../src/actors/inventory-actor.js';
import { PromoLedger } from '../../../src/actors/promo-ledger.js';
import { SimulatedClock } from '../../../src/clock.js';
import type { CheckoutPlan, CheckoutRequest } from '../../../src/domain/checkout.js';
import type { KeyEntry, KeyMessage } from '../../../src/domain/checkout-key.js';
import { renderCheckoutResult, retentionOf } from '../../../src/domain/checkout-result.js';
import { asSku } from '../../../src/domain/ids.js';
import { emptyInventory } from '../../../src/domain/inventory.js';
import { defaultShippingTable } from '../../../src/domain/shipping.js';
import { defaultTaxRates } from '../../../src/domain/tax.js';
import { fail } from '../../../src/errors.js';
import type { AuthorizeRequest } from '../../../src/payments/provider.js';
import { SimulatedPaymentProvider } from '../../../src/payments/simulated-provider.js';
import type { NewOrder } from '../../../src/persistence/order-writer.js';
import { intBetween, intBelow, pick, seededRng, seedsToRun, type Rng } from '../../support/seeded-random.js';

/**
 * A seeded simulation of one partition's checkout actor: the real actor, its real key table and saga, real SKU
 * actors, the simulated provider, and an injected clock, against in-memory stores whose lookups answer when the
 * simulation says so. Clients send duplicates, other bodies and replays while lookups, sagas, failures and retries
 * interleave; the retry backoff runs only when the simulated clock passes it. Each run checks the key table's
 * promises (one answer per request, one checkout per key, replays equal to the first answer, exact stock) and
 * records which transitions of the table it went through; together the seeds must go through every transition an
 * actor can reach. Replay a failing seed with BO_SEED=<n>.
 */
const transitions = vi.hoisted(() => new Set<string>());

vi.mock('../../../src/domain/checkout-key.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../../src/domain/checkout-key.js')>();
  return {
    ...real,
    decideKey: <S extends { fingerprint: string }>(entry: KeyEntry<S> | undefined, msg: KeyMessage<S>) => {
      const d = real.decideKey(entry, msg);
      const detail = msg.t === 'submit' && entry === undefined ? (msg.seenBefore ? '(seen)' : '(new)') : msg.t === 'loaded' && entry?.t === 'loading' ? `(${msg.record === null ? 'none' : msg.record.response === null ? 'unanswered' : 'answered'})` : '';
      transitions.add(`${entry?.t ?? 'none'} -${msg.t}${detail}→ ${d.entry?.t ?? 'none'}`);
      return d;
    },
  };
});

/** Every transition an actor reaches (the pure table's own test covers the rest). */
const reachable = [
  'none -submit(new)→ running',
  'none -submit(seen)→ loading',
  'loading -submit→ loading',
  'loading -loaded(answered)→ done',
  'loading -loaded(unanswered)→ none',
  'loading -loaded(none)→ running',
  'running -submit→ running',
  'done -submit→ done',
  'none -resume→ running',
  'running -resume→ running',
  'done -resume→ done',
  'none -resume→ none',
  'loading -resume→ loading',
  'running -finished→ done',
  'running -finished→ none',
  'none -finished→ done',
];

type Scenario = 'ok' | 'declined' | 'providerError' | 'unknown' | 'orderWriteFails' | 'commitFails' | 'soldOut';
const scenarios: Scenario[] = ['ok', 'declined', 'providerError', 'unknown', 'orderWriteFails', 'commitFails', 'soldOut'];

const address = { name: 'Ada', line1: '1 Main St', city: 'New York', postalCode: '10001', country: 'US', region: 'NY' };
const products = new Map(['A', 'Z'].map((s) => [s, { sku: asSku(s), name: s, priceMinor: 1_000, currency: 'USD', weightGrams: 100, taxCategory: 'standard' }]));
const onHandA = 1_000;

class MemoryJournal implements EventJournal {
  seq = 0;
  readonly plans: CheckoutPlan[] = [];
  async append(_partition: number, _entity: string, event: unknown): Promise<number> {
    const ev = event as CheckoutEvent;
    if (!Array.isArray(event) && ev.t === 'started') this.plans.push(ev.plan);
    return ++this.seq;
  }
}

interface Sent {
  key: string;
  fingerprint: string;
  reply: CheckoutReply | null;
}

/** One simulated partition; `scenarioOf` scripts what happens to each key's checkout. */
function world(system: ActorSystem, rng: Rng, seed: number) {
  const clock = new SimulatedClock();
  const journal = new MemoryJournal();
  const stock = new Map<string, InventoryActor>();
  for (const [sku, onHand] of [['A', onHandA], ['Z', 0]] as const) {
    const state = emptyInventory(asSku(sku));
    state.onHand = onHand;
    stock.set(sku, new InventoryActor({ system, journal, clock, partition: 0, entity: `sku:${sku}`, snapshotEveryEvents: 1e9, onSnapshot: () => {}, onJournalFailure: () => {}, onBug: (e) => { throw e; } }, state));
  }
  const keys = Array.from({ length: 8 }, (_, i) => `k${i}`);
  const scenarioOf = new Map<string, Scenario>(keys.map((k) => [k, pick(rng, scenarios)]));
  for (const k of ['stored-k', 'unanswered-k', 'ghost-k', 'recovered-k']) scenarioOf.set(k, 'ok');
  const records = new Map<string, StoredResponse>([
    ['stored-k', { fingerprint: 'fpA', statusCode: 201, body: { orderId: 'ord_stored', status: 'confirmed' } }],
    ['unanswered-k', { fingerprint: 'fpA', statusCode: null, body: null }],
  ]);
  const knownKeys = new BloomFilter(16);
  for (const k of ['stored-k', 'unanswered-k', 'ghost-k']) knownKeys.add(k);
  const w = {
    clock, journal, stock, keys: [...keys, 'stored-k', 'unanswered-k', 'ghost-k', 'recovered-k'], scenarioOf, records,
    orders: [] as NewOrder[],
    lookups: [] as { key: string; resolve: (r: StoredResponse | null) => void; reject: (e: Error) => void }[],
    failedOnce: new Set<string>(),
    actor: undefined as unknown as CheckoutActor,
  };
  const keyOfCheckout = (checkoutId: string) => journal.plans.find((p) => p.checkoutId === checkoutId)?.key ?? 'recovered-k';
  const once = (key: string, what: Scenario) => w.scenarioOf.get(key) === what && !w.failedOnce.has(`${what}:${key}`) && w.failedOnce.add(`${what}:${key}`);
  const inventory = (sku: string): InventoryHandle => ({
    ask: async (cmd) => {
      if (cmd.t === 'commit' && once(keyOfCheckout(cmd.holdId.split('/')[0]!), 'commitFails')) return fail('NOT_READY');
      return stock.get(sku)!.ask(cmd);
    },
  });
  const provider = new SimulatedPaymentProvider({
    beforeAuthorize: (req: AuthorizeRequest) => {
      const scenario = w.scenarioOf.get(keyOfCheckout(req.metadata['checkoutId']!));
      return scenario === 'providerError' ? 'error' : scenario === 'unknown' ? 'timeout-unprocessed' : undefined;
    },
  });
  const promos = new PromoLedger(async () => ({ total: 0, byCustomer: 0 }));
  w.actor = new CheckoutActor({
    system, partition: 0, journal, knownKeys, clock, doneEntriesMax: 3, log: pino({ level: 'silent' }), onJournalFailure: () => {}, onTombstone: () => {},
    lookup: (key) => new Promise((resolve, reject) => w.lookups.push({ key, resolve, reject })),
    prepare: {
      product: (s) => products.get(s), promotion: async () => undefined, cart: async () => null, inventoryView: (s) => stock.get(s)?.view,
      promos, taxRates: defaultTaxRates, shippingTable: defaultShippingTable, nowMs: () => clock.now(), ids: seededIds(seed),
    },
    saga: {
      inventory, payments: provider, promos, holdTtlMs: 24 * 60 * 60 * 1000, log: pino({ level: 'silent' }), clock,
      orders: {
        write: async (o) => {
          if (once(o.idempotencyKey, 'orderWriteFails')) throw new Error('the database went away');
          if (w.orders.some((x) => x.orderId === o.orderId)) return 'existed' as const;
          w.orders.push(o);
          records.set(o.idempotencyKey, { fingerprint: o.fingerprint, statusCode: o.response.statusCode, body: o.response.body });
          return 'inserted' as const;
        },
      },
      responses: { saveResponse: async (r) => void records.set(r.key, { fingerprint: r.fingerprint, statusCode: r.statusCode, body: r.body }) },
      carts: { markCheckedOut: async () => {} },
      storedResponse: async (key) => {
        const r = records.get(key);
        return r && r.statusCode !== null ? { statusCode: r.statusCode, body: r.body } : null;
      },
    },
  });
  return { ...w, provider };
}

function requestFor(scenario: Scenario): CheckoutRequest {
  return {
    cartId: null, items: [{ sku: scenario === 'soldOut' ? 'Z' : 'A', qty: 1 }], paymentMethod: scenario === 'declined' ? 'pm_card_chargeDeclined' : 'pm_card_visa',
    address, shippingMethod: 'standard', customerId: null, promoCode: null,
  };
}

/** Lets the actors and the saga's awaits run: a few macrotask turns (actors drain on setImmediate). */
async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
}

async function simulate(seed: number): Promise<void> {
  const system = startActorSystem(`checkout-sim-${seed}`);
  try {
    await simulateIn(system, seed);
  } finally {
    system.stop();
  }
}

async function simulateIn(system: ActorSystem, seed: number): Promise<void> {
  const rng = seededRng(seed);
  const w = world(system, rng, seed);
  const sent: Sent[] = [];
  const send = (key: string, fingerprint: string) => {
    const s: Sent = { key, fingerprint, reply: null };
    sent.push(s);
    const request = requestFor(w.scenarioOf.get(key)!);
    // As the node does: the synchronous answer from memory first, the mailbox otherwise.
    const fast = w.actor.answerFromMemory(key, fingerprint, request);
    if (fast) s.reply = fast;
    else void w.actor.submit(key, fingerprint, request).then((r) => (s.reply = r));
  };
  // A saga a restart left unfinished: it runs again from its plan.
  w.actor.resume(await recoveredPlan(w), null, 1);
  for (let step = 0; step < 160; step++) {
    const r = rng();
    if (r < 0.55) send(pick(rng, w.keys), rng() < 0.1 ? 'fpB' : 'fpA');
    else if (r < 0.75 && w.lookups.length > 0) {
      const l = w.lookups.splice(intBelow(rng, w.lookups.length), 1)[0]!;
      if (rng() < 0.15) l.reject(new Error('lookup failed'));
      else l.resolve(w.records.get(l.key) ?? null);
    } else if (r < 0.9) w.clock.advance(intBetween(rng, 0, 400));
    await turns(intBetween(rng, 0, 3));
  }
  // Drain: every lookup answers, the clock runs every backoff out, until every request has its answer.
  for (let round = 0; sent.some((s) => s.reply === null) || w.actor.running() > 0 || w.lookups.length > 0; round++) {
    if (round > 500) throw new Error(`seed ${seed}: the simulation did not settle: ${JSON.stringify({ unanswered: sent.filter((s) => s.reply === null).map((s) => `${s.key}/${w.scenarioOf.get(s.key)}`), running: w.actor.running(), lookups: w.lookups.length, entries: [...(w.actor as unknown as { entries: Map<string, { t: string }> }).entries].filter(([, e]) => e.t !== "done").map(([k, e]) => `${k}:${e.t}:${w.scenarioOf.get(k)}`), committing: (w.actor as unknown as { committing: number }).committing })}`);
    for (const l of w.lookups.splice(0)) l.resolve(w.records.get(l.key) ?? null);
    w.clock.advance(1_000);
    await turns(3);
  }
  check(seed, w, sent);
}

async function recoveredPlan(w: ReturnType<typeof world>): Promise<CheckoutPlan> {
  const { prepareCheckout } = await import('../../../src/actors/checkout-prepare.js');
  const prepared = await prepareCheckout(requestFor('ok'), 'recovered-k', 'fpA', {
    product: (s) => products.get(s), promotion: async () => undefined, cart: async () => null, inventoryView: (s) => w.stock.get(s)?.view,
    promos: new PromoLedger(async () => ({ total: 0, byCustomer: 0 })), taxRates: defaultTaxRates, shippingTable: defaultShippingTable, nowMs: () => w.clock.now(), ids: seededIds(0),
  });
  if (!('plan' in prepared)) throw new Error('the recovered plan did not price');
  return prepared.plan;
}

function check(seed: number, w: ReturnType<typeof world>, sent: Sent[]): void {
  const at = `seed ${seed}`;
  const render = (s: Sent) => JSON.stringify(renderCheckoutResult(s.reply!.result));
  for (const key of w.keys) {
    const mine = sent.filter((s) => s.key === key);
    const started = w.journal.plans.filter((p) => p.key === key);
    const forgotten = mine.filter((s) => !s.reply!.replayed && s.reply!.result.t === 'rejected' && retentionOf(s.reply!.result) === 'forget').length;
    // One checkout per key at a time: a key runs again only after its last run's outcome was forgotten.
    expect(started.length, `${at}: runs of ${key}`).toBeLessThanOrEqual(forgotten + 1);
    // Every answer that stands for the key (not "in use", "reused" or "retry") is the same answer, replays included.
    const standing = mine.filter((s) => s.reply!.result.t !== 'refused' && !(s.reply!.result.t === 'rejected' && s.reply!.result.retention === 'forget'));
    expect(new Set(standing.map(render)).size, `${at}: answers of ${key}`).toBeLessThanOrEqual(1);
    // A replay goes only to the body the key was first used with: the run's or the stored record's; for a key only
    // ever answered from memory (never run nor stored, so forgotten once evicted), the body of the answer it replays.
    const owner = started[0]?.fingerprint ?? w.records.get(key)?.fingerprint;
    mine.forEach((s, i) => {
      if (!s.reply!.replayed) return;
      const replayed = owner ?? mine.slice(0, i).reverse().find((p) => !p.reply!.replayed && standing.includes(p))?.fingerprint;
      expect(s.fingerprint, `${at}: replay of ${key}`).toBe(replayed);
    });
    expect(w.orders.filter((o) => o.idempotencyKey === key).length, `${at}: orders of ${key}`).toBeLessThanOrEqual(1);
  }
  const confirmed = w.orders.filter((o) => o.status === 'confirmed');
  const pendingOrders = w.orders.filter((o) => o.status === 'pending');
  expect(w.provider.authorizations(), `${at}: authorizations`).toBe(confirmed.length);
  const a = w.stock.get('A')!.view;
  expect({ sold: a.sold, held: a.held, conserved: a.available + a.held + a.sold }, `${at}: stock of A`).toEqual({ sold: confirmed.length, held: pendingOrders.length, conserved: onHandA });
  expect(w.actor.running(), `${at}: still running`).toBe(0);
}

describe('the checkout actor under a seeded simulation with an injected clock', () => {
  it('keeps one answer and one checkout per key through duplicates, lookups, failures and retries, and reaches every transition', async () => {
    for (const seed of seedsToRun(Array.from({ length: 64 }, (_, i) => i + 1))) await simulate(seed);
    if (process.env['BO_SEED'] === undefined) expect([...transitions].sort()).toEqual([...reachable].sort());
  });
});
