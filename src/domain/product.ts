import type { SkuId } from './ids.js';

/**
 * A product as the domain sees it. Prices are exclusive of tax, in minor units of `currency`; `weightGrams` is
 * the weight of one unit. Callers apply the taxCategory default ('standard') when a product row has none, so the
 * domain never guesses.
 */
export interface Product {
  sku: SkuId;
  name: string;
  priceMinor: number;
  currency: string;
  weightGrams: number;
  taxCategory: string;
}
