import type { Logger } from 'pino';
import { skuEntity, partitionOf } from '../cluster/partitioner.js';
import { asSku } from '../domain/ids.js';
import { emptyInventory, type InventorySnapshot, type InventoryState } from '../domain/inventory.js';
import type { ActorSystem } from './actor-system.js';
import type { Clock } from './clock.js';
import { InventoryActor, type EventJournal, type InventoryView } from './inventory-actor.js';

export interface InventoryRegistryDeps {
  system: ActorSystem;
  journal: EventJournal;
  clock: Clock;
  partitions: number;
  snapshotEveryEvents: number;
  onSnapshot: (partition: number, entity: string, seq: number, snap: InventorySnapshot) => void;
  onJournalFailure: (err: unknown) => void;
  onQueueWait?: (seconds: number) => void;
  log: Logger;
}

/**
 * The SKU actors of this node, by SKU. Recovery loads every SKU with history; a SKU without any is created empty
 * on first use (this node owns every partition, so "no history" really means "never stocked").
 */
export class InventoryRegistry {
  private readonly actors = new Map<string, InventoryActor>();

  constructor(private readonly deps: InventoryRegistryDeps) {}

  get(sku: string): InventoryActor {
    return this.actors.get(sku) ?? this.load(sku, emptyInventory(asSku(sku)));
  }

  view(sku: string): InventoryView | undefined {
    return this.actors.get(sku)?.view;
  }

  load(sku: string, state: InventoryState): InventoryActor {
    const entity = skuEntity(sku);
    const actor = new InventoryActor(
      {
        system: this.deps.system,
        journal: this.deps.journal,
        clock: this.deps.clock,
        partition: partitionOf(entity, this.deps.partitions),
        entity,
        snapshotEveryEvents: this.deps.snapshotEveryEvents,
        onSnapshot: this.deps.onSnapshot,
        onJournalFailure: this.deps.onJournalFailure,
        onBug: (err) => this.deps.log.error({ err, sku }, 'inventory actor bug'),
        ...(this.deps.onQueueWait ? { onQueueWait: this.deps.onQueueWait } : {}),
      },
      state,
    );
    this.actors.set(sku, actor);
    return actor;
  }

  size(): number {
    return this.actors.size;
  }

  stopAll(): void {
    for (const a of this.actors.values()) a.stop();
    this.actors.clear();
  }
}
