import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import client from 'prom-client';
import { metricLimits } from '../config/limits.js';

/**
 * boxoffice_event_loop_lag_seconds: the p99 event-loop delay since the last scrape (perf_hooks' monitor, reset at
 * each collect). prom-client's nodejs_eventloop_lag_* default metrics measure since start; this one answers "how
 * stalled was the loop lately". `close()` stops the monitor.
 */
export function createEventLoopLag(registry: client.Registry, monitor: IntervalHistogram = monitorEventLoopDelay({ resolution: metricLimits.eventLoopResolutionMs })) {
  monitor.enable();
  new client.Gauge({
    name: 'boxoffice_event_loop_lag_seconds',
    help: 'p99 event-loop delay since the previous scrape, in seconds.',
    registers: [registry],
    collect() {
      // No sample yet (a scrape right after the last one) reads as NaN in perf_hooks: report 0.
      const p99 = monitor.count > 0 ? monitor.percentile(99) / 1e9 : 0;
      monitor.reset();
      this.set(p99);
    },
  });
  return { close: () => monitor.disable() };
}
