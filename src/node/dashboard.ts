import type { DropService } from '../actors/drop-service.js';
import type { Clock } from '../clock.js';
import { CheckoutRates } from '../dashboard/checkout-rates.js';
import { DashboardFeed } from '../dashboard/dashboard-feed.js';
import { DashboardSnapshots } from '../dashboard/dashboard-snapshot.js';
import type { NodeServices } from '../http/services.js';
import type { Metrics } from '../metrics.js';
import type { NodeCore } from './node-core.js';

export interface NodeDashboard {
  service: NodeServices['dashboard'];
  /** Ends every dashboard stream and stops sampling (the node is closing). */
  close(): void;
}

/**
 * The operator dashboard's data on one node (docs/dashboard.md): the checkout rates sampled every second from this
 * node's registry, the cluster view from the routes' own service functions, the oldest pending orders from
 * PostgreSQL, the drop rooms held here; one shared snapshot, one stream feed.
 */
export function createDashboard(o: { metrics: Metrics; core: NodeCore; clock: Clock; cluster: NodeServices['cluster']; drops: DropService }): NodeDashboard {
  const rates = new CheckoutRates(o.metrics.registry, o.clock);
  rates.start();
  const snapshots = new DashboardSnapshots({
    registry: o.metrics.registry,
    rates,
    nowMs: () => o.clock.now(),
    cluster: o.cluster,
    pendingOrders: (limit) => o.core.orderStore.listByStatus('pending', limit),
    expiringHolds: (limit) => o.core.inventory.soonestExpiring(limit),
    drops: (limit) => o.drops.localViews(limit),
    streams: (): number => feed.open(),
  });
  const feed: DashboardFeed = new DashboardFeed(snapshots, { nowMs: () => o.clock.now() });
  return {
    service: { snapshot: () => snapshots.get(), feed },
    close() {
      feed.close();
      rates.stop();
    },
  };
}
