import { benchLimits } from './bench-limits.js';
import { requestJson } from './http.js';

/**
 * Loads products and stock through POST /api/admin/catalog, which every server (boxoffice and the contenders)
 * serves: setup, not measured. Items are generated lazily by index so a million SKUs never sit in one array.
 */
export interface CatalogItem {
  sku: string;
  name: string;
  priceMinor: number;
  currency: string;
  weightGrams: number;
  onHand?: number;
}

/** The product every bench SKU is: 25.00 USD, 300 g, standard tax — priced identically by every server. */
export const benchProduct = (sku: string, onHand?: number): CatalogItem => ({
  sku,
  name: `Bench ${sku}`,
  priceMinor: 2_500,
  currency: 'USD',
  weightGrams: 300,
  ...(onHand === undefined ? {} : { onHand }),
});

export async function importCatalog(
  server: { baseUrl: string; adminToken: string },
  count: number,
  itemAt: (index: number) => CatalogItem,
  onBatch?: (done: number) => void,
): Promise<void> {
  for (let start = 0; start < count; start += benchLimits.catalogBatchItemsMax) {
    const end = Math.min(count, start + benchLimits.catalogBatchItemsMax);
    const items: CatalogItem[] = [];
    for (let i = start; i < end; i++) items.push(itemAt(i));
    const r = await requestJson('POST', `${server.baseUrl}/api/admin/catalog`, {
      body: { items },
      headers: { authorization: `Bearer ${server.adminToken}` },
    });
    if (r.status !== 200) throw new Error(`POST /api/admin/catalog (items ${start}…${end - 1}): ${r.status} ${r.text.slice(0, 300)}`);
    const refused: unknown[] = Array.isArray(r.body?.refused) ? r.body.refused : [];
    if (refused.length > 0) throw new Error(`POST /api/admin/catalog refused ${refused.length} SKUs, e.g. ${JSON.stringify(refused[0])}`);
    if (typeof r.body?.upserted === 'number' && r.body.upserted !== items.length) {
      throw new Error(`POST /api/admin/catalog upserted ${r.body.upserted} of ${items.length} items`);
    }
    onBatch?.(end);
  }
}
