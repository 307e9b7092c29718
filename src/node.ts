import { randomBytes } from 'node:crypto';
import pino, { type DestinationStream, type Logger } from 'pino';
import { LocalTopology } from './actors/local-topology.js';
import type { Topology } from './actors/topology.js';
import { systemClock, type Clock } from './clock.js';
import { ClusterTopology } from './cluster/cluster-topology.js';
import type { Config } from './config/config.js';
import { limits, nodeLimits } from './config/limits.js';
import { HttpForwarding } from './edge/http-forwarding.js';
import { buildRouter, readinessGate } from './http/routes/index.js';
import { startHttpServer } from './http/server.js';
import type { NodeServices } from './http/services.js';
import { createMetrics, type Metrics } from './metrics.js';
import { checkoutActorFactory } from './node/checkout-actors.js';
import { startChores } from './node/chores.js';
import { closeCore, createCore, flushCore, type NodeCore } from './node/node-core.js';
import { nodeServices } from './node/node-services.js';
import { createDrops, dropsToSockets } from './node/drops.js';
import { createDashboard } from './node/dashboard.js';
import type { DropPublisher } from './actors/drop-service.js';
import { createOrderJobs } from './node/order-jobs.js';
import { startLiveUpdates } from './node/live-updates.js';
import type { TopicHub } from './edge/topic-hub.js';
import { retentionJob } from './node/retention-jobs.js';
import { wireMetricSources } from './node/metric-sources.js';
import { createWebhooks } from './node/webhooks.js';
import { createEvents, type NodeEvents } from './node/events.js';
import { openStorage } from './node/storage.js';
import { timedPayments } from './node/timed.js';
import type { PaymentProvider } from './payments/provider.js';
import { SimulatedPaymentProvider } from './payments/simulated-provider.js';
import { StripePaymentProvider } from './payments/stripe-provider.js';
import type { SqlClient } from './persistence/sql.js';
import { startTracing, traceLogFields, type Tracing } from './telemetry/tracing.js';

export interface NodeOptions {
  clock?: Clock;
  payments?: PaymentProvider;
  logger?: Logger;
  /** Where the node's own logger writes (default stdout); ignored with `logger`. */
  logDestination?: DestinationStream;
  /** What a journal write that cannot commit does; default: log and exit (crash-only, recovery repairs). */
  onFatal?: (err: unknown) => void;
  /** Live updates of drop tickets (docs/drops.md): wire to the WebSocket topic `drop:<sku>`; default none. */
  publishDrop?: DropPublisher;
}

export interface RunningNode {
  port: number;
  services: NodeServices;
  sql: SqlClient;
  /** Resolves when recovery finished and the node answers every route. */
  recovered: Promise<void>;
  /** Live updates for WebSocket subscribers on every node (docs/websocket.md). */
  topics: TopicHub;
  /** Events out (docs/events.md): `events.feed.subscribe(fn)` hears every event this node's relay delivers. */
  events: NodeEvents;
  close(): Promise<void>;
}

/**
 * One boxoffice node, composed: storage, the core (journal, actors, stores, partitions), the topology (alone or in a
 * cluster: the one place the mode is chosen), the services the routes use, the HTTP edge; then recovery, in the
 * background, while /healthz already answers.
 */
export async function startNode(config: Config, opts: NodeOptions = {}): Promise<RunningNode> {
  const clock = opts.clock ?? systemClock;
  const startedAtMs = clock.now();
  const { log, tracing } = await observability(config, opts);
  const onFatal = opts.onFatal ?? exitOnFatal(log);
  const { sql, partitions } = await openStorage(config, log);
  const metrics = createMetrics();
  try {
    return await assembleNode({ config, opts, clock, startedAtMs, log, onFatal, sql, partitions, metrics, tracing });
  } catch (err) {
    // The event-loop monitor runs beside the registry, the span exporter beside the node: a start that fails does
    // not leave them running.
    metrics.close();
    await tracing.shutdown().catch(() => undefined);
    throw err;
  }
}

interface NodeParts {
  config: Config;
  opts: NodeOptions;
  clock: Clock;
  startedAtMs: number;
  log: Logger;
  onFatal: (err: unknown) => void;
  sql: SqlClient;
  partitions: number;
  metrics: Metrics;
  tracing: Tracing;
}

/** Everything after the storage and the metrics: the core, the topology, the services, the edge, recovery. */
async function assembleNode(o: NodeParts): Promise<RunningNode> {
  const { config, opts, clock, startedAtMs, log, onFatal, sql, partitions, metrics, tracing } = o;
  const live = await startLiveUpdates({ config, clock, log, metrics });
  // The partition host creates checkout actors and reports fenced writes; both go through the topology, which needs
  // the host. These closures run only once partitions are acquired (topology.start), when everything exists.
  const core = createCore({
    config, sql, partitions, clock, log, metrics, onFatal, tracing,
    fenced: (partition, epoch) => topology.fenced(partition, epoch),
    forceReservePromo: (code, customerKey) => topology.promos.forceReserve(code, customerKey),
    newCheckoutActor: (partition) => checkoutActors(partition),
    onAvailableChanged: (sku, available) => live.stock.changed(sku, available),
  });
  const topology: Topology =
    config.redisUrl === null
      ? new LocalTopology({ sql, nodeId: config.nodeId, nodeHost: config.nodeHost, partitions, startedAtMs, host: core.host, inventory: core.inventory, carts: core.carts, promos: core.ledger, log })
      : new ClusterTopology({ config, sql, partitions, host: core.host, inventory: core.inventory, carts: core.carts, cartStore: core.cartStore, promos: core.ledger, catalog: core.catalog, clock, log, countAuthFailure: () => metrics.clusterAuthFailures.inc() });
  const payments = timedPayments(opts.payments ?? paymentProviderOf(config, clock), metrics, tracing);
  const { orders, sweeper, resolver, reconciler } = createOrderJobs({ config, sql, core, topology, payments, metrics, clock, log, partitions });
  const checkoutActors = checkoutActorFactory({ config, core, topology, payments, metrics, clock, log, partitions, tracing });
  core.catalog.onProductsChanged = (skus) => topology.productsChanged(skus);
  const forwarding = new HttpForwarding(topology.link, log, tracing);
  let ready = false;
  const webhooks = createWebhooks({ config, sql, core, sweeper, metrics, log });
  const events = createEvents({ config, sql, core, partitions, metrics, clock, log, topics: live.hub });
  const base = nodeServices({ config, core, topology, orders, metrics, clock, partitions, placement: forwarding.placement, ready: () => ready, webhooks, webhookEndpoints: events.endpoints, tracing });
  const drops = createDrops({ sql, core, topology, checkout: base.checkout, metrics, clock, log, publish: opts.publishDrop ?? dropsToSockets(live.hub) });
  const dashboard = createDashboard({ metrics, core, clock, cluster: base.cluster, drops });
  const services: NodeServices = { ...base, drops, dashboard: dashboard.service };
  wireMetricSources({ metrics, core, topology, drops, sql, log });
  const router = buildRouter(services);
  forwarding.serve(router);
  const http = await startHttpServer({ port: config.port, host: config.host, router, logger: log, bodyBytesMax: limits.bodyBytesMax, before: readinessGate(services), mount: live.webSocket(router, readinessGate(services)), tracing });
  log.info({ port: http.port, node: config.nodeId }, 'listening; recovering');

  let stopChores = () => {};
  let closing = false;
  const recovered = (async () => {
    await recover(core, topology, log);
    // Drops are read before ready (no checkout could be told it buys one); nothing starts behind a close.
    if (!closing) await drops.start();
    ready = true;
    if (!closing) events.start();
    if (!closing) stopChores = startChores({ config, core, topology, sweeper, orders, resolver, reconciler, webhooks, retention: retentionJob({ config, sql, metrics, log }), clock, log });
  })();
  recovered.catch(recoveryFailed(log, onFatal));

  return {
    port: http.port,
    services,
    sql,
    recovered,
    topics: live.hub,
    events,
    async close() {
      closing = true;
      stopChores();
      drops.stop();
      dashboard.close();
      http.close();
      await recovered.catch(() => undefined);
      await closeNode({ events, core, topology, live, sql, log, metrics, tracing });
    },
  };
}

/** After the edge closed and recovery ended: the relay, the checkouts, the writes, the cluster, the storage, the metrics, the traces. */
async function closeNode(n: { events: NodeEvents; core: NodeCore; topology: Topology; live: { close(): Promise<void> }; sql: { close(): Promise<void> }; log: Logger; metrics: Metrics; tracing: Tracing }): Promise<void> {
  const { core, log } = n;
  try {
    await n.events.stop();
    if (!(await core.host.drainCheckouts(nodeLimits.closeDrainMs))) log.warn({ waitedMs: nodeLimits.closeDrainMs }, 'checkouts still running at close: the next start resumes them');
    // Writes first, then leave: once this node is gone from the member list its partitions fail over, and a write
    // still in flight would only be fenced (safe, but the work is redone by the next owner).
    await flushCore(core);
    await n.topology.close().catch((err: unknown) => log.warn({ err }, 'leaving the cluster failed'));
    await n.live.close();
    await closeCore(core);
    await n.sql.close();
  } finally {
    // Whatever failed above, the event-loop monitor and its timer stop with the node.
    n.metrics.close();
    // Last: the spans of the writes flushed above are exported too.
    await n.tracing.shutdown().catch((err: unknown) => log.warn({ err }, 'exporting the last spans failed'));
  }
}

/**
 * The node's logger (its own: JSON lines, each with the active span's trace_id and span_id) and its tracing, which
 * loads the OpenTelemetry SDK only when traces are exported (docs/observability.md).
 */
async function observability(config: Config, opts: NodeOptions): Promise<{ log: Logger; tracing: Tracing }> {
  const log = opts.logger ?? pino({ level: config.logLevel, mixin: traceLogFields }, opts.logDestination);
  return { log, tracing: await startTracing(config.tracing, log) };
}

/** Products, known keys, then this node's partitions (snapshots, journal tails, unfinished checkouts). */
async function recover(core: NodeCore, topology: Topology, log: Logger): Promise<void> {
  const startedMs = performance.now();
  const products = await core.catalog.load();
  await core.host.scanKnownKeys();
  await topology.start();
  const skus = core.inventory.size();
  log.info({ ms: Math.round(performance.now() - startedMs), partitions: core.host.servedPartitions().length, activeSkus: skus.active, dormantSkus: skus.dormant, products, mode: topology.mode }, 'recovered; ready');
}

/** PAYMENT_PROVIDER: the simulated provider (the default, tests and bench), or Stripe. */
function paymentProviderOf(config: Config, clock: Clock): PaymentProvider {
  if (config.stripe === null) return new SimulatedPaymentProvider({ latencyMs: config.simPaymentLatencyMs, instanceId: randomBytes(4).toString('hex') });
  return new StripePaymentProvider({ apiKey: config.stripe.apiKey, apiBase: config.stripe.apiBase, clock });
}

/** A failed recovery is fatal: logged, then handed to onFatal. */
function recoveryFailed(log: Logger, onFatal: (err: unknown) => void): (err: unknown) => void {
  return (err) => {
    log.fatal({ err }, 'recovery failed');
    onFatal(err);
  };
}

function exitOnFatal(log: Logger): (err: unknown) => void {
  return (err) => {
    log.fatal({ err }, 'journal write failed after retries: exiting so recovery restores a consistent state');
    process.exit(70);
  };
}
