import { context, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { startActorSystem, type ActorSystem } from '../../../src/actors/actor-system.js';
import { BloomFilter } from '../../../src/actors/bloom-filter.js';
import { CheckoutActor, type CheckoutReply } from '../../../src/actors/checkout-actor.js';
import { actorLimits } from '../../../src/config/limits.js';
import { renderCheckoutResult, type CheckoutResponse } from '../../../src/domain/checkout-result.js';
import { seededIds } from '../../../src/actors/id-source.js';
import type { CheckoutPlan, CheckoutRequest } from '../../../src/domain/checkout.js';
import { SimulatedClock } from '../../../src/clock.js';
import { InventoryActor, type EventJournal, type InventoryHandle } from '../../../src/actors/inventory-actor.js';
import { PromoLedger } from '../../../src/actors/promo-ledger.js';
import { asSku } from '../../../src/domain/ids.js';
import { emptyInventory, type InventoryCommand, type InventoryReply } from '../../../src/domain/inventory.js';
import { defaultShippingTable } from '../../../src/domain/shipping.js';
import { defaultTaxRates } from '../../../src/domain/tax.js';
import { fail } from '../../../src/errors.js';
import { SimulatedPaymentProvider } from '../../../src/payments/simulated-provider.js';
import { FencedError } from '../../../src/persistence/journal.js';
import { AlsContextManager } from '../../../src/telemetry/als-context-manager.js';
import type { Tracing } from '../../../src/telemetry/tracing.js';
import type { NewOrder } from '../../../src/persistence/order-writer.js';

/**
 * The checkout actor around its saga: when the client is answered, what counts as running (a partition move waits
 * for it), when the saga is tombstoned, and what a retry of the key sees meanwhile. A gate holds every `commit` sent
 * to the SKU, so the window between the 201 and the holds' commit can be observed.
 */
class MemoryJournal implements EventJournal {
  seq = 0;
  readonly events: unknown[] = [];
  /** An append this returns an error for is refused (a fenced write, say) and stored nowhere. */
  refuse: (event: unknown) => Error | undefined = () => undefined;
  async append(_partition: number, _entity: string, event: unknown): Promise<number> {
    const refused = this.refuse(event);
    if (refused) throw refused;
    this.events.push(event);
    return ++this.seq;
  }
}

const address = { name: 'Ada', line1: '1 Main St', city: 'New York', postalCode: '10001', country: 'US', region: 'NY' };
const request: CheckoutRequest = { cartId: null, items: [{ sku: 'HOT', qty: 1 }], paymentMethod: 'pm_card_visa', address, shippingMethod: 'standard', customerId: null, promoCode: null };

let system: ActorSystem;
let systems = 0;
beforeEach(() => {
  system = startActorSystem(`checkout-actor-test-${++systems}`);
});
afterEach(() => system.stop());

function harness(partition = 1, doneEntriesMax = 100, onHand = 10, tracing?: Tracing) {
  const clock = new SimulatedClock();
  const journal = new MemoryJournal();
  const state = emptyInventory(asSku('HOT'));
  state.onHand = onHand;
  const knownKeys = new BloomFilter(16);
  const sku = new InventoryActor({ system, journal, clock, partition, entity: `sku:HOT@${partition}`, snapshotEveryEvents: 1e9, onSnapshot: () => {}, onJournalFailure: () => {}, onBug: (e) => { throw e; } }, state);
  let opened: () => void = () => {};
  let gate = new Promise<void>((resolve) => (opened = resolve));
  const h = {
    clock,
    journal,
    sku,
    knownKeys,
    responses: new Map<string, CheckoutResponse>(),
    orders: [] as NewOrder[],
    tombstones: [] as string[],
    journalFailures: [] as unknown[],
    /** How many commits the SKU answers with a transient failure before the real one. */
    commitFailures: 0,
    /** The SKU answers every pin HOLD_EXPIRED (the saga compensates after its authorization). */
    pinsExpire: false,
    payments: new SimulatedPaymentProvider(),
    /** What the node does with a refused journal append (the partition host drops a fenced partition). */
    onJournalFailure: (_err: unknown): void => {},
    openGate: () => opened(),
    closeGate: () => (gate = new Promise<void>((resolve) => (opened = resolve))),
    actor: undefined as unknown as CheckoutActor,
  };
  const gated: InventoryHandle = {
    async ask(cmd: InventoryCommand): Promise<InventoryReply> {
      if (cmd.t === 'pin' && h.pinsExpire) return fail('HOLD_EXPIRED');
      if (cmd.t !== 'commit') return sku.ask(cmd);
      await gate;
      if (h.commitFailures > 0) {
        h.commitFailures--;
        return fail('NOT_READY');
      }
      return sku.ask(cmd);
    },
  };
  const promos = new PromoLedger(async () => ({ total: 0, byCustomer: 0 }));
  h.actor = new CheckoutActor({
    system,
    partition,
    journal,
    knownKeys,
    lookup: async (key) => {
      const r = h.responses.get(key);
      return r ? { fingerprint: 'fp', statusCode: r.statusCode, body: r.body } : null;
    },
    prepare: {
      product: (s) => (s === 'HOT' ? { sku: asSku('HOT'), name: 'Hot', priceMinor: 2_500, currency: 'USD', weightGrams: 300, taxCategory: 'standard' } : undefined),
      promotion: async () => undefined,
      cart: async () => null,
      inventoryView: () => sku.view,
      promos,
      taxRates: defaultTaxRates,
      shippingTable: defaultShippingTable,
      nowMs: () => clock.now(),
      ids: seededIds(partition),
    },
    saga: {
      inventory: () => gated,
      payments: h.payments,
      orders: {
        write: async (o) => {
          if (h.orders.some((x) => x.orderId === o.orderId)) return 'existed' as const;
          h.orders.push(o);
          h.responses.set(o.idempotencyKey, o.response);
          return 'inserted' as const;
        },
      },
      responses: { saveResponse: async (r) => void h.responses.set(r.key, { statusCode: r.statusCode, body: r.body }) },
      carts: { markCheckedOut: async () => {} },
      promos,
      ...(tracing ? { tracing } : {}),
      storedResponse: async (key) => h.responses.get(key) ?? null,
      holdTtlMs: 60_000,
      log: pino({ level: 'silent' }),
    },
    clock,
    doneEntriesMax,
    log: pino({ level: 'silent' }),
    onJournalFailure: (err) => {
      h.journalFailures.push(err);
      h.onJournalFailure(err);
    },
    onTombstone: (entity) => h.tombstones.push(entity),
  });
  return h;
}

/** A reply as the client sees it: the rendered status and body, and whether it was a replay. */
function rendered(reply: CheckoutReply): CheckoutResponse & { replayed: boolean };
function rendered(reply: CheckoutReply | null): (CheckoutResponse & { replayed: boolean }) | null;
function rendered(reply: CheckoutReply | null) {
  return reply === null ? null : { ...renderCheckoutResult(reply.result), replayed: reply.replayed };
}

describe('the checkout actor', () => {
  it('puts into the known keys only the keys that may be stored: a sold-out storm answered from memory adds none', async () => {
    const soldOut = harness(1, 100, 0);
    for (let i = 0; i < 200; i++) expect(rendered(soldOut.actor.answerFromMemory(`storm-${i}`, 'fp', request))).toMatchObject({ statusCode: 409 });
    for (let i = 0; i < 200; i++) expect(soldOut.knownKeys.mightContain(`storm-${i}`)).toBe(false);

    const h = harness(2);
    h.openGate();
    expect(rendered(await h.actor.submit('sold-1', 'fp', request))).toMatchObject({ statusCode: 201 });
    expect(h.knownKeys.mightContain('sold-1')).toBe(true);
  });

  it('answers 201 before the holds commit, counts the saga as running until they do, and tombstones it after', async () => {
    const h = harness();
    const reply = await h.actor.submit('k1', 'fp', request);
    expect(rendered(reply)).toMatchObject({ statusCode: 201, replayed: false });
    expect(h.orders).toHaveLength(1);
    expect(h.sku.view).toMatchObject({ held: 1, sold: 0 });
    expect(h.actor.running()).toBe(1);
    expect(h.tombstones).toEqual([]);
    // A retry in the window is a replay of the stored answer, not "in use".
    expect(rendered(await h.actor.submit('k1', 'fp', request))).toMatchObject({ statusCode: 201, replayed: true });
    h.openGate();
    await vi.waitFor(() => expect(h.tombstones).toHaveLength(1));
    expect(h.sku.view).toMatchObject({ held: 0, sold: 1, available: 9 });
    expect(h.actor.running()).toBe(0);
  });

  it('runs the saga again when the commit fails after the answer: no second answer, still counted, the key stays answered', async () => {
    const h = harness();
    h.commitFailures = 1;
    h.openGate();
    expect(rendered(await h.actor.submit('k2', 'fp', request))).toMatchObject({ statusCode: 201 });
    // The retry waits out its backoff; meanwhile a move must still wait for it and the key replays its 201.
    await vi.waitFor(() => expect(h.commitFailures).toBe(0));
    expect(h.actor.running()).toBe(1);
    expect(rendered(await h.actor.submit('k2', 'fp', request))).toMatchObject({ statusCode: 201, replayed: true });
    // The backoff runs on the injected clock: nothing runs again until it passes.
    expect(h.tombstones).toEqual([]);
    h.clock.advance(actorLimits.sagaRetryDelayMsBase);
    await vi.waitFor(() => expect(h.tombstones).toHaveLength(1));
    expect(h.sku.view).toMatchObject({ held: 0, sold: 1 });
    expect(h.actor.running()).toBe(0);
    expect(h.orders).toHaveLength(1);
  });

  it('runs a retried saga in its request\'s trace, not in the trace of whoever woke the mailbox', async () => {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const tracing: Tracing = { enabled: true, tracer: provider.getTracer('t'), trustTraceparent: false, extract: () => ROOT_CONTEXT, traceparent: () => undefined, shutdown: () => provider.shutdown() };
    context.setGlobalContextManager(new AlsContextManager());
    try {
      const h = harness(1, 100, 10, tracing);
      const requestSpan = tracing.tracer.startSpan('request A');
      const ctxA = trace.setSpan(ROOT_CONTEXT, requestSpan);
      const other = tracing.tracer.startSpan('request B');
      h.commitFailures = 1;
      h.openGate();
      expect(rendered(await context.with(ctxA, () => h.actor.submit('kA', 'fp', { ...request, traceContext: ctxA })))).toMatchObject({ statusCode: 201 });
      await vi.waitFor(() => expect(h.commitFailures).toBe(0));
      // The retry's timer fires, and its resume wakes the mailbox, inside another request's context.
      context.with(trace.setSpan(ROOT_CONTEXT, other), () => h.clock.advance(actorLimits.sagaRetryDelayMsBase));
      await vi.waitFor(() => expect(h.tombstones).toHaveLength(1));
      const checkouts = exporter.getFinishedSpans().filter((s) => s.name === 'checkout');
      expect(checkouts.map((s) => s.attributes['boxoffice.checkout.resumed'])).toEqual([false, true]);
      for (const s of checkouts) expect(s.spanContext().traceId).toBe(requestSpan.spanContext().traceId);
      expect(checkouts[1]!.parentSpanContext?.spanId).toBe(requestSpan.spanContext().spanId);
      expect(exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === other.spanContext().traceId)).toEqual([]);
    } finally {
      context.disable();
    }
  });

  it('frees the key once a retried commit ends, even when its answer was evicted from memory meanwhile', async () => {
    const h = harness(3, 1);
    h.commitFailures = 1;
    h.openGate();
    expect(rendered(await h.actor.submit('k4', 'fp', request))).toMatchObject({ statusCode: 201 });
    await vi.waitFor(() => expect(h.commitFailures).toBe(0));
    // Other checkouts answered during the backoff push k4's answer out of memory (one entry kept here).
    expect(rendered(await h.actor.submit('other', 'fp', request))).toMatchObject({ statusCode: 201 });
    h.clock.advance(actorLimits.sagaRetryDelayMsMax);
    await vi.waitFor(() => expect(h.tombstones).toContain('co:k4'));
    await vi.waitFor(() => expect(h.actor.running()).toBe(0));
    // Not "in use" for good: the key is answered from its stored record.
    expect(rendered(await h.actor.submit('k4', 'fp', request))).toMatchObject({ statusCode: 201, replayed: true });
  });

  it('journals a compensation so that both this version and the one before it can recover it', async () => {
    const h = harness(4);
    const reply = await h.actor.submit('k5', 'fp', { ...request, paymentMethod: 'pm_card_chargeDeclined' });
    expect(rendered(reply).statusCode).toBe(402);
    const ev = h.journal.events.find((e) => (e as { t?: string }).t === 'compensating') as Record<string, unknown>;
    expect(ev['rejection']).toMatchObject({ t: 'rejected', code: 'PAYMENT_DECLINED', retention: 'durable' });
    // What the version before the CheckoutResult union wrote and reads: the rejection rendered as its answer.
    expect(ev['outcome']).toEqual({ response: renderCheckoutResult(reply.result), retention: 'durable' });
    h.openGate();
  });

  it('stops without voiding or releasing when its compensation cannot be journaled because the partition has a new owner', async () => {
    const h = harness(5);
    h.openGate();
    h.pinsExpire = true;
    h.journal.refuse = (ev) => ((ev as { t?: string }).t === 'compensating' ? new FencedError(5, 1) : undefined);
    // As the partition host does: a fenced write drops the partition, which stops its checkout actor.
    h.onJournalFailure = (err) => {
      if (err instanceof FencedError) h.actor.stop();
    };
    const reply = await h.actor.submit('k6', 'fp', request);
    expect(rendered(reply)).toMatchObject({ statusCode: 503, body: { error: { code: 'PARTITION_UNAVAILABLE' } } });
    // The new owner resumes from a journal without this compensation: it authorizes again with the same key (the
    // provider answers with this authorization) and may confirm the order, so this node must not void it or
    // release the hold, not even in a re-run after the backoff.
    h.clock.advance(actorLimits.sagaRetryDelayMsBase * 2);
    await new Promise((r) => setTimeout(r, 20));
    expect(h.payments.voids()).toBe(0);
    expect(h.payments.stateOf('pi_sim_1')?.status).toBe('authorized');
    expect(h.sku.view).toMatchObject({ held: 1, available: 9 });
  });

  // Once the journal has seen a fenced row it refuses every append of the partition: a host that is not told keeps
  // serving it, and every checkout there fails (503) or its saga retries for ever (seeds 708, 1994, 6083 of the
  // simulation). Told, the host drops the partition and the clients retry at its new owner.
  it.each([
    { fenced: 'started', paymentMethod: 'pm_card_visa' },
    { fenced: 'compensating', paymentMethod: 'pm_card_chargeDeclined' },
  ])('reports a fenced $fenced append to its host, which drops the partition', async ({ fenced, paymentMethod }) => {
    const h = harness(5);
    h.journal.refuse = (ev) => ((ev as { t?: string }).t === fenced ? new FencedError(5, 1) : undefined);
    expect(rendered(await h.actor.submit('k6', 'fp', { ...request, paymentMethod })).statusCode).toBe(503);
    await vi.waitFor(() => expect(h.journalFailures).toEqual([new FencedError(5, 1)]));
    h.openGate();
  });

  it('answers a retried key with the stored 201 while a recovered saga is still committing its holds', async () => {
    const h = harness();
    // The state a crash between the answer and the commit leaves: the order and its response stored, the hold
    // reserved and pinned, no tombstone.
    expect(rendered(await h.actor.submit('k3', 'fp', request)).statusCode).toBe(201);
    const recovered = harness(2);
    const holdId = h.orders[0]!.reservations[0]!.reservationId;
    await recovered.sku.ask({ t: 'reserve', holdId: holdId as never, qty: 1, ttlMs: 60_000, checkoutId: h.orders[0]!.checkoutId });
    await recovered.sku.ask({ t: 'pin', holdId: holdId as never });
    recovered.responses.set('k3', h.responses.get('k3')!);
    recovered.actor.resume(planOf(h.orders[0]!), null, 7);
    // Once the resumed saga has read its stored answer (one database read), the key answers with it, while the
    // commit is still held back: not "in use" until the commit ends.
    await vi.waitFor(() => expect(rendered(recovered.actor.answerFromMemory('k3', 'fp', request))).toMatchObject({ statusCode: 201, replayed: true }));
    expect(recovered.actor.running()).toBe(1);
    expect(rendered(await recovered.actor.submit('k3', 'fp', request))).toMatchObject({ statusCode: 201, replayed: true });
    recovered.openGate();
    await vi.waitFor(() => expect(recovered.tombstones).toHaveLength(1));
    expect(recovered.sku.view).toMatchObject({ held: 0, sold: 1 });
    h.openGate();
  });
});

/** The plan a stored order was written from (what the `started` journal event holds). */
function planOf(o: NewOrder): CheckoutPlan {
  const priced = (o.priced as { snapshot: CheckoutPlan['priced']; paymentMethod: string; lines: CheckoutPlan['lines'] });
  return {
    key: o.idempotencyKey,
    fingerprint: o.fingerprint,
    checkoutId: o.checkoutId,
    orderId: o.orderId,
    lines: priced.lines,
    priced: priced.snapshot,
    paymentMethod: priced.paymentMethod,
    address: o.address as CheckoutPlan['address'],
    customerKey: o.customerKey,
    cartId: null,
    createdAtMs: o.createdAt.getTime(),
  };
}
