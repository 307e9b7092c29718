import type { SpanContext } from '@opentelemetry/api';
import type { Logger } from 'pino';
import { startActorSystem, type ActorSystem } from '../actors/actor-system.js';
import { KnownKeys } from '../actors/bloom-filter.js';
import { CartService } from '../actors/cart-service.js';
import { Catalog } from '../actors/catalog.js';
import type { CheckoutActor, StoredResponse } from '../actors/checkout-actor.js';
import type { EventJournal } from '../actors/inventory-actor.js';
import { InventoryRegistry } from '../actors/inventory-registry.js';
import { PartitionHost } from '../actors/partition-host.js';
import { PromoLedger } from '../actors/promo-ledger.js';
import { SnapshotWriter } from '../actors/snapshot-writer.js';
import type { Clock } from '../clock.js';
import type { Tracing } from '../telemetry/tracing.js';
import type { Config } from '../config/config.js';
import { limits, nodeLimits } from '../config/limits.js';
import { promoPartition } from '../domain/entities.js';
import type { Metrics } from '../metrics.js';
import { FencedError, GroupCommitJournal } from '../persistence/journal.js';
import { OrderWriter } from '../persistence/order-writer.js';
import { PendingOrderStore } from '../persistence/pending-order-store.js';
import type { SqlClient } from '../persistence/sql.js';
import { CartStore, IdempotencyStore, OrderStore, ProductStore, PromotionStore } from '../persistence/stores.js';
import { timedAppend } from './timed.js';

export interface CoreOptions {
  config: Config;
  sql: SqlClient;
  partitions: number;
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  /** A journal write that cannot commit after retries. */
  onFatal: (err: unknown) => void;
  /** Writes to `partition` at `epoch` were fenced (the topology decides what that means here). */
  fenced: (partition: number, epoch: number) => void;
  /** A checkout actor for a partition this node acquires. */
  newCheckoutActor: (partition: number) => CheckoutActor;
  /** A resumed checkout took a promotion use before the restart. */
  forceReservePromo: (code: string, customerKey: string) => void;
  /** A SKU's available count changed and committed here (its owner): the live `stock:<sku>` updates. */
  onAvailableChanged?: (sku: string, available: number) => void;
  /** Journal batch spans and the journal's commit-time exemplars (docs/observability.md). */
  tracing?: Tracing;
}

/** What a node is made of, whatever its topology: the journal, the actors, the stores and the partitions it serves. */
export interface NodeCore {
  system: ActorSystem;
  journal: GroupCommitJournal;
  /** The journal with its commit latency measured (what the actors append to). */
  timedJournal: EventJournal;
  snapshots: SnapshotWriter;
  /** The epoch of every partition whose journal this node writes. */
  epochs: Map<number, number>;
  inventory: InventoryRegistry;
  catalog: Catalog;
  cartStore: CartStore;
  carts: CartService;
  idempotency: IdempotencyStore;
  orderWriter: OrderWriter;
  orderStore: OrderStore;
  pendingStore: PendingOrderStore;
  /** Promotion usage of the promotions whose partition this node owns. */
  ledger: PromoLedger;
  knownKeys: KnownKeys;
  lookupKey: (key: string) => Promise<StoredResponse | null>;
  host: PartitionHost;
  onJournalFailure: (err: unknown) => void;
}

export function createCore(o: CoreOptions): NodeCore {
  const { config, sql, partitions, clock, log, metrics } = o;
  const journal = new GroupCommitJournal(sql, { batchRowsMax: config.journalBatchRowsMax, batchDelayMs: config.journalBatchDelayMs, onFatal: (e) => o.onFatal(e), tracing: o.tracing, onBatch: (rows, s) => metrics.observeJournalBatch(rows, s) });
  const epochs = new Map<number, number>();
  const snapshots = new SnapshotWriter(sql, (p) => epochs.get(p), log, o.fenced);
  const onJournalFailure = (err: unknown) => {
    if (err instanceof FencedError) o.fenced(err.partition, err.epoch);
    else log.error({ err }, 'journal append failed');
  };
  const system = startActorSystem(`boxoffice-${config.nodeId}`);
  const append = (p: number, e: string, ev: unknown, link?: SpanContext) => journal.append(p, e, ev, link);
  const timedJournal: EventJournal = { append: timedAppend(metrics.journalCommitSeconds, append), backlogged: () => journal.backlogged() };
  const inventory = new InventoryRegistry({
    system, journal: timedJournal, clock, onQueueWait: (s) => metrics.actorQueueSeconds.observe(s), partitions, snapshotEveryEvents: nodeLimits.snapshotEveryEvents, log, onJournalFailure,
    onSnapshot: (p, entity, seq, snap) => snapshots.add(p, entity, seq, snap),
    onOversold: (units) => metrics.countOversold(units),
    ...(o.onAvailableChanged ? { onAvailableChanged: o.onAvailableChanged } : {}),
  });
  const promotionStore = new PromotionStore(sql);
  const catalog = new Catalog(new ProductStore(sql), promotionStore);
  const cartStore = new CartStore(sql);
  const carts = new CartService(cartStore, clock, config.cartIdleTtlMs);
  const idempotency = new IdempotencyStore(sql);
  const orderStore = new OrderStore(sql, partitions);
  const ledger = new PromoLedger((code, customerKey) => promotionStore.usage(code, customerKey), () => clock.now());
  const knownKeys = new KnownKeys();
  const lookupKey = (key: string) => idempotency.get(key);
  const host = new PartitionHost({
    sql, nodeId: config.nodeId, partitions, journal, epochs, inventory, knownKeys, lookupKey, log, clock, keyRetentionMs: config.idempotencyRetentionMs,
    forceReservePromo: o.forceReservePromo,
    newCheckoutActor: o.newCheckoutActor,
    flushSnapshots: () => snapshots.flush(),
    onAcquired: (acquired, reason) => {
      metrics.countAcquired(reason, acquired.length);
      carts.forgetCached();
      // Counts of promotions that arrived are read again from the database when next used.
      const arrived = new Set(acquired);
      ledger.forget((code) => arrived.has(promoPartition(code, partitions)));
    },
  });
  return {
    system, journal, timedJournal, snapshots, epochs, inventory, catalog, cartStore, carts, idempotency, ledger, knownKeys, lookupKey, host, onJournalFailure,
    orderWriter: new OrderWriter(sql, { batchMax: limits.orderBatchMax, batchDelayMs: 0, partitions }),
    orderStore,
    pendingStore: new PendingOrderStore(orderStore),
  };
}

/** Makes every write that is waiting durable (before the node leaves its cluster: see startNode's close). */
export async function flushCore(core: NodeCore): Promise<void> {
  await core.journal.flush().catch(() => undefined);
  await core.snapshots.flush();
  await core.orderWriter.close();
  await core.idempotency.close();
}

/** Stops the actors and the journal (the last step of a node's close, before its database connections go). */
export async function closeCore(core: NodeCore): Promise<void> {
  core.inventory.stopAll();
  core.host.stopAll();
  core.system.stop();
  await core.journal.close().catch(() => undefined);
}
