import type { Logger } from 'pino';
import type { OrderService } from '../actors/order-service.js';
import type { PaymentReconciler } from '../actors/payment-reconciler.js';
import type { PaymentWebhooks } from '../actors/payment-webhooks.js';
import type { PendingSweeper } from '../actors/pending-sweeper.js';
import type { PinnedHoldResolver } from '../actors/pinned-hold-resolver.js';
import type { Topology } from '../actors/topology.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config/config.js';
import { nodeLimits } from '../config/limits.js';
import type { NodeCore } from './node-core.js';

/**
 * A node's periodic housekeeping, started once it has recovered: snapshots and compaction of its own partitions,
 * passivation of idle SKUs, and the node-wide chores on shared rows (pending-order sweeps, reconciliation with the
 * payment provider, expired carts), which the topology runs on one node only.
 */
export interface ChoreDeps {
  config: Config;
  core: NodeCore;
  topology: Topology;
  sweeper: PendingSweeper;
  orders: OrderService;
  resolver: PinnedHoldResolver;
  reconciler: PaymentReconciler;
  webhooks: PaymentWebhooks | null;
  /** One run of the retention jobs (idempotency keys, published outbox rows). */
  retention: () => Promise<void>;
  clock: Clock;
  log: Logger;
}

export function startChores(o: ChoreDeps): () => void {
  const { config, core, topology, sweeper, orders, resolver, reconciler, webhooks, retention, clock, log } = o;
  const nodeWide = (fn: () => Promise<unknown>, what: string) => () => {
    if (!topology.runsChores()) return;
    void fn().catch((err: unknown) => log.error({ err }, `${what} failed`));
  };
  const timers = [
    setInterval(() => void core.snapshots.flush(), nodeLimits.snapshotFlushIntervalMs),
    setInterval(() => core.inventory.passivateIdle(clock.now() - config.passivateIdleMs), Math.max(1_000, config.passivateIdleMs / 2)),
    // Pinned holds of this node's SKUs whose saga is gone (run once at start too).
    setInterval(() => void resolver.resolve().catch((err: unknown) => log.error({ err }, 'pinned-hold resolution failed')), nodeLimits.pinnedHoldResolveIntervalMs),
    setInterval(() => void core.snapshots.compact([...core.epochs.keys()]).catch((err: unknown) => log.error({ err }, 'compaction failed')), nodeLimits.compactIntervalMs),
    setInterval(nodeWide(() => sweeper.sweep(), 'sweep'), config.sweepIntervalMs),
    // Reconciliation with the payment provider (run once at start too): orphan authorizations voided.
    setInterval(nodeWide(() => reconciler.reconcile(), 'reconciliation'), config.reconcileIntervalMs),
    // Cancels interrupted between their status change and their restock are finished (idempotent per order).
    setInterval(nodeWide(() => orders.completeRestocks(), 'restock recovery'), config.sweepIntervalMs),
    // Expired carts are deleted; a checked-out cart expires too, its order keeps what it bought.
    setInterval(nodeWide(() => core.cartStore.deleteExpired(clock.now()), 'cart cleanup'), nodeLimits.cartCleanupIntervalMs),
    // Answered idempotency keys and published outbox rows past their keep time are deleted, in bounded batches.
    setInterval(nodeWide(retention, 'retention'), nodeLimits.retentionIntervalMs),
    // Promotion counts of customers idle for an hour are forgotten (this node's ledger stays bounded).
    setInterval(() => core.ledger.evictIdle(clock.now() - nodeLimits.promoLedgerIdleMs), nodeLimits.promoLedgerEvictIntervalMs),
    // Known keys rotate over the retention window: memory stays bounded and a key is known while it is stored.
    setInterval(() => core.knownKeys.rotate(), core.knownKeys.rotateEveryMs(config.idempotencyRetentionMs)),
    // Webhook event ids past the provider's redelivery window are forgotten.
    setInterval(nodeWide(async () => webhooks?.prune(), 'webhook event cleanup'), nodeLimits.cartCleanupIntervalMs),
  ];
  for (const t of timers) t.unref();
  void resolver.resolve().catch((err: unknown) => log.error({ err }, 'pinned-hold resolution failed'));
  nodeWide(() => reconciler.reconcile(), 'reconciliation')();
  nodeWide(() => orders.completeRestocks(), 'restock recovery')();
  return () => {
    for (const t of timers) clearInterval(t);
  };
}
