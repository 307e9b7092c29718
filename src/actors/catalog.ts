import { asSku } from '../domain/ids.js';
import type { Product } from '../domain/product.js';
import type { Promotion } from '../domain/promotions.js';

/** A product as stored: the same fields, with the SKU as a plain string. */
export type StoredProduct = Omit<Product, 'sku'> & { sku: string };

export interface ProductSource {
  upsert(p: StoredProduct): Promise<void>;
  upsertMany(ps: StoredProduct[]): Promise<void>;
  loadAll(): Promise<StoredProduct[]>;
  getMany(skus: string[]): Promise<StoredProduct[]>;
}

export interface PromotionSource {
  create(p: Promotion): Promise<'created' | 'exists'>;
  get(code: string): Promise<Promotion | null>;
}

/**
 * Products and promotions in memory, written through to the database. Products are all loaded at start (pricing
 * and "sold out" never wait on the database); promotions are immutable once created, so a found one is cached
 * for good and a missing one is looked up again next time.
 */
export class Catalog {
  private readonly products = new Map<string, Product>();
  private readonly promotions = new Map<string, Promotion>();
  /** Told after products were written (a cluster tells the other nodes, which reload them). */
  onProductsChanged: (skus: string[]) => Promise<void> = () => Promise.resolve();

  constructor(private readonly productStore: ProductSource, private readonly promotionStore: PromotionSource) {}

  async load(): Promise<number> {
    for (const p of await this.productStore.loadAll()) this.products.set(p.sku, { ...p, sku: asSku(p.sku) });
    return this.products.size;
  }

  product(sku: string): Product | undefined {
    return this.products.get(sku);
  }

  productCount(): number {
    return this.products.size;
  }

  async upsertProduct(p: Product): Promise<Product> {
    await this.productStore.upsert(p);
    this.products.set(p.sku, p);
    await this.onProductsChanged([p.sku]);
    return p;
  }

  async upsertProducts(ps: Product[]): Promise<void> {
    await this.productStore.upsertMany(ps);
    for (const p of ps) this.products.set(p.sku, p);
    await this.onProductsChanged(ps.map((p) => p.sku));
  }

  /** Reads `skus` again from the database (another node changed them). */
  async reload(skus: string[]): Promise<void> {
    for (const p of await this.productStore.getMany(skus)) this.products.set(p.sku, { ...p, sku: asSku(p.sku) });
  }

  cachedPromotion(code: string): Promotion | undefined {
    return this.promotions.get(code);
  }

  async promotion(code: string): Promise<Promotion | undefined> {
    const cached = this.promotions.get(code);
    if (cached) return cached;
    const found = await this.promotionStore.get(code);
    if (found) this.promotions.set(code, found);
    return found ?? undefined;
  }

  async createPromotion(p: Promotion): Promise<'created' | 'exists'> {
    const r = await this.promotionStore.create(p);
    if (r === 'created') this.promotions.set(p.code, p);
    return r;
  }
}
