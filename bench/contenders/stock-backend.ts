import type { PoolClient } from 'pg';

/**
 * What varies between the contenders: where stock lives and when it is taken. Everything else (HTTP, validation,
 * idempotency, pricing, payment, order rows) is shared, so a difference in the bench is a difference in this.
 *
 * - pg-conditional / pg-for-update: stock is `bench_stock`, read without a lock as a pre-check and taken inside the
 *   order transaction (takeInTransaction).
 * - redis-lua: stock is a Redis counter per SKU, taken by a Lua script before the payment (takeBeforePayment) and
 *   given back when anything after it fails.
 */
export interface Line {
  sku: string;
  qty: number;
}

/** One short line of a 409 OUT_OF_STOCK: `{ skus: [{ sku, requested, available }] }`. */
export interface ShortLine {
  sku: string;
  requested: number;
  available: number;
}

/** A stored Idempotency-Key: statusCode null means the first request still runs. */
export interface KeyRecord {
  fingerprint: string;
  statusCode: number | null;
  body: unknown;
}

export interface Lookup {
  record: KeyRecord | null;
  /** Available stock by SKU when the backend answers the pre-check in the same read; null when it does not. */
  available: Map<string, number> | null;
}

export interface HoldResult {
  ok: boolean;
  /** Available after the hold (ok) or now (refused). */
  available: number;
}

export interface ReleaseResult {
  released: boolean;
  /** The released hold's quantity; 0 when nothing was released. */
  qty: number;
  available: number;
}

export interface StockCounts {
  available: number;
  held: number;
  sold: number;
}

export interface StockBackend {
  /** True when stock is taken inside the order transaction (the pg kinds). */
  readonly takesInTransaction: boolean;
  /** Reads the key's record and, for the pg kinds, the unlocked pre-check stock of `skus`, in one round trip. */
  lookup(key: string, skus: string[]): Promise<Lookup>;
  /** redis-lua: takes every line atomically (all or nothing); returns the short lines, or null when taken. */
  takeBeforePayment(lines: Line[]): Promise<ShortLine[] | null>;
  /** Gives back what takeBeforePayment took (a no-op for the pg kinds, whose take rolls back with the transaction). */
  giveBack(lines: Line[]): Promise<void>;
  /** pg kinds: takes every line inside the order transaction; returns the short lines (caller rolls back) or null. */
  takeInTransaction(client: PoolClient, lines: Line[]): Promise<ShortLine[] | null>;
  /** Sets the available stock of each SKU (catalog import on a fresh database: nothing held or sold yet). */
  setStock(items: Line[]): Promise<void>;
  /** Takes `qty` and records an active row in inventory_reservations, atomically. */
  hold(sku: string, qty: number, holdId: string, expiresAt: Date): Promise<HoldResult>;
  /** Deletes the active reservation and gives its stock back; releasing twice is a no-op. */
  release(sku: string, holdId: string): Promise<ReleaseResult>;
  /** Exact counts from the database (and Redis): for GET /api/inventory, not for the hot path. */
  counts(sku: string): Promise<StockCounts>;
  /** Ends active holds past their expiry and gives their stock back; returns what it released. */
  sweepExpired(): Promise<Line[]>;
  close(): Promise<void>;
}

/** Lines in SKU order: every contender takes rows (and Redis keys) in this order, so two checkouts never deadlock. */
export function sortedLines(lines: Line[]): Line[] {
  return [...lines].sort((a, b) => (a.sku < b.sku ? -1 : a.sku > b.sku ? 1 : 0));
}

export function shortLines(lines: Line[], available: (sku: string) => number): ShortLine[] {
  const short: ShortLine[] = [];
  for (const l of lines) {
    const have = available(l.sku);
    if (have < l.qty) short.push({ sku: l.sku, requested: l.qty, available: have });
  }
  return short;
}
