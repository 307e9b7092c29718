/**
 * Entity names and the key hash: every SKU, checkout (by Idempotency-Key), cart, order and promotion is one entity,
 * named `<kind>:<id>`, and hashes to one partition. The names are journal entity names (`sku:`, `co:`) and route
 * keys at once, so this module is the one place they are spelled; the hash decides which node serves an entity and
 * where its journal lives.
 */

/**
 * Entity key → partition: FNV-1a over the UTF-16 code units, modulo a fixed partition count. Stable across
 * processes and versions (a partition's journal depends on it), so never change the function for a live cluster.
 */
export function partitionOf(key: string, partitions: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % partitions;
}

/** The prefix of each entity kind; journal rows and routes use exactly these. */
export const entityPrefix = {
  sku: 'sku:',
  checkout: 'co:',
  cart: 'cart:',
  order: 'order:',
  promo: 'promo:',
} as const;

export type EntityKind = keyof typeof entityPrefix;

export const skuEntity = (sku: string): string => `${entityPrefix.sku}${sku}`;
export const checkoutEntity = (idempotencyKey: string): string => `${entityPrefix.checkout}${idempotencyKey}`;
export const cartEntity = (cartId: string): string => `${entityPrefix.cart}${cartId}`;
export const orderEntity = (orderId: string): string => `${entityPrefix.order}${orderId}`;
export const promoEntity = (code: string): string => `${entityPrefix.promo}${code}`;

/** Checkouts: the entity a new checkout would wait for while its partition drains (see PartitionHost). */
export const isCheckoutEntity = (entity: string): boolean => entity.startsWith(entityPrefix.checkout);

/** The kind and id of a journal entity name, or null for a name of no known kind (skipped by recovery). */
export function parseEntity(entity: string): { kind: 'sku' | 'checkout'; id: string } | null {
  if (entity.startsWith(entityPrefix.sku)) return { kind: 'sku', id: entity.slice(entityPrefix.sku.length) };
  if (entity.startsWith(entityPrefix.checkout)) return { kind: 'checkout', id: entity.slice(entityPrefix.checkout.length) };
  return null;
}

/** The partitions of each entity kind, for callers that only have the id. */
export const skuPartition = (sku: string, partitions: number): number => partitionOf(skuEntity(sku), partitions);
export const checkoutPartition = (idempotencyKey: string, partitions: number): number => partitionOf(checkoutEntity(idempotencyKey), partitions);
export const cartPartition = (cartId: string, partitions: number): number => partitionOf(cartEntity(cartId), partitions);
export const promoPartition = (code: string, partitions: number): number => partitionOf(promoEntity(code), partitions);
