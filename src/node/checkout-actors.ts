import type { Logger } from 'pino';
import { CheckoutActor } from '../actors/checkout-actor.js';
import type { PrepareDeps } from '../actors/checkout-prepare.js';
import type { SagaDeps, SagaStepName } from '../actors/checkout-saga.js';
import { randomIds } from '../actors/id-source.js';
import type { Topology } from '../actors/topology.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config/config.js';
import { limits } from '../config/limits.js';
import { defaultShippingTable } from '../domain/shipping.js';
import { defaultTaxRates } from '../domain/tax.js';
import type { Metrics } from '../metrics.js';
import type { PaymentProvider } from '../payments/provider.js';
import type { NewOrder } from '../persistence/order-writer.js';
import type { Tracing } from '../telemetry/tracing.js';
import type { NodeCore } from './node-core.js';
import { timed } from './timed.js';

export interface CheckoutActorsOptions {
  config: Config;
  core: NodeCore;
  topology: Topology;
  payments: PaymentProvider;
  metrics: Metrics;
  clock: Clock;
  log: Logger;
  partitions: number;
  /** Default: off. */
  tracing?: Tracing;
}

/**
 * The checkout actor of each partition this node acquires, wired to the node's stores and to the topology: a
 * checkout reserves stock, counts promotion uses and marks carts wherever those are served.
 */
export function checkoutActorFactory(o: CheckoutActorsOptions): (partition: number) => CheckoutActor {
  const { config, core, topology, metrics, clock, log } = o;
  const saga: Omit<SagaDeps, 'recordCompensation' | 'orders'> = {
    inventory: (sku) => topology.inventory(sku),
    payments: o.payments,
    responses: core.idempotency,
    carts: { markCheckedOut: (cartId) => topology.carts.markCheckedOut(cartId) },
    promos: topology.promos,
    holdTtlMs: config.holdTtlMs,
    ...(config.testKillAfterStep === null ? {} : { afterStep: killAfter(config.testKillAfterStep, log) }),
    clock,
    log,
    tracing: o.tracing,
    storedResponse: async (key) => {
      const rec = await core.idempotency.get(key);
      return rec && rec.statusCode !== null ? { statusCode: rec.statusCode, body: rec.body } : null;
    },
  };
  const prepare: PrepareDeps = {
    product: (sku) => core.catalog.product(sku),
    promotion: (code) => core.catalog.promotion(code),
    // A cart checkout's lines are known once its cart is read: each counts as an attempt for the hot-SKU gauges.
    cart: async (cartId) => {
      const cart = await topology.carts.get(cartId);
      for (const line of cart?.lines ?? []) if (core.catalog.product(line.sku)) metrics.hotSkus.count(line.sku);
      return cart;
    },
    inventoryView: (sku) => topology.inventoryView(sku),
    promos: topology.promos,
    taxRates: defaultTaxRates,
    shippingTable: defaultShippingTable,
    nowMs: () => clock.now(),
    ids: randomIds,
    paymentsAvailable: () => (o.payments.available?.() ?? true ? { ok: true } : { ok: false, retryAfterS: o.payments.retryAfterS?.() ?? 1 }),
  };
  // The memory bound is for the node; each partition keeps its share (durable answers are looked up again).
  const doneEntriesMax = Math.max(16, Math.ceil(limits.idempotencyMemoryEntriesMax / o.partitions));
  // An order is written only while this node owns its checkout's partition at the epoch this actor was made for (the
  // acquire claimed it just before): a write fenced by a newer owner drops the partition here (as a fenced journal
  // write does), so the saga stops instead of retrying. Not the journal's epoch at the write: after the same node
  // acquires the partition again, a saga of the stopped actor (one that writes its pending order after a long
  // authorization, with no check that its actor lives) would write at the new epoch beside the new actor's run.
  const orders = (partition: number, epoch: number | undefined): SagaDeps['orders'] => ({
    write: timed(
      metrics.orderWriteSeconds,
      async (order: NewOrder) => {
        if (epoch === undefined) return 'fenced' as const;
        const written = await core.orderWriter.write(order, { partition, epoch });
        if (written === 'fenced') core.host.fenced(partition, epoch);
        return written;
      },
      o.tracing,
    ),
  });
  return (partition) =>
    new CheckoutActor({
      system: core.system, partition, journal: core.timedJournal, knownKeys: core.knownKeys, lookup: core.lookupKey, prepare, saga: { ...saga, orders: orders(partition, core.journal.epochOf(partition)) }, clock, log, doneEntriesMax,
      onJournalFailure: core.onJournalFailure,
      onTombstone: (entity, seq) => core.snapshots.add(partition, entity, seq, { finished: true }),
    });
}

/** BOXOFFICE_TEST_KILL_AFTER_STEP: SIGKILL as the first saga completes `step` (crash tests; never set in production). */
function killAfter(step: SagaStepName, log: Logger): (done: SagaStepName) => void {
  return (done) => {
    if (done !== step) return;
    log.warn({ step }, 'BOXOFFICE_TEST_KILL_AFTER_STEP: killing this process');
    process.kill(process.pid, 'SIGKILL');
  };
}
