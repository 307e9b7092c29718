import type { SqlClient } from './sql.js';

export interface Product {
  sku: string;
  name: string;
  priceMinor: number;
  currency: string;
  weightGrams: number;
  taxCategory: string;
}

interface ProductRow {
  sku: string;
  name: string;
  price_minor: number;
  currency: string;
  weight_grams: number;
  tax_category: string;
}

const columns = 'sku, name, price_minor, currency, weight_grams, tax_category';

/** The catalogue. Writes are admin calls (one at a time); nodes read it whole at start-up. */
export class ProductStore {
  constructor(private readonly sql: SqlClient) {}

  async upsert(p: Product): Promise<void> {
    await this.sql.query(
      `INSERT INTO products (sku, name, price_minor, currency, weight_grams, tax_category, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, now())
       ON CONFLICT (sku) DO UPDATE SET name = excluded.name, price_minor = excluded.price_minor, currency = excluded.currency,
         weight_grams = excluded.weight_grams, tax_category = excluded.tax_category, updated_at = now()`,
      [p.sku, p.name, p.priceMinor, p.currency, p.weightGrams, p.taxCategory],
    );
  }

  /** Upserts many products in one statement (a catalog import); a SKU listed twice keeps its last entry. */
  async upsertMany(products: Product[]): Promise<void> {
    const last = new Map(products.map((p) => [p.sku, p]));
    const ps = [...last.values()];
    if (ps.length === 0) return;
    await this.sql.query(
      `INSERT INTO products (sku, name, price_minor, currency, weight_grams, tax_category, updated_at)
       SELECT u.sku, u.name, u.price_minor, u.currency, u.weight_grams, u.tax_category, now()
       FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::int[], $6::text[])
         AS u(sku, name, price_minor, currency, weight_grams, tax_category)
       ON CONFLICT (sku) DO UPDATE SET name = excluded.name, price_minor = excluded.price_minor, currency = excluded.currency,
         weight_grams = excluded.weight_grams, tax_category = excluded.tax_category, updated_at = now()`,
      [ps.map((p) => p.sku), ps.map((p) => p.name), ps.map((p) => p.priceMinor), ps.map((p) => p.currency), ps.map((p) => p.weightGrams), ps.map((p) => p.taxCategory)],
    );
  }

  async get(sku: string): Promise<Product | null> {
    const [row] = await this.sql.query<ProductRow>(`SELECT ${columns} FROM products WHERE sku = $1`, [sku]);
    return row === undefined ? null : toProduct(row);
  }

  /** The products that exist among `skus`, in SKU order. */
  async getMany(skus: string[]): Promise<Product[]> {
    if (skus.length === 0) return [];
    const rows = await this.sql.query<ProductRow>(`SELECT ${columns} FROM products WHERE sku = ANY($1::text[]) ORDER BY sku`, [skus]);
    return rows.map(toProduct);
  }

  async loadAll(): Promise<Product[]> {
    const rows = await this.sql.query<ProductRow>(`SELECT ${columns} FROM products ORDER BY sku`);
    return rows.map(toProduct);
  }
}

function toProduct(r: ProductRow): Product {
  return {
    sku: r.sku,
    name: r.name,
    priceMinor: r.price_minor,
    currency: r.currency,
    weightGrams: r.weight_grams,
    taxCategory: r.tax_category,
  };
}
