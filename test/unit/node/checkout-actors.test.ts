import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startActorSystem, type ActorSystem } from '../../../src/actors/actor-system.js';
import type { CheckoutActor } from '../../../src/actors/checkout-actor.js';
import type { SagaDeps } from '../../../src/actors/checkout-saga.js';
import type { Topology } from '../../../src/actors/topology.js';
import { systemClock } from '../../../src/clock.js';
import type { Config } from '../../../src/config/config.js';
import type { Metrics } from '../../../src/metrics.js';
import { checkoutActorFactory } from '../../../src/node/checkout-actors.js';
import type { NodeCore } from '../../../src/node/node-core.js';
import type { PaymentProvider } from '../../../src/payments/provider.js';
import type { OrderFence } from '../../../src/persistence/order-writer.js';
import { makeOrder } from '../../support/orders.js';

/** The orders dependency the factory gave an actor's sagas. */
function ordersOf(actor: CheckoutActor): SagaDeps['orders'] {
  return (actor as unknown as { sagaDeps: SagaDeps }).sagaDeps.orders;
}

describe('the checkout actors of a node', () => {
  let system: ActorSystem;
  afterEach(() => system?.stop());

  it('write their orders at the epoch their partition was acquired at, so a stopped actor’s saga is fenced after a re-acquire', async () => {
    system = startActorSystem('checkout-actors-test');
    const partition = 3;
    let journalEpoch: number | undefined = 5;
    const fences: OrderFence[] = [];
    const fenced = vi.fn();
    const core = {
      system,
      journal: { epochOf: () => journalEpoch },
      // The database holds epoch 7 once the partition is claimed again.
      orderWriter: { write: async (_o: unknown, fence: OrderFence) => (fences.push(fence), fence.epoch === 7 ? 'inserted' : 'fenced') },
      host: { fenced },
      timedJournal: {},
      knownKeys: {},
      lookupKey: async () => null,
      idempotency: {},
      catalog: {},
      onJournalFailure: () => {},
      snapshots: { add: () => {} },
    } as unknown as NodeCore;
    const factory = checkoutActorFactory({
      config: { holdTtlMs: 600_000, testKillAfterStep: null } as unknown as Config,
      core,
      topology: { promos: {}, carts: {} } as unknown as Topology,
      payments: {} as PaymentProvider,
      metrics: { orderWriteSeconds: { startTimer: () => () => 0 } } as unknown as Metrics,
      clock: systemClock,
      log: pino({ level: 'silent' }),
      partitions: 16,
    });
    const before = factory(partition);
    before.stop();
    // The same node acquires the partition again (epoch 7): the new actor writes at 7; the old one's saga, still
    // running, writes at 5 and is fenced, which does not drop the partition served at 7.
    journalEpoch = 7;
    const after = factory(partition);
    expect(await ordersOf(after).write(makeOrder())).toBe('inserted');
    expect(await ordersOf(before).write(makeOrder())).toBe('fenced');
    expect(fences.map((f) => f.epoch)).toEqual([7, 5]);
    expect(fenced).toHaveBeenCalledWith(partition, 5);
    after.stop();
  });
});
