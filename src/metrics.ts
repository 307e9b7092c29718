/** The node's Prometheus metrics (docs/metrics.md): built in src/metrics/, re-exported here for the rest of the code. */
export { createMetrics, type Metrics } from './metrics/node-metrics.js';
export { HotSkuTracker, type HotSku } from './metrics/hot-skus.js';
