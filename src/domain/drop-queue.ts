import { createHash } from 'node:crypto';

/**
 * The waiting room's rules, pure (docs/drops.md): the published shuffle of the buyers who joined before a drop
 * started, positions, and how many buyers the real capacity lets in. No clock, no randomness: callers pass them.
 */

/** One buyer in a drop's queue, as the rules see it. */
export interface QueuedBuyer {
  customerId: string;
  /** Arrival order at the SKU's owner (1, 2, …); the FIFO order of the buyers who joined after the start. */
  seq: number;
}

/**
 * The shuffle key of a buyer who joined before the start: hex SHA-256 of `<seed>:<customerId>`. Sorting the early
 * joiners by it (ties, which need a SHA-256 collision, by customerId) is the whole shuffle, so anyone holding the
 * published seed and the list of joiners recomputes the order with one line of any language (docs/drops.md).
 */
export function shuffleKey(seed: string, customerId: string): string {
  return createHash('sha256').update(`${seed}:${customerId}`).digest('hex');
}

/** The queue order of the early joiners: ascending shuffle key. Does not depend on the order they are given in. */
export function shuffledOrder<T extends QueuedBuyer>(seed: string, early: readonly T[]): T[] {
  const keyed = early.map((b) => ({ b, k: shuffleKey(seed, b.customerId) }));
  keyed.sort((x, y) => (x.k < y.k ? -1 : x.k > y.k ? 1 : x.b.customerId < y.b.customerId ? -1 : 1));
  return keyed.map((x) => x.b);
}

/** The whole queue once the drop started: the shuffled early joiners, then the later ones in arrival order. */
export function queueOrder<T extends QueuedBuyer & { early: boolean }>(seed: string, buyers: readonly T[]): T[] {
  const late = buyers.filter((b) => !b.early).sort((x, y) => x.seq - y.seq);
  return [...shuffledOrder(seed, buyers.filter((b) => b.early)), ...late];
}

/** What admission looks at: the SKU's stock, this node's checkouts and the admissions still open. */
export interface Capacity {
  /** Units not held and not sold (the SKU actor's `available`). */
  available: number;
  /** Checkouts running on this node, and its bound (CHECKOUTS_IN_FLIGHT_MAX). */
  checkoutsInFlight: number;
  checkoutsInFlightMax: number;
  /** Admitted buyers who have neither bought nor expired: each may still start a checkout. */
  admittedOpen: number;
  /** Buyers waiting in line. */
  waiting: number;
  /** Most admissions in one step. */
  admitsMax: number;
}

/**
 * How many buyers to admit now. Every open admission may turn into a checkout holding a unit, so the open
 * admissions never exceed the units left (never far more admitted than can buy) nor the checkouts this node can
 * still take; and whenever a unit is free and nobody admitted can take it, the next buyer is let in (never idle
 * while stock remains). A unit freed by an expired hold or a failed payment lets the next one in at the next step.
 */
export function admissionsDue(c: Capacity): number {
  const byStock = c.available - c.admittedOpen;
  const byCheckouts = c.checkoutsInFlightMax - c.checkoutsInFlight - c.admittedOpen;
  return Math.max(0, Math.min(byStock, byCheckouts, c.waiting, c.admitsMax));
}

/** The states a ticket is reported in (GET /api/drops/:sku/queue/:ticket). */
export type TicketState = 'waiting' | 'admitted' | 'expired' | 'sold_out';

/** The states a drop is reported in (GET /api/drops/:sku). */
export type DropState = 'scheduled' | 'open' | 'sold_out';

/** Sold out: nothing left to sell and nothing held that could come back (an expired hold would reopen it). */
export function isSoldOut(counts: { available: number; held: number }): boolean {
  return counts.available <= 0 && counts.held <= 0;
}
