import { describe, expect, it } from 'vitest';
import { customerKeyOf, mergeLines, soldOutFromMemory } from '../../../src/domain/checkout.js';
import type { InventoryView } from '../../../src/domain/inventory.js';
import { asSku } from '../../../src/domain/ids.js';

const address = { name: ' Ada Lovelace ', line1: '1 Main St', city: 'New York', postalCode: '10001 ', country: 'US', region: 'NY' };
const view = (sku: string, available: number, pendingWrites = 0): InventoryView => ({ sku: asSku(sku), onHand: available, available, held: 0, sold: 0, pendingWrites });

describe('the pure checkout rules', () => {
  it('merges buy-now lines naming one SKU, keeping the first-seen order', () => {
    expect(mergeLines([{ sku: 'B', qty: 1 }, { sku: 'A', qty: 2 }, { sku: 'B', qty: 3 }])).toEqual([{ sku: 'B', qty: 4 }, { sku: 'A', qty: 2 }]);
  });

  it('keys customers by id, and guests by name and postcode whatever their case and spacing', () => {
    expect(customerKeyOf({ customerId: 'c-1', address })).toBe('cus:c-1');
    const guest = customerKeyOf({ customerId: null, address });
    expect(guest).toMatch(/^anon:[A-Za-z0-9_-]{24}$/);
    expect(customerKeyOf({ customerId: null, address: { ...address, name: 'ada lovelace', postalCode: '10001' } })).toBe(guest);
    expect(customerKeyOf({ customerId: null, address: { ...address, postalCode: '10002' } })).not.toBe(guest);
  });

  it('says sold out from memory only when no write in flight could change the answer', () => {
    const views = new Map<string, InventoryView | null>([
      ['GONE', view('GONE', 0)],
      ['LOW', view('LOW', 1)],
      ['BUSY', view('BUSY', 0, 1)],
      ['REMOTE', null],
    ]);
    const of = (sku: string) => (views.has(sku) ? views.get(sku)! : undefined);
    expect(
      soldOutFromMemory(
        [{ sku: 'GONE', qty: 1 }, { sku: 'LOW', qty: 2 }, { sku: 'BUSY', qty: 1 }, { sku: 'REMOTE', qty: 1 }, { sku: 'NEVER', qty: 1 }, { sku: 'LOW', qty: 1 }],
        of,
      ),
    ).toEqual([
      { sku: 'GONE', requested: 1, available: 0 },
      { sku: 'LOW', requested: 2, available: 1 },
      { sku: 'NEVER', requested: 1, available: 0 },
    ]);
  });
});
