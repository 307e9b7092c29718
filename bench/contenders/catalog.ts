import type { Pool } from 'pg';
import { z } from 'zod/v4';
import { limits } from '../../src/config/limits.js';
import { asSku } from '../../src/domain/ids.js';
import type { Product } from '../../src/domain/product.js';
import type { Handler } from '../../src/http/request.js';
import { parseBody, productBody, skuSchema } from '../../src/http/validation.js';
import type { StockBackend } from './stock-backend.js';

/** Products live in memory for pricing (loaded at start, kept in step by imports); the table is the record. */
export class ProductCatalog {
  private readonly bySku = new Map<string, Product>();

  get(sku: string): Product | undefined {
    return this.bySku.get(sku);
  }

  async load(pool: Pool): Promise<void> {
    const { rows } = await pool.query<{ sku: string; name: string; price_minor: number; currency: string; weight_grams: number; tax_category: string }>(
      'SELECT sku, name, price_minor, currency, weight_grams, tax_category FROM products',
    );
    for (const r of rows) {
      this.bySku.set(r.sku, { sku: asSku(r.sku), name: r.name, priceMinor: r.price_minor, currency: r.currency, weightGrams: r.weight_grams, taxCategory: r.tax_category });
    }
  }

  /** Upserts in one statement; duplicates within an import keep the last (ON CONFLICT cannot touch a row twice). */
  async upsert(pool: Pool, products: Product[]): Promise<void> {
    const last = [...new Map(products.map((p) => [p.sku, p])).values()];
    await pool.query({
      name: 'catalog_upsert',
      text: `INSERT INTO products (sku, name, price_minor, currency, weight_grams, tax_category, updated_at)
             SELECT sku, name, price_minor, currency, weight_grams, tax_category, now()
             FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::int[], $6::text[])
                  AS u(sku, name, price_minor, currency, weight_grams, tax_category)
             ON CONFLICT (sku) DO UPDATE SET name = excluded.name, price_minor = excluded.price_minor, currency = excluded.currency,
               weight_grams = excluded.weight_grams, tax_category = excluded.tax_category, updated_at = now()`,
      values: [
        last.map((p) => p.sku),
        last.map((p) => p.name),
        last.map((p) => p.priceMinor),
        last.map((p) => p.currency),
        last.map((p) => p.weightGrams),
        last.map((p) => p.taxCategory),
      ],
    });
    for (const p of last) this.bySku.set(p.sku, p);
  }
}

/** The same rules as boxoffice's bulk import (src/http/routes/admin-routes.ts). */
const catalogBody = z
  .object({
    items: z
      .array(productBody.extend({ sku: skuSchema, onHand: z.number().int().min(0).max(limits.onHandMax).optional() }).strict())
      .min(1)
      .max(limits.bulkItemsMax),
  })
  .strict();

/**
 * POST /api/admin/catalog (admin) → 200 { upserted, stocked, refused }. onHand sets the available stock outright:
 * the bench imports before the sale, on a fresh database, so nothing is held or sold yet and nothing is refused
 * (boxoffice refuses an onHand below held + sold per SKU; the contenders do not check it).
 */
export const postCatalog =
  (pool: Pool, catalog: ProductCatalog, stock: StockBackend, onStocked: (skus: string[]) => void): Handler =>
  async (req) => {
    const body = parseBody(catalogBody, req.body);
    if (!body.ok) return body.response;
    const items = body.value.items;
    await catalog.upsert(
      pool,
      items.map(({ onHand: _onHand, ...p }) => ({ ...p, sku: asSku(p.sku) })),
    );
    const stocked = items.flatMap((i) => (i.onHand === undefined ? [] : [{ sku: i.sku, qty: i.onHand }]));
    await stock.setStock(stocked);
    onStocked(stocked.map((i) => i.sku));
    return { status: 200, body: { upserted: items.length, stocked: stocked.length, refused: [] } };
  };
