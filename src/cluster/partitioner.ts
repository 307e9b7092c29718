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

/** Journal entity names: one namespace per actor kind. */
export const skuEntity = (sku: string): string => `sku:${sku}`;
export const checkoutEntity = (idempotencyKey: string): string => `co:${idempotencyKey}`;
