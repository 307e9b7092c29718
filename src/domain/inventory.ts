import assert from 'node:assert/strict';
import { limits } from '../config/limits.js';
import { fail, type Failure } from '../errors.js';
import type { HoldId, SkuId } from './ids.js';

/**
 * One SKU's stock as a pure state machine: `decideInventory(state, command, nowMs) → { events, reply }` and
 * `applyInventoryEvent(state, event)`. The actor shell persists the events and sends the reply after they commit.
 *
 * Invariant (DESIGN.md 1): available + held + sold == onHand, with available = onHand − held − sold ≥ 0.
 * Hold lifecycle (DESIGN.md "The checkout protocol"): active → pinned → committed, or active|pinned → released.
 * Only active holds expire; a pinned hold waits for its saga to commit or release it.
 */
export type HoldStatus = 'active' | 'pinned';

export interface Hold {
  holdId: HoldId;
  qty: number;
  expiresAtMs: number;
  status: HoldStatus;
  checkoutId: string;
  /**
   * The Idempotency-Key of the checkout holding it (absent on holds an admin placed, and on holds older versions
   * journaled): it names the saga a pinned hold belongs to, so a hold left pinned can be resolved against its saga
   * and its order (PinnedHoldResolver).
   */
  checkoutKey?: string;
}

export interface InventoryState {
  sku: SkuId;
  onHand: number;
  held: number;
  sold: number;
  holds: Map<HoldId, Hold>;
  /** Orders whose stock came back on cancellation, so a repeated return is a no-op (bounded by cancellations). */
  returnedOrders: Set<string>;
  /**
   * The most recently committed holds (at most limits.recentlyCommittedHoldsMax, in memory only, not in snapshots): a reserve of
   * one of them is a no-op. It closes a cluster race: a saga resumed by a partition's new owner must not reserve again
   * the hold its old owner's run just committed (a second sale of one order).
   */
  recentlyCommitted?: Set<HoldId>;
}

export type ReleaseReason = 'expired' | 'payment_failed' | 'compensated' | 'cancelled';

export type InventoryEvent =
  | { t: 'onHandSet'; onHand: number }
  | { t: 'reserved'; holdId: HoldId; qty: number; expiresAtMs: number; checkoutId: string; checkoutKey?: string }
  | { t: 'pinned'; holdId: HoldId }
  | { t: 'committed'; holdId: HoldId }
  | { t: 'released'; holdId: HoldId; reason: ReleaseReason }
  | { t: 'returned'; orderId: string; qty: number };

export type InventoryCommand =
  | { t: 'setOnHand'; onHand: number }
  | { t: 'reserve'; holdId: HoldId; qty: number; ttlMs: number; checkoutId: string; checkoutKey?: string }
  | { t: 'pin'; holdId: HoldId }
  | { t: 'commit'; holdId: HoldId }
  | { t: 'release'; holdId: HoldId; reason: ReleaseReason }
  | { t: 'expire'; holdIds: HoldId[] }
  | { t: 'return'; orderId: string; qty: number };

export interface InventoryCounts {
  sku: SkuId;
  onHand: number;
  available: number;
  held: number;
  sold: number;
}

/** A SKU's counts as callers see them, with the journal writes still in flight. */
export interface InventoryView extends InventoryCounts {
  /** Journal writes started and not yet committed: while > 0, replies wait for them. */
  pendingWrites: number;
}

/** `changed` says whether the command changed anything (e.g. a release of an unknown hold does not). */
export type InventoryReply = ({ ok: true; changed: boolean } & InventoryCounts) | Failure;

export interface InventoryDecision {
  events: InventoryEvent[];
  reply: InventoryReply;
}

export function emptyInventory(sku: SkuId): InventoryState {
  return { sku, onHand: 0, held: 0, sold: 0, holds: new Map(), returnedOrders: new Set() };
}

/** Units that can be sold: 0 while the SKU is oversold (a journal that records an oversell), never negative. */
export function availableOf(s: InventoryState): number {
  return Math.max(0, s.onHand - s.held - s.sold);
}

/** Units by which sold + held exceed on hand: 0 always, unless a bug sold stock that was not there. */
export function oversoldUnits(s: { onHand: number; held: number; sold: number }): number {
  return Math.max(0, s.sold + s.held - s.onHand);
}

export function countsOf(s: InventoryState): InventoryCounts {
  return { sku: s.sku, onHand: s.onHand, available: availableOf(s), held: s.held, sold: s.sold };
}

/** The reply after `events` are applied: counts are computed on a state the caller has already advanced. */
function decided(s: InventoryState, events: InventoryEvent[]): InventoryDecision {
  const after = projectCounts(s, events);
  return { events, reply: { ok: true, changed: events.length > 0, ...after } };
}

function projectCounts(s: InventoryState, events: InventoryEvent[]): InventoryCounts {
  let { onHand, held, sold } = s;
  for (const e of events) {
    if (e.t === 'onHandSet') onHand = e.onHand;
    else if (e.t === 'reserved') held += e.qty;
    else if (e.t === 'committed') {
      const q = s.holds.get(e.holdId)?.qty ?? 0;
      held -= q;
      sold += q;
    } else if (e.t === 'released') held -= s.holds.get(e.holdId)?.qty ?? 0;
    else if (e.t === 'returned') sold -= e.qty;
  }
  return { sku: s.sku, onHand, available: Math.max(0, onHand - held - sold), held, sold };
}

/**
 * Whether a command opens new work — a hold that does not exist yet, a change of the stock — rather than ending work
 * already admitted (pin, commit, release, return, expiry, or a repeated reserve of a hold that exists). While the
 * journal is backlogged only new work waits: refusing the rest would strand holds their sagas already own.
 */
export function opensWork(s: InventoryState, c: InventoryCommand): boolean {
  if (c.t === 'setOnHand') return true;
  if (c.t === 'reserve') return !s.holds.has(c.holdId) && !(s.recentlyCommitted?.has(c.holdId) ?? false);
  return false;
}

export function decideInventory(s: InventoryState, c: InventoryCommand, nowMs: number): InventoryDecision {
  switch (c.t) {
    case 'setOnHand': {
      assert.ok(Number.isSafeInteger(c.onHand) && c.onHand >= 0, 'onHand is a non-negative integer');
      const minimum = s.held + s.sold;
      if (c.onHand < minimum) return { events: [], reply: fail('ON_HAND_BELOW_COMMITTED', { held: s.held, sold: s.sold, minimum }) };
      return decided(s, c.onHand === s.onHand ? [] : [{ t: 'onHandSet', onHand: c.onHand }]);
    }
    case 'reserve':
      return decideReserve(s, c, nowMs);
    case 'pin': {
      const h = s.holds.get(c.holdId);
      if (!h) return { events: [], reply: fail('HOLD_EXPIRED', { sku: s.sku }) };
      if (h.status === 'pinned') return decided(s, []);
      if (h.expiresAtMs <= nowMs) {
        return { events: [{ t: 'released', holdId: c.holdId, reason: 'expired' }], reply: fail('HOLD_EXPIRED', { sku: s.sku }) };
      }
      return decided(s, [{ t: 'pinned', holdId: c.holdId }]);
    }
    case 'commit':
      // A missing hold was committed before: pinned holds are only ever released by their own saga.
      return decided(s, s.holds.has(c.holdId) ? [{ t: 'committed', holdId: c.holdId }] : []);
    case 'release':
      return decided(s, s.holds.has(c.holdId) ? [{ t: 'released', holdId: c.holdId, reason: c.reason }] : []);
    case 'expire': {
      // A hold id can be listed twice (the actor's expiry heap keeps one entry per reservation, and a hold id can be
      // reserved again after it was released), but a hold ends once: one `released` event per id.
      const events: InventoryEvent[] = [];
      const expired = new Set<HoldId>();
      for (const id of c.holdIds) {
        const h = s.holds.get(id);
        if (h && h.status === 'active' && h.expiresAtMs <= nowMs && !expired.has(id)) {
          expired.add(id);
          events.push({ t: 'released', holdId: id, reason: 'expired' });
        }
      }
      return decided(s, events);
    }
    case 'return': {
      assert.ok(Number.isSafeInteger(c.qty) && c.qty > 0, 'returned qty is a positive integer');
      if (s.returnedOrders.has(c.orderId)) return decided(s, []);
      assert.ok(c.qty <= s.sold, `cannot return ${c.qty} of ${s.sku}: only ${s.sold} sold`);
      return decided(s, [{ t: 'returned', orderId: c.orderId, qty: c.qty }]);
    }
  }
}

function decideReserve(s: InventoryState, c: Extract<InventoryCommand, { t: 'reserve' }>, nowMs: number): InventoryDecision {
  assert.ok(Number.isSafeInteger(c.qty) && c.qty > 0, 'reserved qty is a positive integer');
  assert.ok(c.ttlMs > 0, 'hold TTL is positive');
  if (s.recentlyCommitted?.has(c.holdId)) return decided(s, []);
  const existing = s.holds.get(c.holdId);
  if (existing) {
    // Reserving the same hold again (a saga re-run after recovery) is a no-op: hold ids derive from the checkout.
    assert.equal(existing.qty, c.qty, `hold ${c.holdId} re-reserved with another quantity`);
    return decided(s, []);
  }
  const available = availableOf(s);
  if (c.qty > available) {
    return { events: [], reply: fail('OUT_OF_STOCK', { sku: s.sku, requested: c.qty, available }) };
  }
  const reserved: InventoryEvent = { t: 'reserved', holdId: c.holdId, qty: c.qty, expiresAtMs: nowMs + c.ttlMs, checkoutId: c.checkoutId };
  if (c.checkoutKey !== undefined) reserved.checkoutKey = c.checkoutKey;
  return decided(s, [reserved]);
}

/**
 * Applies one event in place: the state belongs to one actor, and copying a hot SKU's holds per event is O(n).
 * Asserts the no-oversell rule: an event may not make sold + held exceed on hand by more than before (a SKU loaded
 * oversold from its journal keeps serving its holds: releasing or committing them does not oversell it further).
 */
export function applyInventoryEvent(s: InventoryState, e: InventoryEvent): void {
  const before = oversoldUnits(s);
  applyInventoryEventUnchecked(s, e);
  assert.ok(oversoldUnits(s) <= before, `inventory invariant broken for ${s.sku}`);
}

/**
 * Applies one event without the no-oversell assertion (the counts still never go negative): journal replay, which
 * must load a SKU whose journal records an oversell, measure it and report it instead of failing the partition.
 */
export function applyInventoryEventUnchecked(s: InventoryState, e: InventoryEvent): void {
  switch (e.t) {
    case 'onHandSet':
      s.onHand = e.onHand;
      break;
    case 'reserved':
      s.holds.set(e.holdId, { holdId: e.holdId, qty: e.qty, expiresAtMs: e.expiresAtMs, status: 'active', checkoutId: e.checkoutId, ...(e.checkoutKey !== undefined ? { checkoutKey: e.checkoutKey } : {}) });
      s.held += e.qty;
      break;
    case 'pinned': {
      const h = s.holds.get(e.holdId);
      if (h) h.status = 'pinned';
      break;
    }
    case 'committed': {
      const h = s.holds.get(e.holdId);
      if (!h) break;
      s.holds.delete(e.holdId);
      s.held -= h.qty;
      s.sold += h.qty;
      const recent = (s.recentlyCommitted ??= new Set());
      recent.add(e.holdId);
      if (recent.size > limits.recentlyCommittedHoldsMax) recent.delete(recent.values().next().value!);
      break;
    }
    case 'released': {
      const h = s.holds.get(e.holdId);
      if (!h) break;
      s.holds.delete(e.holdId);
      s.held -= h.qty;
      break;
    }
    case 'returned':
      s.returnedOrders.add(e.orderId);
      // Bounded, oldest first (a Set keeps insertion order): a restock is retried within minutes (the order's
      // restock_state, completeRestocks), never after this many newer returns of the same SKU.
      if (s.returnedOrders.size > limits.returnedOrdersPerSkuMax) s.returnedOrders.delete(s.returnedOrders.values().next().value!);
      s.sold -= e.qty;
      break;
  }
  assert.ok(s.held >= 0 && s.sold >= 0, `inventory counts negative for ${s.sku}`);
}

/** Plain-data form for snapshots (msgpack has no Map/Set round trip we rely on). */
export interface InventorySnapshot {
  sku: string;
  onHand: number;
  held: number;
  sold: number;
  /** [holdId, qty, expiresAtMs, status, checkoutId, checkoutKey?] */
  holds: ([string, number, number, HoldStatus, string] | [string, number, number, HoldStatus, string, string])[];
  returnedOrders: string[];
}

export function inventoryToSnapshot(s: InventoryState): InventorySnapshot {
  const holds: InventorySnapshot['holds'] = [];
  for (const h of s.holds.values()) holds.push(h.checkoutKey === undefined ? [h.holdId, h.qty, h.expiresAtMs, h.status, h.checkoutId] : [h.holdId, h.qty, h.expiresAtMs, h.status, h.checkoutId, h.checkoutKey]);
  return { sku: s.sku, onHand: s.onHand, held: s.held, sold: s.sold, holds, returnedOrders: [...s.returnedOrders] };
}

export function inventoryFromSnapshot(snap: InventorySnapshot): InventoryState {
  const holds = new Map<HoldId, Hold>();
  for (const [holdId, qty, expiresAtMs, status, checkoutId, checkoutKey] of snap.holds) {
    holds.set(holdId as HoldId, { holdId: holdId as HoldId, qty, expiresAtMs, status, checkoutId, ...(checkoutKey !== undefined ? { checkoutKey } : {}) });
  }
  return { sku: snap.sku as SkuId, onHand: snap.onHand, held: snap.held, sold: snap.sold, holds, returnedOrders: new Set(snap.returnedOrders) };
}
