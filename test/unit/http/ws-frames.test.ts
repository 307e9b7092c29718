import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/config/config.js';
import { wsLimits } from '../../../src/config/limits.js';
import { wsCloseCodes, wsErrorCatalogue } from '../../../src/http/ws/ws-errors.js';
import { parseFrame, validTopic } from '../../../src/http/ws/ws-frames.js';
import { SubscriptionIndex } from '../../../src/http/ws/ws-subscriptions.js';

const text = (v: unknown) => {
  const b = Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
};

describe('parseFrame', () => {
  it.each([
    ['a subscription', { id: 1, op: 'subscribe', topic: 'stock:TEE-M' }, { t: 'subscribe', id: 1, topic: 'stock:TEE-M', ticket: null }],
    ['a drop subscription with a ticket', { id: 'a', op: 'subscribe', topic: 'drop:TEE', ticket: 'tkt_1' }, { t: 'subscribe', id: 'a', topic: 'drop:TEE', ticket: 'tkt_1' }],
    ['a null ticket', { id: 'a', op: 'subscribe', topic: 'order:ord_1', ticket: null }, { t: 'subscribe', id: 'a', topic: 'order:ord_1', ticket: null }],
    ['an unsubscription', { id: 'u', op: 'unsubscribe', topic: 'order:ord_1' }, { t: 'unsubscribe', id: 'u', topic: 'order:ord_1' }],
    [
      'cart.add: every field but id and op is the body',
      { id: 2, op: 'cart.add', sku: 'A', qty: 1, cartId: 'c' },
      { t: 'command', id: 2, request: { method: 'POST', path: '/api/cart/items', headers: { 'content-type': 'application/json' }, body: { sku: 'A', qty: 1, cartId: 'c' } } },
    ],
    [
      'checkout: the key and the admission token travel as headers',
      { id: 3, op: 'checkout', idempotencyKey: 'k1', admissionToken: 'tok', items: [], address: {} },
      { t: 'command', id: 3, request: { method: 'POST', path: '/api/checkout', headers: { 'content-type': 'application/json', 'idempotency-key': 'k1', 'admission-token': 'tok' }, body: { items: [], address: {} } } },
    ],
  ])('reads %s', (_name, frame, expected) => {
    expect(parseFrame(text(frame), false)).toEqual(expected);
  });

  it.each([
    ['binary', text({ id: 1, op: 'subscribe', topic: 'stock:A' }), true, 'MALFORMED_JSON', undefined],
    ['not JSON', text('{'), false, 'MALFORMED_JSON', undefined],
    ['invalid UTF-8 that is not JSON', new Uint8Array([0xff, 0xfe]).buffer, false, 'MALFORMED_JSON', undefined],
    ['a JSON string', text('"hi"'), false, 'VALIDATION_FAILED', undefined],
    ['null', text('null'), false, 'VALIDATION_FAILED', undefined],
    ['an array', text([]), false, 'VALIDATION_FAILED', undefined],
    ['no id', text({ op: 'subscribe', topic: 'stock:A' }), false, 'VALIDATION_FAILED', undefined],
    ['an empty id', text({ id: '', op: 'subscribe', topic: 'stock:A' }), false, 'VALIDATION_FAILED', undefined],
    ['an id with a space', text({ id: 'a b', op: 'subscribe', topic: 'stock:A' }), false, 'VALIDATION_FAILED', undefined],
    ['a fractional id', text({ id: 1.5, op: 'subscribe', topic: 'stock:A' }), false, 'VALIDATION_FAILED', undefined],
    ['an unsafe integer id', text('{"id":9007199254740993,"op":"subscribe","topic":"stock:A"}'), false, 'VALIDATION_FAILED', undefined],
    ['an object id', text({ id: {}, op: 'subscribe', topic: 'stock:A' }), false, 'VALIDATION_FAILED', undefined],
    ['an id too long', text({ id: 'x'.repeat(wsLimits.requestIdLengthMax + 1), op: 'subscribe', topic: 'stock:A' }), false, 'VALIDATION_FAILED', undefined],
    ['an unknown op', text({ id: 1, op: 'cart.remove' }), false, 'UNKNOWN_OP', 1],
    ['an inherited name as op', text({ id: 1, op: 'constructor' }), false, 'UNKNOWN_OP', 1],
    ['a numeric op', text({ id: 1, op: 3 }), false, 'UNKNOWN_OP', 1],
    ['no topic', text({ id: 1, op: 'subscribe' }), false, 'TOPIC_INVALID', 1],
    ['a topic without kind', text({ id: 1, op: 'subscribe', topic: ':A' }), false, 'TOPIC_INVALID', 1],
    ['an unknown topic kind', text({ id: 1, op: 'subscribe', topic: 'cart:A' }), false, 'TOPIC_INVALID', 1],
    ['a bad SKU', text({ id: 1, op: 'subscribe', topic: 'stock:a b' }), false, 'TOPIC_INVALID', 1],
    ['an order id with a control character', text({ id: 1, op: 'subscribe', topic: 'order:o\n1' }), false, 'TOPIC_INVALID', 1],
    ['an order id too long', text({ id: 1, op: 'subscribe', topic: `order:${'o'.repeat(65)}` }), false, 'TOPIC_INVALID', 1],
    ['a ticket on an order topic', text({ id: 1, op: 'subscribe', topic: 'order:o1', ticket: 't' }), false, 'VALIDATION_FAILED', 1],
    ['a numeric ticket', text({ id: 1, op: 'subscribe', topic: 'drop:A', ticket: 5 }), false, 'VALIDATION_FAILED', 1],
    ['a ticket too long', text({ id: 1, op: 'subscribe', topic: 'drop:A', ticket: 't'.repeat(wsLimits.ticketLengthMax + 1) }), false, 'VALIDATION_FAILED', 1],
    ['a ticket on an unsubscribe', text({ id: 1, op: 'unsubscribe', topic: 'drop:A', ticket: 't' }), false, 'VALIDATION_FAILED', 1],
    ['a non-string idempotencyKey', text({ id: 1, op: 'checkout', idempotencyKey: 5 }), false, 'VALIDATION_FAILED', 1],
  ])('refuses %s', (_name, bytes, binary, code, id) => {
    const r = parseFrame(bytes, binary);
    expect(r.t).toBe('error');
    if (r.t !== 'error') return;
    expect(r.frame.error.code).toBe(code);
    expect(r.frame.error.message).toBe(wsErrorCatalogue[code as keyof typeof wsErrorCatalogue]);
    expect(r.frame.id).toBe(id);
    expect(r.frame.ok).toBe(false);
  });

  it('never lets a field named like a header field of another command through as a header', () => {
    const r = parseFrame(text({ id: 1, op: 'cart.add', idempotencyKey: 'k', sku: 'A', qty: 1 }), false);
    expect(r).toMatchObject({ t: 'command', request: { headers: { 'content-type': 'application/json' }, body: { idempotencyKey: 'k', sku: 'A', qty: 1 } } });
  });

  it('keeps fields named like Object.prototype members as own body fields, as JSON.parse does for HTTP', () => {
    const r = parseFrame(text('{"id":1,"op":"cart.add","__proto__":{"cartId":"x"},"constructor":"c","toString":"t"}'), false);
    if (r.t !== 'command') throw new Error(`expected a command, got ${JSON.stringify(r)}`);
    expect(Object.keys(r.request.body)).toEqual(['__proto__', 'constructor', 'toString']);
    expect(Object.getPrototypeOf(r.request.body)).toBe(Object.prototype);
    expect(r.request.headers).toEqual({ 'content-type': 'application/json' });
    expect(JSON.stringify(r.request.body)).toBe('{"__proto__":{"cartId":"x"},"constructor":"c","toString":"t"}');
  });

  it('accepts exactly the three topic kinds', () => {
    expect(['order:ord_1', 'stock:A-1', 'drop:A.b:c'].every(validTopic)).toBe(true);
    expect(['orders:1', 'stock:', 'drop', 5, null, 'stock:-A'].some(validTopic)).toBe(false);
  });
});

describe('SubscriptionIndex', () => {
  it('routes ticket updates to the subscribers that named the ticket, and forgets a socket entirely', () => {
    const index = new SubscriptionIndex<{ topics: Map<string, string | null> }>();
    const a = { topics: new Map<string, string | null>() };
    const b = { topics: new Map<string, string | null>() };
    index.add(a, 'drop:X', 't1');
    index.add(b, 'drop:X', null);
    expect([...index.subscribers('drop:X')!]).toEqual([a, b]);
    expect([...index.ticketSubscribers('drop:X', 't1')!]).toEqual([a]);
    index.add(a, 'drop:X', 't2');
    expect(index.ticketSubscribers('drop:X', 't1')).toBeUndefined();
    expect([...index.ticketSubscribers('drop:X', 't2')!]).toEqual([a]);
    index.removeAll(a);
    index.remove(b, 'drop:X');
    index.remove(b, 'drop:X');
    expect(index.topicCount()).toBe(0);
    expect(index.ticketSubscribers('drop:X', 't2')).toBeUndefined();
  });
});

describe('WS_* settings', () => {
  const base = { ADMIN_TOKEN: 'test-admin-token-0123456789' };
  it('defaults to the named limits and reads every variable', () => {
    expect(loadConfig(base).ws).toEqual({ frameBytesMax: 65_536, subscriptionsPerSocketMax: 100, socketsPerIpMax: 64, idleTimeoutS: 120, commandsInFlightPerSocketMax: 16, sendBufferBytesMax: 1_048_576 });
    const env = { ...base, WS_FRAME_BYTES_MAX: '4096', WS_SUBSCRIPTIONS_MAX: '5', WS_SOCKETS_PER_IP_MAX: '6', WS_IDLE_TIMEOUT_S: '30', WS_COMMANDS_IN_FLIGHT_MAX: '7', WS_SEND_BUFFER_BYTES_MAX: '100000' };
    expect(loadConfig(env).ws).toEqual({ frameBytesMax: 4_096, subscriptionsPerSocketMax: 5, socketsPerIpMax: 6, idleTimeoutS: 30, commandsInFlightPerSocketMax: 7, sendBufferBytesMax: 100_000 });
  });

  it.each([
    ['WS_IDLE_TIMEOUT_S', '5'],
    ['WS_FRAME_BYTES_MAX', '100'],
    ['WS_SUBSCRIPTIONS_MAX', '0'],
    ['WS_SOCKETS_PER_IP_MAX', 'many'],
    ['WS_COMMANDS_IN_FLIGHT_MAX', '-1'],
    ['WS_SEND_BUFFER_BYTES_MAX', '1'],
  ])('stops the node on a bad %s, naming it', (name, value) => {
    expect(() => loadConfig({ ...base, [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ ...base, [name]: value })).toThrow(name);
  });
});

describe('docs/websocket.md', () => {
  it('documents every error frame code and every close code', () => {
    const doc = readFileSync(join(__dirname, '..', '..', '..', 'docs', 'websocket.md'), 'utf8');
    for (const code of Object.keys(wsErrorCatalogue)) expect(doc, code).toMatch(new RegExp(`\\| \`${code}\` \\|`));
    for (const code of Object.values(wsCloseCodes)) expect(doc, String(code)).toMatch(new RegExp(`\\| ${code} \\|`));
  });
});
