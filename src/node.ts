import pino, { type Logger } from 'pino';
import type { Config } from './config/config.js';
import { limits } from './config/limits.js';
import { startActorSystem } from './actors/actor-system.js';
import { BloomFilter } from './actors/bloom-filter.js';
import { CartService } from './actors/cart-service.js';
import { Catalog } from './actors/catalog.js';
import { CheckoutActor } from './actors/checkout-actor.js';
import type { SagaDeps } from './actors/checkout-saga.js';
import type { PrepareDeps } from './actors/checkout-prepare.js';
import { systemClock, type Clock } from './clock.js';
import { InventoryRegistry } from './actors/inventory-registry.js';
import { OrderService } from './actors/order-service.js';
import { PendingSweeper } from './actors/pending-sweeper.js';
import { PromoLedger, type PromoUses } from './actors/promo-ledger.js';
import { PartitionHost } from './actors/partition-host.js';
import { SnapshotWriter } from './actors/snapshot-writer.js';
import { defaultShippingTable } from './domain/shipping.js';
import { defaultTaxRates } from './domain/tax.js';
import { buildRouter, readinessGate } from './http/routes/index.js';
import { startHttpServer, type HttpServer } from './http/server.js';
import type { NodeServices } from './http/services.js';
import { createMetrics, type Metrics } from './metrics.js';
import type { PaymentProvider } from './payments/provider.js';
import { SimulatedPaymentProvider } from './payments/simulated-provider.js';
import { FencedError, GroupCommitJournal } from './persistence/journal.js';
import { ClusterRuntime } from './cluster/cluster-runtime.js';
import { AdminError, type AdminOp } from './cluster/coordinator.js';
import { cartPartition, checkoutPartition, promoPartition } from './domain/entities.js';
import type { InventoryHandle } from './actors/inventory-actor.js';
import { checkoutStatusOf, refused } from './domain/checkout-result.js';
import { randomIds } from './actors/id-source.js';
import { migrate } from './persistence/migrations.js';
import { OrderWriter, type NewOrder } from './persistence/order-writer.js';
import { openSql, type SqlClient } from './persistence/sql.js';
import { CartStore, IdempotencyStore, OrderStore, ProductStore, PromotionStore } from './persistence/stores.js';
import { PendingOrderStore } from './persistence/pending-order-store.js';

export interface NodeOptions {
  clock?: Clock;
  payments?: PaymentProvider;
  logger?: Logger;
  /** What a journal write that cannot commit does; default: log and exit (crash-only, recovery repairs). */
  onFatal?: (err: unknown) => void;
}

export interface RunningNode {
  port: number;
  services: NodeServices;
  sql: SqlClient;
  /** Resolves when recovery finished and the node answers every route. */
  recovered: Promise<void>;
  close(): Promise<void>;
}

/** Snapshot a SKU every this many events, so recovery reads a snapshot and a short tail. */
const snapshotEveryEvents = 1_000;
const snapshotFlushIntervalMs = 1_000;
const compactIntervalMs = 60_000;
const cartCleanupIntervalMs = 60_000;

export async function startNode(config: Config, opts: NodeOptions = {}): Promise<RunningNode> {
  const startedAt = Date.now();
  const log = opts.logger ?? pino({ level: config.logLevel });
  const clock = opts.clock ?? systemClock;
  const onFatal =
    opts.onFatal ??
    ((err: unknown) => {
      log.fatal({ err }, 'journal write failed after retries: exiting so recovery restores a consistent state');
      process.exit(70);
    });
  const sql = await openSql({ databaseUrl: config.databaseUrl ?? undefined, dataDir: config.dataDir, poolSize: config.dbPoolSize });
  await migrate(sql);
  const partitions = await recordedPartitions(sql, config.partitions, log);
  let cluster: ClusterRuntime | null = null;
  const onFenced = (partition: number, epoch: number) => {
    if (!cluster) log.error({ partition, epoch }, 'writes fenced on a single node: another process claimed its partitions');
    host.fenced(partition, epoch);
  };

  const metrics = createMetrics();
  const journal = new GroupCommitJournal(sql, { batchRowsMax: config.journalBatchRowsMax, batchDelayMs: config.journalBatchDelayMs, onFatal: (e) => onFatal(e) });
  const epochs = new Map<number, number>();
  const snapshots = new SnapshotWriter(sql, (p) => epochs.get(p), log, onFenced);
  const onJournalFailure = (err: unknown) => {
    if (err instanceof FencedError) onFenced(err.partition, err.epoch);
    else log.error({ err }, 'journal append failed');
  };
  const system = startActorSystem(`boxoffice-${config.nodeId}`);
  const timedJournal = { append: timed(metrics.journalCommitSeconds, (p: number, e: string, ev: unknown) => journal.append(p, e, ev)) };
  const inventory = new InventoryRegistry({
    system, journal: timedJournal, clock, onQueueWait: (s) => metrics.actorQueueSeconds.observe(s), partitions, snapshotEveryEvents, log, onJournalFailure,
    onSnapshot: (p, entity, seq, snap) => snapshots.add(p, entity, seq, snap),
  });

  const productStore = new ProductStore(sql);
  const promotionStore = new PromotionStore(sql);
  const catalog = new Catalog(productStore, promotionStore);
  const cartStore = new CartStore(sql);
  const carts = new CartService(cartStore, clock, config.cartIdleTtlMs);
  const idempotency = new IdempotencyStore(sql);
  const orderWriter = new OrderWriter(sql, { batchMax: limits.orderBatchMax, batchDelayMs: 0 });
  const orderStore = new OrderStore(sql);
  const pendingStore = new PendingOrderStore(sql, orderStore);
  const ledger = new PromoLedger((code, customerKey) => promotionStore.usage(code, customerKey));
  // Promotion usage: this node's ledger, or in a cluster the ledger on each promotion's partition owner.
  const promos: PromoUses = {
    prepare: (code, ck) => (cluster ? cluster.promoUses.prepare(code, ck) : ledger.prepare(code, ck)),
    usage: (code, ck) => (cluster ? cluster.promoUses.usage(code, ck) : ledger.usage(code, ck)),
    reserve: (promo, ck) => (cluster ? cluster.promoUses.reserve(promo, ck) : ledger.reserve(promo, ck)),
    forceReserve: (code, ck) => (cluster ? cluster.promoUses.forceReserve(code, ck) : ledger.forceReserve(code, ck)),
    release: (code, ck) => (cluster ? cluster.promoUses.release(code, ck) : ledger.release(code, ck)),
  };
  const payments = timedPayments(opts.payments ?? new SimulatedPaymentProvider({ latencyMs: config.simPaymentLatencyMs }), metrics);
  // A SKU's inventory: its local actor, or in a cluster wherever its partition is served.
  const inventoryOf = (sku: string): InventoryHandle => (cluster ? cluster.inventoryOf(sku) : inventory.get(sku));
  const orders = new OrderService(pendingStore, payments, inventoryOf, promos, log);
  const sweeper = new PendingSweeper(pendingStore, orders, payments, inventoryOf, promos, log);
  const cartsOnOwner = { markCheckedOut: (cartId: string) => (cluster ? cluster.markCartCheckedOut(cartId) : carts.markCheckedOut(cartId)) };

  const sagaDeps: Omit<SagaDeps, 'recordCompensation'> = {
    inventory: inventoryOf, payments, orders: { write: timed(metrics.orderWriteSeconds, (o: NewOrder) => orderWriter.write(o)) }, responses: idempotency, carts: cartsOnOwner, promos, holdTtlMs: config.holdTtlMs, log,
    storedResponse: async (key) => {
      const rec = await idempotency.get(key);
      return rec && rec.statusCode !== null ? { statusCode: rec.statusCode, body: rec.body } : null;
    },
  };
  const prepareDeps: PrepareDeps = {
    product: (sku) => catalog.product(sku),
    promotion: (code) => catalog.promotion(code),
    // A cart served elsewhere is read from the database: its owner persists every change before answering.
    cart: (id) => (cluster && !host.owns(cartPartition(id, partitions)) ? (cartStore.get(id) as ReturnType<CartService['get']>) : carts.get(id)),
    inventoryView: (sku) => (cluster && !host.ownsSku(sku) ? cluster.remoteView(sku) : inventory.view(sku)),
    promos, taxRates: defaultTaxRates, shippingTable: defaultShippingTable, nowMs: () => clock.now(), ids: randomIds,
  };
  const knownKeys = new BloomFilter();
  const lookupKey = (key: string) => idempotency.get(key);
  const host: PartitionHost = new PartitionHost({
    sql, nodeId: config.nodeId, partitions, journal, epochs, inventory, knownKeys, lookupKey, promos, log,
    flushSnapshots: () => snapshots.flush(),
    onAcquired: (acquired) => {
      carts.forgetCached();
      // Counts of promotions that arrived are read again from the database when next used.
      const arrived = new Set(acquired);
      ledger.forget((code) => arrived.has(promoPartition(code, partitions)));
    },
    newCheckoutActor: (p) =>
      new CheckoutActor({
        system, partition: p, journal: timedJournal, knownKeys, log, clock, onJournalFailure, prepare: prepareDeps, saga: sagaDeps, lookup: lookupKey,
        onTombstone: (entity, seq) => snapshots.add(p, entity, seq, { finished: true }),
        // The memory bound is for the node; each partition keeps its share (durable answers are looked up again).
        doneEntriesMax: Math.max(16, Math.ceil(limits.idempotencyMemoryEntriesMax / partitions)),
      }),
  });
  let ready = false;
  let inFlight = 0;
  const services: NodeServices = {
    adminToken: config.adminToken,
    nowMs: () => clock.now(),
    ready: () => ready,
    catalog,
    inventory: {
      view: (sku) => inventory.view(sku),
      setOnHand: (sku, onHand) => inventoryOf(sku).ask({ t: 'setOnHand', onHand }),
      ask: (sku, cmd) => inventoryOf(sku).ask(cmd),
      holdTtlMs: config.holdTtlMs,
    },
    carts,
    checkout: {
      inFlight: () => inFlight,
      submit(key, fingerprint, request) {
        const actor = host.checkoutActor(checkoutPartition(key, partitions));
        // Placement forwards checkouts of partitions served elsewhere; this is the gap of a move that just began.
        if (actor === undefined) return { result: refused('PARTITION_UNAVAILABLE', { partition: checkoutPartition(key, partitions) }), replayed: false };
        const fast = actor.answerFromMemory(key, fingerprint, request);
        if (fast) {
          metrics.countCheckoutResponse(checkoutStatusOf(fast.result), fast.replayed);
          return fast;
        }
        inFlight++;
        const end = metrics.checkoutSeconds.startTimer();
        return actor.submit(key, fingerprint, request).then(
          (reply) => {
            inFlight--;
            end();
            metrics.countCheckoutResponse(checkoutStatusOf(reply.result), reply.replayed);
            return reply;
          },
          (err: unknown) => {
            inFlight--;
            end();
            throw err;
          },
        );
      },
    },
    orders, promos, taxRates: defaultTaxRates, shippingTable: defaultShippingTable,
    placement: (entity, req) => (cluster ? cluster.place(entity, req) : null),
    cluster: {
      status: () => (cluster ? cluster.status() : Promise.resolve(singleNodeStatus())),
      partitions: async (node) => {
        if (cluster) return cluster.partitionList(node);
        const rows = await sql.query<{ partition: number; node: string; epoch: number }>('SELECT partition, node, epoch FROM partition_owners ORDER BY partition');
        return { partitions: rows.filter((r) => node === null || r.node === node).map((r) => ({ partition: r.partition, nodeId: r.node, epoch: r.epoch, pinned: false, isolated: false })) };
      },
      admin: (op: AdminOp) => (cluster ? cluster.admin(op) : Promise.reject(new AdminError('CLUSTER_DISABLED'))),
    },
    metrics: async () => ({ contentType: metrics.registry.contentType, body: await metrics.registry.metrics() }),
  };

  const router = buildRouter(services);
  const http: HttpServer = await startHttpServer({
    port: config.port, host: config.host, router, logger: log, bodyBytesMax: limits.bodyBytesMax, before: readinessGate(services),
  });
  log.info({ port: http.port, node: config.nodeId }, 'listening; recovering');

  const timers: NodeJS.Timeout[] = [];
  const recovered = (async () => {
    const started = Date.now();
    const products = await catalog.load();
    await host.scanKnownKeys();
    if (config.redisUrl === null) {
      await host.acquire(Array.from({ length: partitions }, (_, p) => p));
    } else {
      cluster = await ClusterRuntime.start({ config, sql, partitions, host, inventory, catalog, carts, promos: ledger, log });
      cluster.serve(router);
      catalog.onProductsChanged = (skus) => cluster!.broadcastProducts(skus);
    }
    ready = true;
    log.info({ ms: Date.now() - started, partitions: host.servedPartitions().length, activeSkus: inventory.size().active, dormantSkus: inventory.size().dormant, products, mode: cluster ? 'cluster' : 'single' }, 'recovered; ready');
    // In a cluster, the node-wide chores run on the coordinator only (they work on shared rows).
    const chore = (fn: () => Promise<unknown>, what: string) => () => {
      if (cluster && !cluster.isCoordinator()) return;
      void fn().catch((err: unknown) => log.error({ err }, `${what} failed`));
    };
    timers.push(setInterval(() => void snapshots.flush(), snapshotFlushIntervalMs));
    timers.push(setInterval(() => inventory.passivateIdle(clock.now() - config.passivateIdleMs), Math.max(1_000, config.passivateIdleMs / 2)));
    timers.push(setInterval(() => void snapshots.compact([...epochs.keys()]).catch((err: unknown) => log.error({ err }, 'compaction failed')), compactIntervalMs));
    timers.push(setInterval(chore(() => sweeper.sweep(), 'sweep'), config.sweepIntervalMs));
    // Expired carts are deleted; a checked-out cart expires too, its order keeps what it bought.
    timers.push(setInterval(chore(() => cartStore.deleteExpired(clock.now()), 'cart cleanup'), cartCleanupIntervalMs));
    for (const t of timers) t.unref();
  })();

  function singleNodeStatus() {
    return {
      nodeId: config.nodeId, mode: 'single', partitions, coordinator: null, routesVersion: 0, unowned: partitions - host.servedPartitions().length,
      members: [{ nodeId: config.nodeId, host: config.nodeHost, port: 0, startedAt, partitions: host.servedPartitions().length, drained: false, isolated: [] }],
    };
  }

  recovered.catch((err: unknown) => {
    log.fatal({ err }, 'recovery failed');
    onFatal(err);
  });

  return {
    port: http.port,
    services,
    sql,
    recovered,
    async close() {
      for (const t of timers) clearInterval(t);
      http.close();
      await recovered.catch(() => undefined);
      // Writes first, then leave: once this node is gone from the member list its partitions fail over, and a
      // write still in flight would only be fenced (safe, but the work is redone by the next owner).
      await journal.flush().catch(() => undefined);
      await snapshots.flush();
      await orderWriter.close();
      await idempotency.close();
      await cluster?.close().catch((err: unknown) => log.warn({ err }, 'leaving the cluster failed'));
      inventory.stopAll();
      host.stopAll();
      system.stop();
      await journal.close().catch(() => undefined);
      await sql.close();
    },
  };
}

/** Wraps an async function so its duration lands in a histogram (seconds). */
function timed<A extends unknown[], R>(h: Metrics['paymentSeconds'], fn: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  return (...args) => {
    const end = h.startTimer();
    const p = fn(...args);
    p.then(() => end(), () => end());
    return p;
  };
}

/** The provider with its authorization calls timed; everything else passes through. */
function timedPayments(p: PaymentProvider, metrics: Metrics): PaymentProvider {
  const authorize = timed(metrics.paymentSeconds, (req: Parameters<PaymentProvider['authorize']>[0]) => p.authorize(req));
  return {
    name: p.name,
    authorize,
    capture: (r) => p.capture(r),
    void: (r) => p.void(r),
    refund: (r) => p.refund(r),
    ...(p.lookup ? { lookup: (k: string) => p.lookup!(k) } : {}),
  };
}

/**
 * The partition count is recorded by the first node that uses the database and never changes afterwards (a
 * partition's journal depends on it). A different PARTITIONS later is ignored, loudly.
 */
async function recordedPartitions(sql: SqlClient, configured: number, log: Logger): Promise<number> {
  await sql.query(`INSERT INTO cluster_settings (name, value) VALUES ('partitions', $1) ON CONFLICT (name) DO NOTHING`, [String(configured)]);
  const [row] = await sql.query<{ value: string }>(`SELECT value FROM cluster_settings WHERE name = 'partitions'`);
  const recorded = Number(row!.value);
  if (recorded !== configured) log.warn({ configured, recorded }, 'PARTITIONS differs from the count this database was created with; using the recorded count');
  return recorded;
}
