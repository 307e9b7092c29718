import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import client from 'prom-client';
import { metricLimits } from '../config/limits.js';

/** What the gauge needs of perf_hooks' monitor (tests pass a stand-in). */
type DelayMonitor = Pick<IntervalHistogram, 'enable' | 'disable' | 'reset' | 'percentile' | 'count' | 'max'>;

export interface EventLoopLagOptions {
  monitor?: DelayMonitor;
  /** Starts the window timer: calls `rotate` every `ms`, returns what stops it (default: an unref'd setInterval). */
  every?: (rotate: () => void, ms: number) => () => void;
  windowMs?: number;
}

const unrefInterval = (fn: () => void, ms: number): (() => void) => {
  const t = setInterval(fn, ms);
  t.unref();
  return () => clearInterval(t);
};

/**
 * boxoffice_event_loop_lag_seconds and boxoffice_event_loop_lag_max_seconds: the p99 and the max event-loop delay of
 * the last full window of `metricLimits.eventLoopWindowMs` (perf_hooks' monitor, read and reset by a timer, not by
 * scrapes: two scrapers see the same window instead of splitting a stall between them). prom-client's
 * nodejs_eventloop_lag_* default metrics measure since start; these answer "how stalled was the loop lately".
 * `close()` stops the timer and the monitor.
 */
export function createEventLoopLag(registry: client.Registry, o: EventLoopLagOptions = {}) {
  const monitor = o.monitor ?? monitorEventLoopDelay({ resolution: metricLimits.eventLoopResolutionMs });
  let last = { p99S: 0, maxS: 0 };
  const rotate = () => {
    // No sample in the window (perf_hooks reads NaN then): 0.
    last = monitor.count > 0 ? { p99S: monitor.percentile(99) / 1e9, maxS: monitor.max / 1e9 } : { p99S: 0, maxS: 0 };
    monitor.reset();
  };
  monitor.enable();
  const stop = (o.every ?? unrefInterval)(rotate, o.windowMs ?? metricLimits.eventLoopWindowMs);
  new client.Gauge({
    name: 'boxoffice_event_loop_lag_seconds',
    help: 'p99 event-loop delay over the last full window (10 s), in seconds.',
    registers: [registry],
    collect() {
      this.set(last.p99S);
    },
  });
  new client.Gauge({
    name: 'boxoffice_event_loop_lag_max_seconds',
    help: 'Longest event-loop delay over the last full window (10 s), in seconds.',
    registers: [registry],
    collect() {
      this.set(last.maxS);
    },
  });
  let closed = false;
  return {
    close: () => {
      if (closed) return;
      closed = true;
      stop();
      monitor.disable();
    },
  };
}
