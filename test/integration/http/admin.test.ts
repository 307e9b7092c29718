import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestNode, type TestNode } from '../../support/node-harness.js';

describe('admin catalog import and holds', () => {
  let t: TestNode;
  beforeAll(async () => {
    t = await startTestNode();
  });
  afterAll(async () => {
    await t.stop();
  });

  const item = (i: number, onHand?: number) => ({ sku: `BULK-${i}`, name: `Bulk ${i}`, priceMinor: 100 + i, currency: 'USD', weightGrams: 10, ...(onHand === undefined ? {} : { onHand }) });

  it('imports thousands of products with stock in one request', async () => {
    const items = Array.from({ length: 5_000 }, (_, i) => item(i, i % 7));
    const r = await t.admin('POST', '/api/admin/catalog', { items });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ upserted: 5_000, stocked: 5_000, refused: [] });
    expect((await t.call('GET', '/api/products/BULK-4999')).body).toMatchObject({ priceMinor: 5_099, taxCategory: 'standard' });
    expect((await t.call('GET', '/api/inventory/BULK-13')).body).toEqual({ sku: 'BULK-13', onHand: 6, available: 6, held: 0, sold: 0 });
  });

  it('refuses an invalid import whole, changing nothing', async () => {
    const r = await t.admin('POST', '/api/admin/catalog', { items: [item(90_001, 5), { ...item(90_002), priceMinor: -1 }] });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('VALIDATION_FAILED');
    expect((await t.call('GET', '/api/products/BULK-90001')).status).toBe(404);
  });

  it('refuses more than 10,000 items and bodies over 4 MiB', async () => {
    const tooMany = await t.admin('POST', '/api/admin/catalog', { items: Array.from({ length: 10_001 }, (_, i) => item(i)) });
    expect(tooMany.status).toBe(400);
    const huge = await t.admin('POST', '/api/admin/catalog', { items: [{ ...item(1), name: 'x'.repeat(5 * 1024 * 1024) }] });
    expect(huge.status).toBe(413);
  });

  it('needs the admin token', async () => {
    expect((await t.call('POST', '/api/admin/catalog', { items: [item(1)] })).status).toBe(401);
    expect((await t.call('POST', '/api/inventory/BULK-1/holds', { qty: 1 })).status).toBe(401);
    expect((await t.call('DELETE', '/api/inventory/BULK-1/holds/x')).status).toBe(401);
  });

  it('holds stock, refuses more than is available, and releases a hold once', async () => {
    await t.admin('POST', '/api/admin/catalog', { items: [item(7_000, 3)] });
    const h = await t.admin('POST', '/api/inventory/BULK-7000/holds', { qty: 2 });
    expect(h.status).toBe(201);
    expect(h.body).toMatchObject({ qty: 2, sku: 'BULK-7000', onHand: 3, available: 1, held: 2, sold: 0 });
    const short = await t.admin('POST', '/api/inventory/BULK-7000/holds', { qty: 2 });
    expect(short.status).toBe(409);
    expect(short.body.error).toMatchObject({ code: 'OUT_OF_STOCK', skus: [{ sku: 'BULK-7000', requested: 2, available: 1 }] });
    const released = await t.admin('DELETE', `/api/inventory/BULK-7000/holds/${h.body.holdId}`);
    expect(released.body).toEqual({ released: true, sku: 'BULK-7000', onHand: 3, available: 3, held: 0, sold: 0 });
    const again = await t.admin('DELETE', `/api/inventory/BULK-7000/holds/${h.body.holdId}`);
    expect(again.body.released).toBe(false);
  });

  it('answers 404 for holds on an unknown product', async () => {
    expect((await t.admin('POST', '/api/inventory/NOPE/holds', { qty: 1 })).status).toBe(404);
  });
});
