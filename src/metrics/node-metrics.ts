import client from 'prom-client';
import { BacklogGauges } from './backlog-gauges.js';
import { createBusinessCounters } from './business-counters.js';
import { createCheckoutOutcomes } from './checkout-outcomes.js';
import { createEventLoopLag } from './event-loop-lag.js';
import { HotSkuTracker } from './hot-skus.js';
import { createPaymentMetrics } from './payment-metrics.js';
import { createRuntimeGauges } from './runtime-gauges.js';

/**
 * Prometheus metrics (prom-client: the standard Node exporter). One registry per node, so several nodes in one
 * test process do not collide. Histograms are in seconds, Prometheus' convention.
 */
export function createMetrics() {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry });
  // Counted in a plain map and handed to prom-client when scraped: counting through the counter itself hashes a
  // label object per answer (its bound children too), and a sold-out storm answers tens of thousands a second.
  // Keys are ±status: negative for replays.
  const checkoutResponseCounts = new Map<number, number>();
  const checkoutResponses = new client.Counter({
    name: 'boxoffice_checkout_responses_total',
    help: 'Checkout responses by HTTP status and whether they were replays.',
    labelNames: ['status', 'replayed'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [key, n] of checkoutResponseCounts) this.inc({ status: String(Math.abs(key)), replayed: String(key < 0) }, n);
    },
  });
  const countCheckoutResponse = (statusCode: number, replayed: boolean): void => {
    const key = replayed ? -statusCode : statusCode;
    checkoutResponseCounts.set(key, (checkoutResponseCounts.get(key) ?? 0) + 1);
  };
  const checkoutSeconds = withExemplars(registry, {
    name: 'boxoffice_checkout_seconds',
    help: 'Checkout latency inside the node, from validation to reply.',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  });
  const stageBuckets = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];
  const stage = (name: string, help: string) => withExemplars(registry, { name: `boxoffice_${name}_seconds`, help, buckets: stageBuckets });
  const labelled = <L extends string>(name: string, help: string, label: L) => new client.Counter({ name, help, labelNames: [label] as const, registers: [registry] });
  const webhookEvents = labelled('boxoffice_webhook_events_total', 'Provider webhook events received, by what they led to (handled, deferred, ignored, unknown, duplicate, discrepancy, invalid).', 'outcome');
  const reconcileFindings = labelled('boxoffice_reconcile_findings_total', 'What reconciliation with the payment provider found and did, by kind.', 'kind');
  const retentionDeleted = labelled('boxoffice_retention_deleted_total', 'Rows deleted by the retention jobs, by table (idempotency_keys past IDEMPOTENCY_RETENTION_MS, published outbox rows).', 'table');
  const clusterAuthFailures = new client.Counter({
    name: 'boxoffice_cluster_auth_failures_total',
    help: 'Connections to the node port closed because they did not prove CLUSTER_SECRET (or stalled, or were malformed).',
    registers: [registry],
  });
  // The WebSocket API (src/http/ws): plain numbers the server bumps, read when scraped (like the checkout counts).
  const ws = { socketsOpen: 0, framesIn: 0, framesOut: 0, closedByServer: new Map<string, number>() };
  new client.Gauge({ name: 'boxoffice_ws_sockets', help: 'Open WebSocket connections at /ws.', registers: [registry], collect() { this.set(ws.socketsOpen); } });
  for (const [name, help, read] of [
    ['boxoffice_ws_frames_received_total', 'WebSocket frames received from clients.', () => ws.framesIn],
    ['boxoffice_ws_frames_sent_total', 'WebSocket frames sent to clients (answers and updates).', () => ws.framesOut],
  ] as const) {
    new client.Counter({ name, help, registers: [registry], collect() { this.reset(); this.inc(read()); } });
  }
  new client.Counter({
    name: 'boxoffice_ws_closed_by_server_total',
    help: 'WebSockets the server closed, by reason (slow_reader, error_frames, frame_too_large, sockets_max).',
    labelNames: ['reason'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [reason, n] of ws.closedByServer) this.inc({ reason }, n);
    },
  });
  const business = createBusinessCounters(registry);
  const hotSkus = new HotSkuTracker();
  const eventLoop = createEventLoopLag(registry);
  const dropExpirations = new client.Counter({ name: 'boxoffice_drop_expirations_total', help: 'Admissions that ended without a purchase (admissionTtlMs passed).', registers: [registry] });
  return {
    registry,
    /** WebSocket counts the server keeps (src/http/ws/ws-server.ts WsCounts). */
    ws,
    dropExpirations,
    ...business,
    /** boxoffice_checkouts_total{outcome} and boxoffice_sold_out_answers_total{path}. */
    checkouts: createCheckoutOutcomes(registry),
    /** boxoffice_payment_seconds{call} and boxoffice_payment_errors_total{call,kind}. */
    payments: createPaymentMetrics(registry),
    /** The top SKUs by checkout attempts (boxoffice_hot_sku_*); `hotSkus.top()` for dashboards. */
    hotSkus,
    /** Gauges computed at scrape from this node's memory: the node wires their sources. */
    runtime: createRuntimeGauges(registry, hotSkus, business.dropSku),
    /** Gauges read from PostgreSQL (cached): the node wires their source. */
    backlog: new BacklogGauges(registry),
    /** Stops what runs beside the registry (the event-loop monitor). */
    close: () => eventLoop.close(),
    webhookEvents,
    reconcileFindings,
    clusterAuthFailures,
    retentionDeleted,
    /** Counts a checkout response in boxoffice_checkout_responses_total. */
    countCheckoutResponse,
    checkoutSeconds,
    /** Time a command waited in an inventory actor's mailbox before it was handled. */
    actorQueueSeconds: new client.Histogram({ name: 'boxoffice_actor_queue_seconds', help: 'Time a command waited in an inventory actor mailbox.', buckets: stageBuckets, registers: [registry] }),
    /** Time from a journal append to the commit of its batch (what a reply waits for). */
    journalCommitSeconds: stage('journal_commit', 'Time from a journal append to the commit of its batch.'),
    paymentSeconds: stage('payment_authorize', 'Payment authorization calls, retries included.'),
    orderWriteSeconds: stage('order_write', 'Time from an order write to the commit of its batch.'),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/**
 * A latency histogram that keeps the trace id of an observation as its bucket's exemplar: timed with
 * `startTimer(undefined, { trace_id })` or observed with `observe({ value, exemplarLabels })` (a plain `observe(value)`
 * throws). prom-client refuses exemplars on a classic-format registry at construction, so it is registered by hand:
 * the classic text omits exemplars, the OpenMetrics rendering (src/telemetry/openmetrics.ts) shows them.
 */
function withExemplars(registry: client.Registry, config: { name: string; help: string; buckets: number[] }): client.Histogram {
  const histogram = new client.Histogram({ ...config, registers: [], enableExemplars: true });
  registry.registerMetric(histogram);
  return histogram;
}
