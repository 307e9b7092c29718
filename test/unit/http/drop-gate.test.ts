import { describe, expect, it } from 'vitest';
import type { DropService } from '../../../src/actors/drop-service.js';
import type { HttpRequest, HttpResponse } from '../../../src/http/request.js';
import { dropGate } from '../../../src/http/routes/drop-gate.js';
import type { NodeServices } from '../../../src/http/services.js';

const address = { name: 'Ada', line1: '1 Main St', city: 'New York', postalCode: '10001', country: 'US', region: 'NY' };
const request = (headers: Record<string, string> = {}): HttpRequest => ({
  method: 'POST',
  path: '/api/checkout',
  params: {},
  query: new URLSearchParams(),
  headers: { 'idempotency-key': 'k-1', ...headers },
  body: { items: [{ sku: 'DROP', qty: 1 }, { sku: 'PLAIN', qty: 1 }], paymentMethod: 'pm_card_visa', address, customerId: 'cust' },
  rawBodyBytes: 0,
  remoteAddress: 'test',
});

/** The checkout gate as a plain function: a stand-in for the drop service, the checkout behind it a recorder. */
function gateWith(drops: Partial<DropService>, answer: HttpResponse = { status: 201, body: {} }) {
  const calls: string[] = [];
  const released: string[] = [];
  const s = {
    nowMs: () => 1_000,
    checkout: { inFlight: () => 0, inFlightMax: 10 },
    drops: { isLoaded: () => true, hasDrops: () => true, claimOf: async () => null, isDrop: (sku: string) => sku === 'DROP', perCustomerLimit: () => 1, release: async (sku: string) => (released.push(sku), true), ...drops } as DropService,
  } as unknown as NodeServices;
  const gate = dropGate(s, async () => (calls.push('checkout'), answer));
  return { gate, calls, released };
}

const valid = { verify: () => ({ sku: 'DROP', customerId: 'cust', ticket: 't', expiresAtMs: 2_000 }) };

describe('the checkout gate of drop SKUs', () => {
  it('refuses a drop line without a valid token before the checkout runs', async () => {
    const { gate, calls } = gateWith({ verify: () => null });
    expect(((await gate(request())) as HttpResponse).status).toBe(403);
    expect(calls).toEqual([]);
  });

  it('refuses a token of another customer', async () => {
    const { gate, calls } = gateWith({ verify: () => ({ sku: 'DROP', customerId: 'someone', ticket: 't', expiresAtMs: 2_000 }) });
    expect(((await gate(request({ 'admission-token': 'x' }))) as HttpResponse).body).toMatchObject({ error: { code: 'ADMISSION_REQUIRED', sku: 'DROP' } });
    expect(calls).toEqual([]);
  });

  it('lets a retried checkout that already took its units through even without a token', async () => {
    const { gate, calls } = gateWith({ verify: () => null, claimOf: async () => ({ customerId: 'cust', qty: 1 }) });
    expect(((await gate(request())) as HttpResponse).status).toBe(201);
    expect(calls).toEqual(['checkout']);
  });

  it('refuses a key whose claim was for another quantity or customer: a failed first try buys no other checkout', async () => {
    for (const prior of [{ customerId: 'cust', qty: 1_000 }, { customerId: 'someone', qty: 1 }]) {
      const { gate, calls } = gateWith({ ...valid, claim: async () => ({ t: 'existing', ...prior }) });
      expect(((await gate(request({ 'admission-token': 'x' }))) as HttpResponse).body).toMatchObject({ error: { code: 'IDEMPOTENCY_KEY_REUSED', sku: 'DROP' } });
      expect(calls).toEqual([]);
    }
  });

  it('refuses a drop checkout that names no customer, whatever token it carries', async () => {
    const { gate, calls } = gateWith(valid);
    const req = request({ 'admission-token': 'x' });
    delete (req.body as { customerId?: string }).customerId;
    expect(((await gate(req)) as HttpResponse).body).toMatchObject({ error: { code: 'ADMISSION_REQUIRED' } });
    expect(calls).toEqual([]);
  });

  it('answers 503 NOT_READY to every checkout until the drops were read once', async () => {
    const { gate, calls } = gateWith({ ...valid, isLoaded: () => false });
    const r = (await gate(request({ 'admission-token': 'x' }))) as HttpResponse;
    expect([r.status, (r.body as any).error.code, r.headers?.['retry-after']]).toEqual([503, 'NOT_READY', '1']);
    expect(calls).toEqual([]);
  });

  it('gives the units back when the checkout is refused with a 4xx, and keeps them on a 201 or a 5xx', async () => {
    for (const [status, code, expected] of [
      [402, 'PAYMENT_DECLINED', ['DROP']], [409, 'OUT_OF_STOCK', ['DROP']], [201, '', []], [202, '', []], [503, 'PAYMENT_PROVIDER_UNAVAILABLE', []],
      // Another request of the same key runs or ran, or nothing was tried: it may be selling these units.
      [409, 'IDEMPOTENCY_KEY_IN_USE', []], [422, 'IDEMPOTENCY_KEY_REUSED', []], [429, 'OVERLOADED', []],
    ] as const) {
      const { gate, released } = gateWith({ ...valid, claim: async () => ({ t: 'claimed' }) }, { status, body: code === '' ? {} : { error: { code } } });
      await gate(request({ 'admission-token': 'x' }));
      expect(released, `status ${status} ${code}`).toEqual(expected);
    }
  });

  it('does not give back units a former attempt with the same key took', async () => {
    const { gate, released } = gateWith({ ...valid, claim: async () => ({ t: 'existing', customerId: 'cust', qty: 1 }) }, { status: 409, body: {} });
    await gate(request({ 'admission-token': 'x' }));
    expect(released).toEqual([]);
  });

  it('answers 503 with Retry-After, not 500, when PostgreSQL is away', async () => {
    const down = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    const { gate, calls } = gateWith({ ...valid, claim: async () => Promise.reject(down) });
    const r = (await gate(request({ 'admission-token': 'x' }))) as HttpResponse;
    expect([r.status, r.headers?.['retry-after']]).toEqual([503, '1']);
    expect(calls).toEqual([]);
  });

  it('lets a bug through as a bug (500 from the server), not as a 503', async () => {
    const { gate } = gateWith({ ...valid, claim: async () => Promise.reject(new TypeError('bug')) });
    await expect(gate(request({ 'admission-token': 'x' }))).rejects.toThrow('bug');
  });

  it('runs checkouts without a drop SKU untouched', async () => {
    const { gate, calls } = gateWith({ hasDrops: () => false });
    expect(((await gate(request())) as HttpResponse).status).toBe(201);
    expect(calls).toEqual(['checkout']);
  });
});
