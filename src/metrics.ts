import client from 'prom-client';

/**
 * Prometheus metrics (prom-client: the standard Node exporter). One registry per node, so several nodes in one
 * test process do not collide. Histograms are in seconds, Prometheus' convention.
 */
export function createMetrics() {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry });
  const checkoutResponses = new client.Counter({
    name: 'boxoffice_checkout_responses_total',
    help: 'Checkout responses by HTTP status and whether they were replays.',
    labelNames: ['status', 'replayed'] as const,
    registers: [registry],
  });
  // One bound child per (status, replayed): counting a response then hashes no label object (a sold-out storm
  // counts tens of thousands a second).
  const checkoutResponseCounters = new Map<number, client.Counter.Internal>();
  const countCheckoutResponse = (reply: { statusCode: number; replayed: boolean }): void => {
    const cacheKey = reply.replayed ? -reply.statusCode : reply.statusCode;
    let child = checkoutResponseCounters.get(cacheKey);
    if (child === undefined) {
      child = checkoutResponses.labels(String(reply.statusCode), String(reply.replayed));
      checkoutResponseCounters.set(cacheKey, child);
    }
    child.inc();
  };
  const checkoutSeconds = new client.Histogram({
    name: 'boxoffice_checkout_seconds',
    help: 'Checkout latency inside the node, from validation to reply.',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const stage = (name: string, help: string) =>
    new client.Histogram({ name: `boxoffice_${name}_seconds`, help, buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1], registers: [registry] });
  return {
    registry,
    checkoutResponses,
    /** Counts a checkout response in checkoutResponses. */
    countCheckoutResponse,
    checkoutSeconds,
    /** Time a command waited in an inventory actor's mailbox before it was handled. */
    actorQueueSeconds: stage('actor_queue', 'Time a command waited in an inventory actor mailbox.'),
    /** Time from a journal append to the commit of its batch (what a reply waits for). */
    journalCommitSeconds: stage('journal_commit', 'Time from a journal append to the commit of its batch.'),
    paymentSeconds: stage('payment_authorize', 'Payment authorization calls, retries included.'),
    orderWriteSeconds: stage('order_write', 'Time from an order write to the commit of its batch.'),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
