import { describe, expect, it } from 'vitest';
import {
  cartEntity,
  cartPartition,
  checkoutEntity,
  checkoutPartition,
  isCheckoutEntity,
  orderEntity,
  parseEntity,
  partitionOf,
  promoEntity,
  promoPartition,
  skuEntity,
  skuPartition,
} from '../../../src/domain/entities.js';

describe('entity names and the key hash', () => {
  // A partition's journal and every route depend on these values: a change here strands every stored journal row
  // in the wrong partition. The values were computed by the FNV-1a function boxoffice has always used.
  it.each([
    ['sku:HOT', 1024, 83],
    ['co:order-1', 1024, 535],
    ['cart:cart_abc', 1024, 502],
    ['promo:SALE10', 1024, 44],
    ['order:ord_x', 16, 1],
    ['', 1024, 453],
    ['é☃', 7, 0],
  ])('hashes %j into partition %i of %i as it always has', (key, partitions, expected) => {
    expect(partitionOf(key, partitions)).toBe(expected);
  });

  it('spells every entity kind with its journal and route prefix', () => {
    expect([skuEntity('A'), checkoutEntity('k'), cartEntity('c'), orderEntity('o'), promoEntity('P')]).toEqual(['sku:A', 'co:k', 'cart:c', 'order:o', 'promo:P']);
  });

  it('gives each kind the partition of its entity name', () => {
    expect(skuPartition('HOT', 1024)).toBe(partitionOf('sku:HOT', 1024));
    expect(checkoutPartition('order-1', 1024)).toBe(535);
    expect(cartPartition('cart_abc', 1024)).toBe(502);
    expect(promoPartition('SALE10', 1024)).toBe(44);
  });

  it('reads journal entity names back, and nothing else', () => {
    expect(parseEntity('sku:A:b')).toEqual({ kind: 'sku', id: 'A:b' });
    expect(parseEntity('co:key with spaces')).toEqual({ kind: 'checkout', id: 'key with spaces' });
    expect(parseEntity('cart:c')).toBeNull();
    expect(parseEntity('skux')).toBeNull();
    expect(isCheckoutEntity('co:k')).toBe(true);
    expect(isCheckoutEntity('cart:co:k')).toBe(false);
  });
});
