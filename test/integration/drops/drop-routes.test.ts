import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../cluster/redis-support.js';
import { startTestNode, stock, testAddress, type TestNode } from '../../support/node-harness.js';

/** The drop routes and the checkout gate on one real node (real PostgreSQL, real sockets, the system clock). */
describe('drops over HTTP', () => {
  let t: TestNode;
  const events: { sku: string; ticket: string | null; data: any }[] = [];
  beforeAll(async () => {
    t = await startTestNode({ driver: 'pg', node: { publishDrop: (sku, ticket, data) => events.push({ sku, ticket, data }) } });
    await stock(t, 'DROP-A', 2);
    await stock(t, 'DROP-B', 1);
    await stock(t, 'PLAIN', 10);
  });
  afterAll(() => t.stop());

  const checkout = (key: string, sku: string, token: string | null, customerId?: string, paymentMethod = 'pm_card_visa') =>
    t.call('POST', '/api/checkout', { items: [{ sku, qty: 1 }], paymentMethod, address: testAddress, ...(customerId ? { customerId } : {}) }, {
      'idempotency-key': key,
      ...(token ? { 'admission-token': token } : {}),
    });
  const poll = async (sku: string, ticket: string) => (await t.call('GET', `/api/drops/${sku}/queue/${ticket}`)).body;
  const soon = (ms: number) => new Date(Date.now() + ms).toISOString();

  it.each([
    ['a startsAt that is not ISO 8601', { startsAt: 'tomorrow', perCustomerLimit: 1, admissionTtlMs: 5_000 }],
    ['an admissionTtlMs below 5000', { startsAt: soon(1_000), perCustomerLimit: 1, admissionTtlMs: 4_999 }],
    ['a perCustomerLimit of 0', { startsAt: soon(1_000), perCustomerLimit: 0, admissionTtlMs: 5_000 }],
    ['a fractional perCustomerLimit', { startsAt: soon(1_000), perCustomerLimit: 1.5, admissionTtlMs: 5_000 }],
    ['an unknown field', { startsAt: soon(1_000), perCustomerLimit: 1, admissionTtlMs: 5_000, rate: 10 }],
    ['no body', undefined],
  ])('refuses a drop with %s (400 VALIDATION_FAILED) and creates nothing', async (_name, body) => {
    const r = await t.admin('PUT', '/api/drops/PLAIN', body);
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('VALIDATION_FAILED');
    expect((await t.call('GET', '/api/drops/PLAIN')).body.error.code).toBe('DROP_NOT_FOUND');
  });

  it('refuses a drop without the admin token, and one for a SKU without a product', async () => {
    expect((await t.call('PUT', '/api/drops/PLAIN', { startsAt: soon(1_000), perCustomerLimit: 1, admissionTtlMs: 5_000 })).status).toBe(401);
    const r = await t.admin('PUT', '/api/drops/NOPE', { startsAt: soon(1_000), perCustomerLimit: 1, admissionTtlMs: 5_000 });
    expect(r.body.error.code).toBe('PRODUCT_NOT_FOUND');
  });

  it.each([
    ['an empty customerId', { customerId: '' }, 400, 'VALIDATION_FAILED'],
    ['a customerId of 65 characters', { customerId: 'c'.repeat(65) }, 400, 'VALIDATION_FAILED'],
    ['a control character', { customerId: 'a\u0000b' }, 400, 'VALIDATION_FAILED'],
    ['an unknown field', { customerId: 'a', vip: true }, 400, 'VALIDATION_FAILED'],
  ])('refuses a join with %s', async (_name, body, status, code) => {
    await t.admin('PUT', '/api/drops/DROP-A', { startsAt: soon(60_000), perCustomerLimit: 1, admissionTtlMs: 5_000 });
    const r = await t.call('POST', '/api/drops/DROP-A/queue', body);
    expect([r.status, r.body.error.code]).toEqual([status, code]);
    expect((await t.call('GET', '/api/drops/DROP-A')).body.queued).toBe(0);
  });

  it('answers 404 for the queue of a SKU that is not a drop, and for an unknown ticket', async () => {
    expect((await t.call('POST', '/api/drops/PLAIN/queue', { customerId: 'a' })).body.error.code).toBe('DROP_NOT_FOUND');
    expect((await t.call('GET', '/api/drops/DROP-A/queue/tk_nope')).body.error.code).toBe('TICKET_NOT_FOUND');
    expect((await t.call('GET', `/api/drops/DROP-A/queue/${'x'.repeat(500)}`)).body.error.code).toBe('TICKET_NOT_FOUND');
  });

  it('admits by the stock, sells only with a token, holds each customer to the limit, and tells the rest it sold out', async () => {
    const put = await t.admin('PUT', '/api/drops/DROP-A', { startsAt: soon(1_500), perCustomerLimit: 1, admissionTtlMs: 30_000 });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ sku: 'DROP-A', state: 'scheduled', shuffleSeed: null, remaining: 2 });
    const joined = await Promise.all(['u1', 'u2', 'u3', 'u4', 'u5'].map((c) => t.call('POST', '/api/drops/DROP-A/queue', { customerId: c })));
    for (const j of joined) expect([j.status, j.body.position]).toEqual([202, null]);
    const again = await t.call('POST', '/api/drops/DROP-A/queue', { customerId: 'u1' });
    expect(again.body.ticket).toBe(joined[0]!.body.ticket);
    const tickets = joined.map((j) => j.body.ticket as string);

    // Before the start nobody is admitted, so nobody can buy.
    expect((await checkout('early-1', 'DROP-A', null, 'u1')).body.error.code).toBe('ADMISSION_REQUIRED');
    let admitted: any[] = [];
    await eventually(async () => {
      admitted = (await Promise.all(tickets.map((tk) => poll('DROP-A', tk)))).filter((v) => v.state === 'admitted');
      return admitted.length === 2;
    }, 10_000);
    const drop = (await t.call('GET', '/api/drops/DROP-A')).body;
    expect(drop).toMatchObject({ state: 'open', queued: 5, admitted: 2, sold: 0, remaining: 2 });
    expect(drop.shuffleSeed).toMatch(/^[0-9a-f]{64}$/);
    const waiting = (await Promise.all(tickets.map((tk) => poll('DROP-A', tk)))).filter((v) => v.state === 'waiting');
    expect(waiting.map((v) => v.position).sort()).toEqual([1, 2, 3]);

    const a = admitted[0]!;
    const b = admitted[1]!;
    const customerOf = (tk: string) => ['u1', 'u2', 'u3', 'u4', 'u5'][tickets.indexOf(tk)]!;
    expect((await checkout('no-token', 'DROP-A', null, customerOf(a.ticket))).body.error.code).toBe('ADMISSION_REQUIRED');
    expect((await checkout('tampered', 'DROP-A', a.admissionToken.slice(0, -2) + 'xx', customerOf(a.ticket))).body.error.code).toBe('ADMISSION_REQUIRED');
    expect((await checkout('someone-else', 'DROP-A', a.admissionToken, customerOf(b.ticket))).body.error.code).toBe('ADMISSION_REQUIRED');
    expect((await checkout('other-sku', 'PLAIN', a.admissionToken)).status).toBe(201);
    const bought = await checkout('buy-a', 'DROP-A', a.admissionToken, customerOf(a.ticket));
    expect(bought.status).toBe(201);
    const replay = await checkout('buy-a', 'DROP-A', a.admissionToken, customerOf(a.ticket));
    expect([replay.status, replay.headers.get('idempotent-replayed')]).toEqual([201, 'true']);
    const twice = await checkout('buy-a-2', 'DROP-A', a.admissionToken, customerOf(a.ticket));
    expect([twice.status, twice.body.error.code, twice.body.error.bought]).toEqual([409, 'PURCHASE_LIMIT_REACHED', 1]);
    const cart = await t.call('POST', '/api/cart/items', { sku: 'DROP-A', qty: 1 });
    expect(cart.body.error.code).toBe('ADMISSION_REQUIRED');

    // A declined payment gives the unit of the limit back: the same buyer can try again.
    const declined = await checkout('buy-b-declined', 'DROP-A', b.admissionToken, customerOf(b.ticket), 'pm_card_chargeDeclined');
    expect([declined.status, declined.body.error.code]).toEqual([402, 'PAYMENT_DECLINED']);
    expect((await checkout('buy-b', 'DROP-A', b.admissionToken, customerOf(b.ticket))).status).toBe(201);
    // Everyone not admitted hears it sold out. (A refused checkout gives its hold back a moment before its claim,
    // so one more buyer may have been admitted meanwhile: never far more than can buy.)
    await eventually(async () => (await Promise.all(tickets.map((tk) => poll('DROP-A', tk)))).every((v) => v.state === 'admitted' || v.state === 'sold_out'), 10_000);
    const after = await Promise.all(tickets.map((tk) => poll('DROP-A', tk)));
    expect(after.filter((v) => v.state === 'sold_out').length).toBeGreaterThanOrEqual(2);
    expect((await t.call('GET', '/api/drops/DROP-A')).body).toMatchObject({ state: 'sold_out', sold: 2, remaining: 0 });

    // The publisher heard every admission, with the poll's answer, and the sell-out once.
    const heard = events.filter((e) => e.sku === 'DROP-A');
    for (const v of admitted) expect(heard.find((e) => e.ticket === v.ticket && e.data.state === 'admitted')?.data).toEqual(v);
    expect(heard.filter((e) => e.ticket === null)).toEqual([{ sku: 'DROP-A', ticket: null, data: { sku: 'DROP-A', state: 'sold_out' } }]);
    // The sell-out is one message for the whole drop (it reaches every subscriber of drop:<sku>), not one per ticket.
    expect(after.filter((x) => x.state === 'sold_out').length).toBeGreaterThan(0);
    expect(heard.filter((e) => e.ticket !== null && e.data.state === 'sold_out')).toEqual([]);
  });

  it('reads at most 50 tokens from one Admission-Token header, and lets a cart drop a drop SKU', async () => {
    await t.admin('PUT', '/api/drops/DROP-B', { startsAt: new Date(Date.now() - 1_000).toISOString(), perCustomerLimit: 1, admissionTtlMs: 60_000 });
    const ticket = (await t.call('POST', '/api/drops/DROP-B/queue', { customerId: 'solo' })).body.ticket;
    let token = '';
    await eventually(async () => (token = (await poll('DROP-B', ticket)).admissionToken ?? '') !== '', 10_000);
    const padded = [...Array(55).fill('v1.x.y'), token].join(', ');
    expect((await checkout('padded', 'DROP-B', padded, 'solo')).body.error.code).toBe('ADMISSION_REQUIRED');
    expect((await checkout('second-of-two', 'DROP-B', `v1.x.y, ${token}`, 'solo')).status).toBe(201);
    const removed = await t.call('PATCH', '/api/cart/items', { cartId: 'c_none', sku: 'DROP-B', qty: 0 });
    expect(removed.body.error?.code).not.toBe('ADMISSION_REQUIRED');
    expect((await t.call('PATCH', '/api/cart/items', { cartId: 'c_none', sku: 'DROP-B', qty: 1 })).body.error.code).toBe('ADMISSION_REQUIRED');
  });
});
