import client from 'prom-client';

/** The relay's and the webhooks' metrics (docs/events.md), registered on a node's registry once. */
export function createEventMetrics(registry: client.Registry) {
  let lagSource: () => number = () => 0;
  const lag = new client.Gauge({
    name: 'boxoffice_events_lag_seconds',
    help: "Age of the oldest event this node's relay has not delivered yet (0 when it is caught up).",
    registers: [registry],
    collect() {
      this.set(lagSource());
    },
  });
  return {
    lag,
    /** The relay tells the gauge where its lag comes from. */
    setLagSource(fn: () => number): void {
      lagSource = fn;
    },
    relayed: new client.Counter({ name: 'boxoffice_events_relayed_total', help: 'Events the relay delivered to its sink and marked delivered, by sink.', labelNames: ['sink'] as const, registers: [registry] }),
    webhookAttempts: new client.Counter({
      name: 'boxoffice_webhook_deliveries_total',
      help: 'Outgoing webhook attempts, by outcome (delivered, failed: to be retried, parked).',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    webhookParked: new client.Counter({
      name: 'boxoffice_webhook_parked_total',
      help: 'Outgoing webhook deliveries parked: failing for WEBHOOK_RETRY_MAX_AGE_MS, or queued behind a parked event of their order.',
      registers: [registry],
    }),
  };
}

export type EventMetrics = ReturnType<typeof createEventMetrics>;
