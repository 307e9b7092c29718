import pino from 'pino';
import { startActorSystem, type ActorSystem } from '../../src/actors/actor-system.js';
import { KnownKeys } from '../../src/actors/bloom-filter.js';
import { CheckoutActor, type StoredResponse } from '../../src/actors/checkout-actor.js';
import type { PrepareDeps } from '../../src/actors/checkout-prepare.js';
import type { SagaDeps } from '../../src/actors/checkout-saga.js';
import type { IdSource } from '../../src/actors/id-source.js';
import type { InventoryHandle } from '../../src/actors/inventory-actor.js';
import { InventoryRegistry } from '../../src/actors/inventory-registry.js';
import { PartitionHost } from '../../src/actors/partition-host.js';
import { PromoLedger } from '../../src/actors/promo-ledger.js';
import { SnapshotWriter } from '../../src/actors/snapshot-writer.js';
import type { SimulatedClock } from '../../src/clock.js';
import { skuPartition } from '../../src/domain/entities.js';
import type { Product } from '../../src/domain/product.js';
import { defaultShippingTable } from '../../src/domain/shipping.js';
import { defaultTaxRates } from '../../src/domain/tax.js';
import type { PaymentProvider } from '../../src/payments/provider.js';
import { FencedError, GroupCommitJournal } from '../../src/persistence/journal.js';
import type { NewOrder } from '../../src/persistence/order-writer.js';
import { connectionError, SimSql, type SimDatabase } from './sim-database.js';
import type { SimFaults } from './sim-faults.js';

/** What every node of a simulated cluster shares: the database, the clock, the provider, the faults, the catalogue. */
export interface SimShared {
  seed: number;
  db: SimDatabase;
  clock: SimulatedClock;
  faults: SimFaults;
  payments: PaymentProvider;
  /** One id source for the whole run: checkout and order ids never repeat across nodes and restarts. */
  ids: IdSource;
  partitions: number;
  products: Map<string, Product>;
  holdTtlMs: number;
  /** How a saga on `from` reaches a SKU: locally, or over the simulated network to the SKU's owner. */
  inventory: (from: SimNode, sku: string) => InventoryHandle;
  /** A journal batch could not commit after its retries: the node exits (crash-only), as `startNode` does. */
  onFatal: (node: SimNode) => void;
  /** An invariant broke inside a node's call (the checker throws it at its next step). */
  onViolation: (what: string) => void;
}

/** SIM_LOG=1: the nodes' warnings and errors (a saga that keeps failing, a dropped partition) on stderr. */
const silent = process.env['SIM_LOG'] ? pino({ level: 'warn' }, pino.destination(2)) : pino({ level: 'silent' });
/** SIM_TRACE=<key>: what the sagas of one key do (debugging a failed seed). */
const trace = (key: string, what: string) => {
  if (process.env['SIM_TRACE'] === key) process.stderr.write(`[trace ${key}] ${what}\n`);
};
/** Never settles: what a crashed process's pending calls become. */
const never = <T>(): Promise<T> => new Promise<T>(() => {});

/**
 * One incarnation of a node, composed from the production parts of `createCore` and `checkoutActorFactory`: the
 * group-commit journal and snapshot writer over a simulated SQL client, the inventory registry, the partition host
 * (claim, load, replay, resume, release, fencing), one checkout actor per partition with the real saga. A crash
 * kills the incarnation: its SQL client, provider and stores never answer it again, and its actors stop.
 */
export class SimNode {
  alive = true;
  readonly system: ActorSystem;
  readonly sql: SimSql;
  readonly journal: GroupCommitJournal;
  readonly snapshots: SnapshotWriter;
  readonly inventory: InventoryRegistry;
  readonly host: PartitionHost;
  private readonly epochs = new Map<number, number>();
  private readonly knownKeys = new KnownKeys(3, 16);
  private readonly crashHooks: (() => void)[] = [];

  constructor(
    readonly id: string,
    incarnation: number,
    private readonly s: SimShared,
  ) {
    this.system = startActorSystem(`sim-${s.seed}-${id}-${incarnation}`);
    this.sql = new SimSql(s.db, id, s.faults);
    this.journal = new GroupCommitJournal(this.sql, { batchRowsMax: 64, batchDelayMs: 0, clock: s.clock, onFatal: () => s.onFatal(this) });
    const fenced = (p: number, epoch: number) => this.host.fenced(p, epoch);
    this.snapshots = new SnapshotWriter(this.sql, (p) => this.epochs.get(p), silent, fenced);
    const onJournalFailure = (err: unknown) => {
      if (err instanceof FencedError) fenced(err.partition, err.epoch);
    };
    const journal = { append: (p: number, e: string, ev: unknown) => this.journal.append(p, e, ev), backlogged: () => this.journal.backlogged() };
    this.inventory = new InventoryRegistry({
      system: this.system, journal, clock: s.clock, askClock: s.clock, partitions: s.partitions, snapshotEveryEvents: 8, log: silent, onJournalFailure,
      onSnapshot: (p, entity, seq, snap) => this.snapshots.add(p, entity, seq, snap),
    });
    this.host = new PartitionHost({
      sql: this.sql, nodeId: id, partitions: s.partitions, journal: this.journal, epochs: this.epochs, inventory: this.inventory, knownKeys: this.knownKeys,
      lookupKey: (key) => this.lookup(key), log: silent, clock: s.clock, keyRetentionMs: 24 * 3600_000, forceReservePromo: () => {},
      flushSnapshots: () => this.snapshots.flush(),
      newCheckoutActor: (p) => this.checkoutActor(p, journal, onJournalFailure),
    });
  }

  /** Whether this incarnation serves `sku` now. */
  ownsSku(sku: string): boolean {
    return this.alive && this.host.ownsSku(sku);
  }

  /** `fn` runs when this incarnation crashes, before its actors stop (its clients' connections reset). */
  onCrash(fn: () => void): void {
    this.crashHooks.push(fn);
  }

  crash(): void {
    this.alive = false;
    for (const fn of this.crashHooks.splice(0)) fn();
    this.sql.dead = true;
    this.host.stopAll();
    this.inventory.stopAll();
    this.system.stop();
  }

  /** Runs `fn` only while this incarnation lives; a dead process does nothing and is answered nothing. */
  live<T>(fn: () => Promise<T>): Promise<T> {
    return this.alive ? fn() : never<T>();
  }

  private lookup(key: string): Promise<StoredResponse | null> {
    return this.live(async () => {
      await this.s.faults.latency();
      if (!this.alive) return never<StoredResponse | null>();
      if (this.s.faults.chance(this.s.faults.rates.store, 'lookupFailed')) throw connectionError('idempotency lookup');
      return this.s.db.responses.get(key) ?? null;
    });
  }

  /** A write of the order store or the idempotency store: it may fail before it commits, or commit and then fail. */
  private storeWrite<T>(write: () => T, fault: () => 'fail' | 'ambiguous' | undefined, what: string): Promise<T> {
    return this.live(async () => {
      await this.s.faults.latency();
      if (!this.alive) return never<T>();
      const f = fault();
      if (f === 'fail') throw connectionError(`${what} lost before commit`);
      const result = write();
      if (f === 'ambiguous') throw connectionError(`${what} committed, reply lost`);
      return result;
    });
  }

  private checkoutActor(partition: number, journal: CheckoutActorJournal, onJournalFailure: (err: unknown) => void): CheckoutActor {
    const { s } = this;
    const faults = s.faults;
    // As checkoutActorFactory: orders are written at the epoch the actor was made for, not the journal's at the write.
    const epoch = this.journal.epochOf(partition);
    const saga: Omit<SagaDeps, 'recordCompensation'> = {
      inventory: (sku) => s.inventory(this, sku),
      payments: this.livePayments(),
      orders: {
        write: (o: NewOrder) =>
          this.storeWrite(() => {
            const result = s.db.writeOrder(o, { partition, epoch });
            if (result === 'fenced' && epoch !== undefined) this.host.fenced(partition, epoch);
            trace(o.idempotencyKey, `${this.id} write ${o.status} order: ${result}`);
            return result;
          }, () => faults.orderWrite(), 'order write'),
      },
      responses: {
        saveResponse: (r) => this.storeWrite(() => s.db.saveResponse(r), () => (faults.chance(faults.rates.store, 'responseWriteFailed') ? 'fail' : undefined), 'response write'),
      },
      carts: { markCheckedOut: async () => {} },
      promos: new PromoLedger(async () => ({ total: 0, byCustomer: 0 }), () => s.clock.now()),
      holdTtlMs: s.holdTtlMs,
      clock: s.clock,
      log: silent,
      storedResponse: async (key) => {
        const rec = await this.lookup(key);
        trace(key, `${this.id} storedResponse ${rec?.statusCode ?? null}`);
        return rec && rec.statusCode !== null ? { statusCode: rec.statusCode, body: rec.body } : null;
      },
    };
    const prepare: PrepareDeps = {
      product: (sku) => s.products.get(sku),
      promotion: async () => undefined,
      cart: async () => null,
      // As the topology answers: counts of a SKU served here, null for one served elsewhere.
      inventoryView: (sku) => (this.host.owns(skuPartition(sku, s.partitions)) ? this.inventory.view(sku) : null),
      promos: saga.promos,
      taxRates: defaultTaxRates,
      shippingTable: defaultShippingTable,
      nowMs: () => s.clock.now(),
      ids: s.ids,
    };
    return new CheckoutActor({
      system: this.system, partition, journal, knownKeys: this.knownKeys, lookup: (key) => this.lookup(key), prepare, saga, clock: s.clock, log: silent, doneEntriesMax: 16,
      onJournalFailure,
      onTombstone: (entity, seq) => this.snapshots.add(partition, entity, seq, { finished: true }),
    });
  }

  /** The shared provider as this incarnation reaches it: a dead process calls nothing. */
  private livePayments(): PaymentProvider {
    const p = this.s.payments;
    return {
      name: p.name,
      authorize: (r) => this.live(() => {
        trace(r.metadata['checkoutKey'] ?? '', `${this.id} authorize`);
        // DESIGN.md, "Money, exactly once": an attempt is recorded durably before the provider is called.
        if (!this.s.db.recordedPlans.has(r.metadata['checkoutId'] ?? '')) this.s.onViolation(`checkout ${r.metadata['checkoutId']} (${r.metadata['checkoutKey']}) called the provider before its plan was durable`);
        return p.authorize(r);
      }),
      capture: (r) => this.live(() => p.capture(r)),
      void: (r) => this.live(() => p.void(r)),
      refund: (r) => this.live(() => p.refund(r)),
      lookup: (r) => this.live(() => p.lookup(r)),
      retrieve: (id) => this.live(() => p.retrieve(id)),
      findByCheckout: (id) => this.live(() => p.findByCheckout(id)),
      listOpen: (before, limit, cursor) => this.live(() => p.listOpen(before, limit, cursor)),
    };
  }
}

type CheckoutActorJournal = ConstructorParameters<typeof CheckoutActor>[0]['journal'];
