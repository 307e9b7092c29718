import type { Logger } from 'pino';
import { OrderService } from '../actors/order-service.js';
import { PaymentReconciler } from '../actors/payment-reconciler.js';
import { PendingSweeper } from '../actors/pending-sweeper.js';
import { PinnedHoldResolver } from '../actors/pinned-hold-resolver.js';
import type { Topology } from '../actors/topology.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config/config.js';
import { nodeLimits } from '../config/limits.js';
import type { Metrics } from '../metrics.js';
import type { PaymentProvider } from '../payments/provider.js';
import { checkoutSagaFinished } from '../persistence/checkout-journal.js';
import { JobLease } from '../persistence/job-lease.js';
import type { SqlClient } from '../persistence/sql.js';
import type { NodeCore } from './node-core.js';

/**
 * What moves orders and money after the checkout: ship, cancel and refund (OrderService), the pending-order sweeper
 * (one sweep at a time across the cluster, on its job lease), the resolver of pinned holds whose saga is gone, and
 * the reconciler with the payment provider (one at a time across the cluster, on its own lease).
 */
export function createOrderJobs(o: { config: Config; sql: SqlClient; core: NodeCore; topology: Topology; payments: PaymentProvider; metrics: Metrics; clock: Clock; log: Logger; partitions: number }) {
  const { config, sql, core, topology, payments, metrics, clock, log, partitions } = o;
  const inventoryOf = (sku: string) => topology.inventory(sku);
  const orders = new OrderService(core.orderStore, payments, inventoryOf, topology.promos, log);
  const sweepLease = new JobLease(sql, 'pending-sweep', config.nodeId, nodeLimits.jobLeaseTtlMs);
  const sweeper = new PendingSweeper({ store: core.pendingStore, orders, payments, inventory: inventoryOf, promos: topology.promos, log, lease: sweepLease, holdTtlMs: config.holdTtlMs, clock });
  const resolver = new PinnedHoldResolver({
    pinnedBefore: (ms) => core.inventory.pinnedBefore(ms),
    inventory: inventoryOf,
    checkoutRunning: (key) => topology.checkoutRunning(key),
    sagaFinished: (key) => checkoutSagaFinished(sql, partitions, key),
    ordersOf: (ids) => core.orderStore.getByCheckoutIds(ids),
    payments,
    clock,
    log,
  });
  const reconciler = new PaymentReconciler({
    payments,
    lease: new JobLease(sql, 'reconcile', config.nodeId, nodeLimits.jobLeaseTtlMs),
    ordersOf: (ids) => core.orderStore.getByCheckoutIds(ids),
    sagaFinished: (key) => checkoutSagaFinished(sql, partitions, key),
    sweepPending: () => sweeper.sweep(),
    orphanMaxAgeMs: config.orphanAuthMaxAgeMs,
    count: (kind) => metrics.reconcileFindings.inc({ kind }),
    clock,
    log,
  });
  return { orders, sweeper, resolver, reconciler };
}
