import { randomBytes } from 'node:crypto';
import { z } from 'zod/v4';
import { limits } from '../../src/config/limits.js';
import { errorResponse } from '../../src/http/error-response.js';
import type { Handler } from '../../src/http/request.js';
import { parseBody, validId, validSku } from '../../src/http/validation.js';
import type { ProductCatalog } from './catalog.js';
import type { Line, StockBackend } from './stock-backend.js';

/** boxoffice's default hold TTL (HOLD_TTL_MS, 10 min). */
export const holdTtlMsDefault = 10 * 60 * 1000;

/**
 * Held and sold per SKU as this process saw them change, so hold and release answers carry counts without
 * summing every order of a hot SKU per request. A SKU's tally is read from the database the first time it is
 * needed and then moved by this process's own holds, releases, expiries and orders: exact for one process on its
 * own database, approximate otherwise (docs say so). GET /api/inventory always reads the database.
 */
export class Tally {
  private readonly bySku = new Map<string, { held: number; sold: number }>();

  constructor(private readonly stock: StockBackend) {}

  async of(sku: string): Promise<{ held: number; sold: number }> {
    let t = this.bySku.get(sku);
    if (t === undefined) {
      const c = await this.stock.counts(sku);
      // Another request may have loaded it while we waited: keep the first, it has seen later changes.
      t = this.bySku.get(sku) ?? { held: c.held, sold: c.sold };
      this.bySku.set(sku, t);
    }
    return t;
  }

  /** Positive for a hold, negative for a release or an expiry. */
  held(sku: string, qty: number): void {
    const t = this.bySku.get(sku);
    if (t !== undefined) t.held += qty;
  }

  sold(lines: Line[]): void {
    for (const l of lines) {
      const t = this.bySku.get(l.sku);
      if (t !== undefined) t.sold += l.qty;
    }
  }

  /** A catalog import resets stock: the next read loads afresh. */
  forget(skus: string[]): void {
    for (const s of skus) this.bySku.delete(s);
  }
}

const holdBody = z
  .object({ qty: z.number().int().positive().max(limits.lineQtyMax), ttlMs: z.number().int().min(limits.holdTtlMsMin).max(limits.holdTtlMsMax).optional() })
  .strict();

interface HoldDeps {
  catalog: ProductCatalog;
  stock: StockBackend;
  tally: Tally;
  nowMs: () => number;
}

function counts(sku: string, available: number, t: { held: number; sold: number }) {
  return { sku, onHand: available + t.held + t.sold, available, held: t.held, sold: t.sold };
}

/** POST /api/inventory/:sku/holds (admin) { qty, ttlMs? } → 201 { holdId, qty, expiresAt, …counts }; 409 OUT_OF_STOCK. */
export const postHold =
  (d: HoldDeps): Handler =>
  async (req) => {
    const sku = req.params['sku'];
    if (!validSku(sku) || !d.catalog.get(sku)) return errorResponse('PRODUCT_NOT_FOUND', { sku });
    const body = parseBody(holdBody, req.body);
    if (!body.ok) return body.response;
    const { qty } = body.value;
    const holdId = `hold_${randomBytes(12).toString('base64url')}`;
    const expiresAt = new Date(d.nowMs() + (body.value.ttlMs ?? holdTtlMsDefault));
    const tally = await d.tally.of(sku);
    const r = await d.stock.hold(sku, qty, holdId, expiresAt);
    if (!r.ok) return errorResponse('OUT_OF_STOCK', { skus: [{ sku, requested: qty, available: r.available }] });
    d.tally.held(sku, qty);
    return { status: 201, body: { holdId, qty, expiresAt: expiresAt.toISOString(), ...counts(sku, r.available, tally) } };
  };

/** DELETE /api/inventory/:sku/holds/:holdId (admin) → 200 { released, …counts }; releasing twice is a no-op. */
export const deleteHold =
  (d: HoldDeps): Handler =>
  async (req) => {
    const sku = req.params['sku'];
    const holdId = req.params['holdId'];
    if (!validSku(sku) || !d.catalog.get(sku)) return errorResponse('PRODUCT_NOT_FOUND', { sku });
    const tally = await d.tally.of(sku);
    if (!validId(holdId)) return { status: 200, body: { released: false, ...counts(sku, (await d.stock.counts(sku)).available, tally) } };
    const r = await d.stock.release(sku, holdId);
    d.tally.held(sku, -r.qty);
    return { status: 200, body: { released: r.released, ...counts(sku, r.available, tally) } };
  };

/** GET /api/inventory/:sku → { sku, onHand, available, held, sold }, counted in the database (and Redis). */
export const getInventory =
  (d: HoldDeps): Handler =>
  async (req) => {
    const sku = req.params['sku'];
    if (!validSku(sku) || !d.catalog.get(sku)) return errorResponse('PRODUCT_NOT_FOUND', { sku });
    const c = await d.stock.counts(sku);
    return { status: 200, body: counts(sku, c.available, c) };
  };
