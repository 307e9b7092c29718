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
import { systemClock, type Clock } from './actors/clock.js';
import { InventoryRegistry } from './actors/inventory-registry.js';
import { OrderService } from './actors/order-service.js';
import { PendingSweeper } from './actors/pending-sweeper.js';
import { PromoLedger } from './actors/promo-ledger.js';
import { checkoutPartition, replayJournal } from './actors/recovery.js';
import { SnapshotWriter } from './actors/snapshot-writer.js';
import { defaultShippingTable } from './domain/shipping.js';
import { defaultTaxRates } from './domain/tax.js';
import { buildRouter, readinessGate } from './http/routes/index.js';
import { startHttpServer, type HttpServer } from './http/server.js';
import type { NodeServices } from './http/services.js';
import { createMetrics, type Metrics } from './metrics.js';
import type { PaymentProvider } from './payments/provider.js';
import { SimulatedPaymentProvider } from './payments/simulated-provider.js';
import { claimPartitions, GroupCommitJournal, loadPartitions } from './persistence/journal.js';
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

  const metrics = createMetrics();
  const journal = new GroupCommitJournal(sql, { batchRowsMax: config.journalBatchRowsMax, batchDelayMs: config.journalBatchDelayMs, onFatal: (e) => onFatal(e) });
  const epochs = new Map<number, number>();
  const snapshots = new SnapshotWriter(sql, (p) => epochs.get(p), log);
  const onJournalFailure = (err: unknown) => log.error({ err }, 'journal append failed');
  const system = startActorSystem(`boxoffice-${config.nodeId}`);
  const timedJournal = { append: timed(metrics.journalCommitSeconds, (p: number, e: string, ev: unknown) => journal.append(p, e, ev)) };
  const inventory = new InventoryRegistry({
    system, journal: timedJournal, clock, onQueueWait: (s) => metrics.actorQueueSeconds.observe(s), partitions: config.partitions, snapshotEveryEvents, log, onJournalFailure,
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
  const promos = new PromoLedger((code, customerKey) => promotionStore.usage(code, customerKey));
  const payments = timedPayments(opts.payments ?? new SimulatedPaymentProvider({ latencyMs: config.simPaymentLatencyMs }), metrics);
  const orders = new OrderService(pendingStore, payments, (sku) => inventory.get(sku), promos, log);
  const sweeper = new PendingSweeper(pendingStore, orders, payments, (sku) => inventory.get(sku), promos, log);

  const sagaDeps: Omit<SagaDeps, 'recordCompensation'> = {
    inventory: (sku) => inventory.get(sku), payments, orders: { write: timed(metrics.orderWriteSeconds, (o: NewOrder) => orderWriter.write(o)) }, responses: idempotency, carts, promos, holdTtlMs: config.holdTtlMs, log,
    storedResponse: async (key) => {
      const rec = await idempotency.get(key);
      return rec && rec.statusCode !== null ? { statusCode: rec.statusCode, body: rec.body } : null;
    },
  };
  const prepareDeps: PrepareDeps = {
    product: (sku) => catalog.product(sku),
    promotion: (code) => catalog.promotion(code),
    cart: (id) => carts.get(id),
    inventoryView: (sku) => inventory.view(sku),
    promos, taxRates: defaultTaxRates, shippingTable: defaultShippingTable, nowMs: () => clock.now(),
  };
  const knownKeys = new BloomFilter();
  const checkoutActors: CheckoutActor[] = [];
  for (let p = 0; p < config.partitions; p++) {
    checkoutActors.push(new CheckoutActor({
      system, partition: p, journal: timedJournal, knownKeys, log, onJournalFailure, prepare: prepareDeps, saga: sagaDeps,
      lookup: (key) => idempotency.get(key),
      onTombstone: (entity, seq) => snapshots.add(p, entity, seq, { finished: true }),
      // The memory bound is for the node; each partition keeps its share (durable answers are looked up again).
      doneEntriesMax: Math.max(16, Math.ceil(limits.idempotencyMemoryEntriesMax / config.partitions)),
    }));
  }
  let ready = false;
  let inFlight = 0;
  const services: NodeServices = {
    adminToken: config.adminToken,
    nowMs: () => clock.now(),
    ready: () => ready,
    catalog,
    inventory: {
      view: (sku) => inventory.view(sku),
      setOnHand: (sku, onHand) => inventory.get(sku).ask({ t: 'setOnHand', onHand }),
      ask: (sku, cmd) => inventory.get(sku).ask(cmd),
      holdTtlMs: config.holdTtlMs,
    },
    carts,
    checkout: {
      inFlight: () => inFlight,
      async submit(key, fingerprint, request) {
        const actor = checkoutActors[checkoutPartition(key, config.partitions)]!;
        const fast = actor.answerFromMemory(key, fingerprint, request);
        if (fast) {
          metrics.checkoutResponses.inc({ status: String(fast.statusCode), replayed: String(fast.replayed) });
          return fast;
        }
        inFlight++;
        const end = metrics.checkoutSeconds.startTimer();
        try {
          const reply = await actor.submit(key, fingerprint, request);
          metrics.checkoutResponses.inc({ status: String(reply.statusCode), replayed: String(reply.replayed) });
          return reply;
        } finally {
          inFlight--;
          end();
        }
      },
    },
    orders, promos, taxRates: defaultTaxRates, shippingTable: defaultShippingTable,
    metrics: async () => ({ contentType: metrics.registry.contentType, body: await metrics.registry.metrics() }),
  };

  const http: HttpServer = await startHttpServer({
    port: config.port, host: config.host, router: buildRouter(services), logger: log, bodyBytesMax: limits.bodyBytesMax, before: readinessGate(services),
  });
  log.info({ port: http.port, node: config.nodeId }, 'listening; recovering');

  const timers: NodeJS.Timeout[] = [];
  const recovered = (async () => {
    const started = Date.now();
    const all = Array.from({ length: config.partitions }, (_, p) => p);
    for (const c of await claimPartitions(sql, config.nodeId, all)) {
      journal.own(c);
      epochs.set(c.partition, c.epoch);
    }
    const rows = await loadPartitions(sql, all);
    const state = replayJournal(rows.snapshots, rows.events, log);
    for (const [sku, s] of state.skus) inventory.restore(sku, s);
    const products = await catalog.load();
    for (const r of await sql.query<{ key: string }>(`SELECT key FROM idempotency_keys WHERE created_at > now() - interval '48 hours'`)) knownKeys.add(r.key);
    await resumeSagas(state.unfinished);
    ready = true;
    log.info({ ms: Date.now() - started, skus: state.skus.size, activeSkus: inventory.size().active, products, resumed: state.unfinished.length, events: rows.events.length }, 'recovered; ready');
    timers.push(setInterval(() => void snapshots.flush(), snapshotFlushIntervalMs));
    timers.push(setInterval(() => inventory.passivateIdle(clock.now() - config.passivateIdleMs), Math.max(1_000, config.passivateIdleMs / 2)));
    timers.push(setInterval(() => void snapshots.compact([...epochs.keys()]).catch((err: unknown) => log.error({ err }, 'compaction failed')), compactIntervalMs));
    timers.push(setInterval(() => void sweeper.sweep().catch((err: unknown) => log.error({ err }, 'sweep failed')), config.sweepIntervalMs));
    // Expired carts are deleted; a checked-out cart expires too, its order keeps what it bought.
    timers.push(setInterval(() => void cartStore.deleteExpired(clock.now()).catch((err: unknown) => log.error({ err }, 'cart cleanup failed')), cartCleanupIntervalMs));
    for (const t of timers) t.unref();
  })();

  /**
   * Unfinished sagas run again from their plan; the saga's resume path consults the stored response first, so a
   * saga whose order was written only commits its holds. A resumed saga without a stored response took its promo
   * use before the restart, which the ledger (loaded from confirmed orders) does not count yet.
   */
  async function resumeSagas(sagas: ReturnType<typeof replayJournal>['unfinished']): Promise<void> {
    const records = await Promise.all(sagas.map((s) => idempotency.get(s.plan.key)));
    sagas.forEach(({ plan, compensating, lastSeq }, i) => {
      const stored = records[i]?.statusCode != null;
      if (!stored && plan.priced.promoCode) promos.forceReserve(plan.priced.promoCode, plan.customerKey);
      checkoutActors[checkoutPartition(plan.key, config.partitions)]!.resume(plan, compensating, lastSeq);
    });
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
      await journal.flush().catch(() => undefined);
      await snapshots.flush();
      await orderWriter.close();
      await idempotency.close();
      inventory.stopAll();
      for (const a of checkoutActors) a.stop();
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
