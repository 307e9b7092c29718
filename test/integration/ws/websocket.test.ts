import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCatalogue } from '../../../src/errors.js';
import { startTestNode, stock, testAddress, type TestNode } from '../../support/node-harness.js';
import { WsClients } from '../../support/ws-node.js';

/**
 * The WebSocket API at /ws on a real node (real PostgreSQL, real uWS socket; the `ws` package as client):
 * subscription acks, commands answered exactly as HTTP answers them, bad frames answered with error frames on a
 * socket that stays usable.
 */
describe('WebSocket /ws', () => {
  let t: TestNode;
  let ws: WsClients;
  const connect = () => ws.connect();
  beforeAll(async () => {
    t = await startTestNode({ driver: 'pg' });
    ws = new WsClients(t);
  });
  afterAll(() => ws.stop());

  describe('subscriptions', () => {
    it('acks subscribe and unsubscribe with the request id', async () => {
      const c = await connect();
      expect(await c.request({ id: 'a1', op: 'subscribe', topic: 'order:ord_x' })).toEqual({ id: 'a1', ok: true });
      expect(await c.request({ id: 7, op: 'unsubscribe', topic: 'order:ord_x' })).toEqual({ id: 7, ok: true });
      expect(await c.request({ id: 'a3', op: 'subscribe', topic: 'drop:SKU-1', ticket: 'tkt_1' })).toEqual({ id: 'a3', ok: true });
    });

    it('delivers published updates as { topic, data } to subscribers only, and stops after unsubscribe', async () => {
      const a = await connect();
      const b = await connect();
      await a.request({ op: 'subscribe', topic: 'order:ord_pub' });
      t.node.topics.publish('order:ord_pub', { type: 'order.confirmed', orderId: 'ord_pub', sequence: 1, data: {} });
      expect(await a.next((f) => f.topic === 'order:ord_pub')).toEqual({ topic: 'order:ord_pub', data: { type: 'order.confirmed', orderId: 'ord_pub', sequence: 1, data: {} } });
      await a.request({ op: 'unsubscribe', topic: 'order:ord_pub' });
      t.node.topics.publish('order:ord_pub', { sequence: 2 });
      // A later frame on the same socket proves the earlier publish was not delivered (frames keep their order).
      await b.request({ op: 'subscribe', topic: 'order:ord_pub' });
      expect(await a.request({ op: 'subscribe', topic: 'order:ord_other' })).toMatchObject({ ok: true });
      expect(a.take((f) => f.topic === 'order:ord_pub')).toEqual([]);
      expect(b.take((f) => f.topic === 'order:ord_pub')).toEqual([]);
    });

    it('sends a ticket update only to the drop subscribers that named the ticket, and broadcasts to all', async () => {
      const mine = await connect();
      const other = await connect();
      const none = await connect();
      await mine.request({ op: 'subscribe', topic: 'drop:DROP-T', ticket: 'tkt_mine' });
      await other.request({ op: 'subscribe', topic: 'drop:DROP-T', ticket: 'tkt_other' });
      await none.request({ op: 'subscribe', topic: 'drop:DROP-T' });
      t.node.topics.publishTicket('DROP-T', 'tkt_mine', { ticket: 'tkt_mine', state: 'admitted' });
      t.node.topics.publish('drop:DROP-T', { state: 'sold_out' });
      expect(await mine.next()).toEqual({ topic: 'drop:DROP-T', data: { ticket: 'tkt_mine', state: 'admitted' } });
      for (const c of [mine, other, none]) expect(await c.next()).toEqual({ topic: 'drop:DROP-T', data: { state: 'sold_out' } });
    });

    it('sends the current available count at once on subscribe to stock:<sku>', async () => {
      await stock(t, 'WS-NOW', 7);
      const c = await connect();
      await c.request({ id: 's', op: 'subscribe', topic: 'stock:WS-NOW' });
      expect(await c.next((f) => f.topic === 'stock:WS-NOW')).toEqual({ topic: 'stock:WS-NOW', data: { sku: 'WS-NOW', available: 7 } });
    });

    it('publishes a committed change of a SKU to its stock subscribers', async () => {
      await stock(t, 'WS-CHG', 5);
      const c = await connect();
      await c.request({ op: 'subscribe', topic: 'stock:WS-CHG' });
      await c.next((f) => f.topic === 'stock:WS-CHG');
      const r = await t.call('POST', '/api/checkout', { items: [{ sku: 'WS-CHG', qty: 2 }], paymentMethod: 'pm_card_visa', address: testAddress }, { 'idempotency-key': 'ws-chg-1' });
      expect(r.status).toBe(201);
      expect(await c.next((f) => f.topic === 'stock:WS-CHG' && f.data.available === 3)).toEqual({ topic: 'stock:WS-CHG', data: { sku: 'WS-CHG', available: 3 } });
    });
  });

  describe('commands answer what HTTP answers', () => {
    const viaHttp = (path: string, body: unknown, headers: Record<string, string> = {}) => t.call('POST', path, body, headers);
    const strip = (body: any) => JSON.parse(JSON.stringify(body).replace(/"(cartId|orderId)":"[^"]+"/g, '"$1":"*"').replace(/"expiresAt":"[^"]+"/g, '"expiresAt":"*"'));

    it.each([
      ['a new cart', { sku: 'WS-CART', qty: 2 }],
      ['an unknown product', { sku: 'NOPE', qty: 1 }],
      ['a bad quantity', { sku: 'WS-CART', qty: 0 }],
      ['a quantity over the line limit', { sku: 'WS-CART', qty: 1_000_000 }],
      ['an unknown field', { sku: 'WS-CART', qty: 1, colour: 'red' }],
      ['an unknown cart', { cartId: 'cart_nope', sku: 'WS-CART', qty: 1 }],
    ])('cart.add: %s', async (_name, fields) => {
      await stock(t, 'WS-CART', 50);
      const c = await connect();
      const http = await viaHttp('/api/cart/items', fields);
      const ws = await c.request({ id: 'c1', op: 'cart.add', ...fields });
      expect(ws.id).toBe('c1');
      expect(ws.status).toBe(http.status);
      expect(strip(ws.body)).toEqual(strip(http.body));
    });

    it('cart.add with a field named __proto__ answers what HTTP answers for the same JSON', async () => {
      await stock(t, 'WS-CART', 50);
      const c = await connect();
      const json = '{"__proto__":{"cartId":"cart_evil"},"sku":"WS-CART","qty":1}';
      const http = await viaHttp('/api/cart/items', json);
      c.send(`{"id":"p",${json.slice(1)}`.replace('"id":"p",', '"id":"p","op":"cart.add",'));
      const ws = await c.next((f) => f.id === 'p');
      expect(http.status, JSON.stringify(ws)).toBe(400);
      expect(ws.status, JSON.stringify(ws)).toBe(http.status);
      expect(ws.body).toEqual(http.body);
    });

    it('cart.add adds to the cart a socket named', async () => {
      await stock(t, 'WS-CART2', 50);
      const c = await connect();
      const first = await c.request({ op: 'cart.add', sku: 'WS-CART2', qty: 1 });
      expect(first.status).toBe(201);
      const again = await c.request({ op: 'cart.add', cartId: first.body.cartId, sku: 'WS-CART2', qty: 2 });
      expect(again).toMatchObject({ status: 200, body: { cartId: first.body.cartId, lines: [{ sku: 'WS-CART2', qty: 3 }] } });
      expect((await t.call('GET', `/api/carts/${first.body.cartId}`)).body.lines).toMatchObject([{ sku: 'WS-CART2', qty: 3 }]);
    });

    const buy = (sku: string, qty: number) => ({ items: [{ sku, qty }], paymentMethod: 'pm_card_visa', address: testAddress });
    it.each([
      ['a confirmed order', 'ok', buy('WS-CO', 1)],
      ['a declined card', 'declined', { ...buy('WS-CO', 1), paymentMethod: 'pm_card_visa_chargeDeclined' }],
      ['too few units', 'short', buy('WS-CO', 999)],
      ['a bad body', 'bad', { items: [], paymentMethod: 'pm_card_visa', address: testAddress }],
      ['both items and a cart', 'both', { ...buy('WS-CO', 1), cartId: 'cart_x' }],
    ])('checkout: %s', async (_name, key, body) => {
      await stock(t, 'WS-CO', 100);
      const c = await connect();
      const http = await viaHttp('/api/checkout', body, { 'idempotency-key': `http-${key}` });
      const ws = await c.request({ id: key, op: 'checkout', idempotencyKey: `ws-${key}`, ...body });
      expect(ws.status).toBe(http.status);
      expect(strip(ws.body)).toEqual(strip(http.body));
    });

    it('checkout without an idempotency key answers 400 IDEMPOTENCY_KEY_MISSING, as HTTP without the header', async () => {
      const c = await connect();
      const http = await viaHttp('/api/checkout', buy('WS-CO', 1));
      const ws = await c.request({ op: 'checkout', ...buy('WS-CO', 1) });
      expect(http.status).toBe(400);
      expect(ws).toMatchObject({ status: 400, body: http.body });
    });

    it('replays a checkout retried with the same key, and refuses the key with another body (422)', async () => {
      await stock(t, 'WS-REPLAY', 10);
      const c = await connect();
      const first = await c.request({ op: 'checkout', idempotencyKey: 'ws-replay', ...buy('WS-REPLAY', 1) });
      const again = await c.request({ op: 'checkout', idempotencyKey: 'ws-replay', ...buy('WS-REPLAY', 1) });
      expect(first.status).toBe(201);
      expect(again).toMatchObject({ status: 201, body: first.body });
      const http = await viaHttp('/api/checkout', buy('WS-REPLAY', 1), { 'idempotency-key': 'ws-replay' });
      expect(http.body).toEqual(first.body);
      const other = await c.request({ op: 'checkout', idempotencyKey: 'ws-replay', ...buy('WS-REPLAY', 2) });
      expect(other).toMatchObject({ status: 422, body: { error: { code: 'IDEMPOTENCY_KEY_REUSED' } } });
      expect((await t.call('GET', '/api/inventory/WS-REPLAY')).body).toMatchObject({ available: 9, sold: 1 });
    });

    it('passes admissionToken on as the Admission-Token header (a checkout that ignores it still buys)', async () => {
      await stock(t, 'WS-ADM', 10);
      const c = await connect();
      const r = await c.request({ op: 'checkout', idempotencyKey: 'ws-adm', admissionToken: 'tok_abc', ...buy('WS-ADM', 1) });
      expect(r.status).toBe(201);
      const bad = await c.request({ id: 'x', op: 'checkout', idempotencyKey: 'ws-adm2', admissionToken: 12, ...buy('WS-ADM', 1) });
      expect(bad).toEqual({ id: 'x', ok: false, error: { code: 'VALIDATION_FAILED', message: expect.any(String), field: 'admissionToken', reason: 'expected a string' } });
    });
  });

  describe('bad frames', () => {
    it.each([
      ['not JSON', '{nope', { code: 'MALFORMED_JSON' }, undefined],
      ['JSON but not an object', '[1,2]', { code: 'VALIDATION_FAILED', field: '' }, undefined],
      ['no id', JSON.stringify({ op: 'subscribe', topic: 'stock:A' }), { code: 'VALIDATION_FAILED', field: 'id' }, undefined],
      ['an id too long', JSON.stringify({ id: 'x'.repeat(65), op: 'subscribe', topic: 'stock:A' }), { code: 'VALIDATION_FAILED', field: 'id' }, undefined],
      ['an unknown op', JSON.stringify({ id: 1, op: 'explode' }), { code: 'UNKNOWN_OP', op: 'explode' }, 1],
      ['no op', JSON.stringify({ id: 2 }), { code: 'UNKNOWN_OP', op: null }, 2],
      ['a bad topic kind', JSON.stringify({ id: 3, op: 'subscribe', topic: 'cart:abc' }), { code: 'TOPIC_INVALID' }, 3],
      ['a bad sku', JSON.stringify({ id: 4, op: 'subscribe', topic: 'stock:-bad sku' }), { code: 'TOPIC_INVALID' }, 4],
      ['a ticket on a stock topic', JSON.stringify({ id: 5, op: 'subscribe', topic: 'stock:A', ticket: 't' }), { code: 'VALIDATION_FAILED', field: 'ticket' }, 5],
      ['an unknown field', JSON.stringify({ id: 6, op: 'unsubscribe', topic: 'stock:A', x: 1 }), { code: 'VALIDATION_FAILED', field: 'x' }, 6],
    ])('answers %s with an error frame and stays usable', async (_name, text, error, id) => {
      const c = await connect();
      c.send(text);
      const frame = await c.next();
      expect(frame).toMatchObject({ ok: false, error: { ...error, message: expect.any(String) } });
      expect(frame.id).toBe(id);
      expect(await c.request({ id: 'after', op: 'subscribe', topic: 'stock:A' })).toEqual({ id: 'after', ok: true });
    });

    it('answers a binary frame with MALFORMED_JSON', async () => {
      const c = await connect();
      c.send(Buffer.from(JSON.stringify({ id: 1, op: 'subscribe', topic: 'stock:A' })));
      expect(await c.next()).toMatchObject({ ok: false, error: { code: 'MALFORMED_JSON' } });
    });

    it('leaves GET /ws without an upgrade to the HTTP router (404)', async () => {
      const r = await t.call('GET', '/ws');
      expect(r.status).toBe(404);
      expect(r.body.error.code).toBe('ROUTE_NOT_FOUND');
      expect(errorCatalogue.ROUTE_NOT_FOUND.status).toBe(404);
    });
  });
});
