import type { Logger } from 'pino';
import { partitionOf, skuEntity } from '../domain/entities.js';
import { asSku } from '../domain/ids.js';
import { countsOf, emptyInventory, oversoldUnits, type Hold, type InventorySnapshot, type InventoryState, type InventoryView } from '../domain/inventory.js';
import type { ActorSystem } from './actor-system.js';
import type { Clock } from '../clock.js';
import { InventoryActor, type EventJournal } from './inventory-actor.js';

export interface InventoryRegistryDeps {
  system: ActorSystem;
  journal: EventJournal;
  clock: Clock;
  partitions: number;
  snapshotEveryEvents: number;
  onSnapshot: (partition: number, entity: string, seq: number, snap: InventorySnapshot) => void;
  onJournalFailure: (err: unknown) => void;
  onQueueWait?: (seconds: number) => void;
  /** The clock of each ask's deadline; default: the system clock (the seeded simulation injects its own). */
  askClock?: Clock;
  log: Logger;
  /** A SKU's available count changed and the change committed (this node owns the SKU). */
  onAvailableChanged?: (sku: string, available: number) => void;
  /**
   * A live SKU actor newly sold `units` beyond its stock (a bug: boxoffice_oversold_units_total, logged with the SKU).
   * An oversell found when a SKU is loaded is not counted here (every load of the partition would count it again):
   * it is logged and shows in oversoldNow() (boxoffice_oversold_units) while this node serves the SKU.
   */
  onOversold?: (units: number) => void;
}

/** An open hold and when it expires (InventoryRegistry.soonestExpiring). */
export interface ExpiringHold {
  sku: string;
  holdId: string;
  qty: number;
  expiresAtMs: number;
}

/**
 * The SKUs of this node. A busy SKU has an actor; an idle one without holds is passivated: its actor stops and
 * only its counts stay in memory (about a hundred bytes instead of a few kilobytes), and the next command spawns
 * the actor again from them. Recovery loads every SKU with history (idle ones straight into counts); a SKU without
 * any is created empty on first use: the node serves only partitions it loaded completely, so "no history" means
 * "never stocked" (in a cluster, callers ask only for SKUs of partitions this node serves).
 */
export class InventoryRegistry {
  private readonly actors = new Map<string, InventoryActor>();
  private readonly dormant = new Map<string, InventoryView>();
  /** SKUs served here that are oversold now, and by how many units (kept as they change: no scan at scrape). */
  private readonly oversoldBySku = new Map<string, number>();
  private oversoldTotal = 0;

  constructor(private readonly deps: InventoryRegistryDeps) {}

  get(sku: string): InventoryActor {
    return this.actors.get(sku) ?? this.wake(sku);
  }

  view(sku: string): InventoryView | undefined {
    return this.actors.get(sku)?.view ?? this.dormant.get(sku);
  }

  /** Recovery and partition loads: a SKU with holds or returned orders gets an actor now; an idle one is kept as counts. */
  restore(sku: string, state: InventoryState): void {
    const units = oversoldUnits(state);
    this.setOversold(sku, units);
    if (units > 0) this.deps.log.error({ sku, units }, 'SKU loaded oversold (sold + held exceed on hand in its journal): nothing more is sold of it');
    if (state.holds.size === 0 && state.returnedOrders.size === 0) this.dormant.set(sku, { ...countsOf(state), pendingWrites: 0 });
    else this.load(sku, state);
  }

  /** Stops the actors idle since `idleSinceMs`; returns how many were passivated. */
  passivateIdle(idleSinceMs: number): number {
    let n = 0;
    for (const [sku, actor] of this.actors) {
      if (!actor.passivatable(idleSinceMs)) continue;
      actor.stop();
      this.actors.delete(sku);
      this.dormant.set(sku, { ...actor.view, pendingWrites: 0 });
      n++;
    }
    return n;
  }

  private wake(sku: string): InventoryActor {
    const d = this.dormant.get(sku);
    const state = emptyInventory(asSku(sku));
    if (d) {
      state.onHand = d.onHand;
      state.sold = d.sold;
      this.dormant.delete(sku);
    }
    return this.load(sku, state);
  }

  private load(sku: string, state: InventoryState): InventoryActor {
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
        ...(this.deps.askClock ? { askClock: this.deps.askClock } : {}),
        onOversold: (units: number, added: number) => this.oversold(sku, units, added),
        ...(this.deps.onAvailableChanged ? { onAvailable: (available: number) => this.deps.onAvailableChanged!(sku, available) } : {}),
      },
      state,
    );
    this.actors.set(sku, actor);
    return actor;
  }

  private oversold(sku: string, units: number, added: number): void {
    this.setOversold(sku, units);
    if (added <= 0) return;
    this.deps.log.error({ sku, units: added }, 'units sold beyond stock (a bug: sold + held exceed on hand)');
    this.deps.onOversold?.(added);
  }

  private setOversold(sku: string, units: number): void {
    this.oversoldTotal += units - (this.oversoldBySku.get(sku) ?? 0);
    if (units > 0) this.oversoldBySku.set(sku, units);
    else this.oversoldBySku.delete(sku);
  }

  /** Units by which the SKUs this node serves are oversold now (boxoffice_oversold_units): 0 unless a bug. */
  oversoldNow(): number {
    return this.oversoldTotal;
  }

  /** Open holds of the live actors (idle SKUs hold nothing): active and pinned. */
  holdCounts(): { active: number; pinned: number } {
    let active = 0;
    let pinned = 0;
    for (const actor of this.actors.values()) {
      const c = actor.holdCounts();
      active += c.active;
      pinned += c.pinned;
    }
    return { active, pinned };
  }

  /**
   * The `max` active holds of this node that expire soonest, soonest first (the operator dashboard's "holds about to
   * expire"). Reads the actors' state in place, no message: one pass over the open holds, keeping `max` of them.
   */
  soonestExpiring(max: number): ExpiringHold[] {
    const out: ExpiringHold[] = [];
    if (max <= 0) return out;
    for (const [sku, actor] of this.actors) {
      for (const h of actor.openHolds()) {
        if (h.status !== 'active' || (out.length >= max && h.expiresAtMs >= out[out.length - 1]!.expiresAtMs)) continue;
        const at = out.findIndex((o) => o.expiresAtMs > h.expiresAtMs);
        out.splice(at === -1 ? out.length : at, 0, { sku, holdId: h.holdId, qty: h.qty, expiresAtMs: h.expiresAtMs });
        if (out.length > max) out.pop();
      }
    }
    return out;
  }

  /** SKUs with a live actor that are sold out with no write in flight (at most `max`): what peers may answer from. */
  soldOutActive(max: number): string[] {
    const out: string[] = [];
    for (const [sku, actor] of this.actors) {
      if (out.length >= max) break;
      if (actor.view.available === 0 && actor.view.pendingWrites === 0) out.push(sku);
    }
    return out;
  }

  /** Pinned holds past their deadline, with their SKU (idle SKUs hold nothing). */
  pinnedBefore(beforeMs: number): (Hold & { sku: string })[] {
    const out: (Hold & { sku: string })[] = [];
    for (const [sku, actor] of this.actors) for (const h of actor.pinnedBefore(beforeMs)) out.push({ ...h, sku });
    return out;
  }

  /** The live actors of SKUs in `partitions`. */
  activeIn(partitions: ReadonlySet<number>): InventoryActor[] {
    return [...this.actors].filter(([sku]) => partitions.has(this.partitionOf(sku))).map(([, a]) => a);
  }

  /** Forgets every SKU of `partitions` (they left this node): actors stop, counts are dropped. */
  dropPartitions(partitions: ReadonlySet<number>): void {
    if (partitions.size === 0) return;
    for (const [sku, actor] of this.actors) {
      if (!partitions.has(this.partitionOf(sku))) continue;
      actor.stop();
      this.actors.delete(sku);
    }
    for (const sku of this.dormant.keys()) if (partitions.has(this.partitionOf(sku))) this.dormant.delete(sku);
    for (const sku of this.oversoldBySku.keys()) if (partitions.has(this.partitionOf(sku))) this.setOversold(sku, 0);
  }

  private partitionOf(sku: string): number {
    return partitionOf(skuEntity(sku), this.deps.partitions);
  }

  /** SKUs with a live actor, and SKUs kept as counts. */
  size(): { active: number; dormant: number } {
    return { active: this.actors.size, dormant: this.dormant.size };
  }

  stopAll(): void {
    for (const a of this.actors.values()) a.stop();
    this.actors.clear();
    this.dormant.clear();
    this.oversoldBySku.clear();
    this.oversoldTotal = 0;
  }
}
