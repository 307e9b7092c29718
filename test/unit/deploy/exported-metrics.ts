import { createMetrics } from '../../../src/metrics.js';
import { createEventMetrics } from '../../../src/events/event-metrics.js';

/** Every metric name a node's registry holds (src/metrics.ts and the event relay's), for the dashboards and alerts. */
export async function exportedMetricNames(): Promise<Set<string>> {
  const metrics = createMetrics();
  createEventMetrics(metrics.registry);
  return new Set((await metrics.registry.getMetricsAsJSON()).map((m) => m.name));
}
