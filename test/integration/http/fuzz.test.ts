import http from 'node:http';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildRouter } from '../../../src/http/routes/index.js';
import { startTestNode, stock, testAdminToken, type TestNode } from '../../support/node-harness.js';
import { seedToRun } from '../../support/seeded-random.js';

/**
 * A property-based fuzzer over every route of the API (fast-check; issue 11, "hostile input, everywhere"): random
 * methods, hostile path parameters, headers, tokens and bodies — deep, duplicate-key, prototype-polluting JSON,
 * numbers JSON cannot hold, control, bidirectional and zero-width characters, lone surrogates, invalid UTF-8. Every
 * request must get an answer below 500; every refusal a JSON error with a code and no stack; a refusal changes nothing
 * (the sentinel SKU, product and cart read the same after); and the node keeps serving. A failing run prints its seed
 * and path (fast-check); BO_SEED replays it.
 */
const runs = Number(process.env['BO_FUZZ_RUNS'] ?? 250);
const sentinel = 'FUZZ-A';

const hostileStrings = [
  '', ' ', '\u0000', 'a\u0000b', '\u0007', '\u001b[31m', '\u202eevil', 'a\u200bb', '\ufeff', '\ud800', '\udfff', 'é', '😀', 'a\r\nSet-Cookie: x=1',
  '__proto__', 'constructor', 'prototype', '../../etc/passwd', "'; DROP TABLE orders;--", '%00', '%', '${jndi:ldap://x}', 'x'.repeat(300), 'x'.repeat(70_000),
];
const hostileNumbers = [0, -0, 1, -1, 1.5, 0.1, 1e-7, 2 ** 31, 2 ** 53 + 1, Number.MAX_SAFE_INTEGER, 1e21, 1e308, -1e308];
const fieldNames = ['__proto__', 'constructor', 'prototype', 'sku', 'qty', 'items', 'cartId', 'paymentMethod', 'address', 'name', 'line1', 'city', 'postalCode', 'country', 'region', 'priceMinor', 'currency', 'weightGrams', 'onHand', 'code', 'kind', 'percentBps', 'amountMinor', 'restock', 'ttlMs', 'customerId', 'promoCode', 'shippingMethod', 'skus', 'products'];

const hostileString = fc.oneof(fc.constantFrom(...hostileStrings), fc.string({ maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 20 }));
const hostileNumber = fc.oneof(fc.constantFrom(...hostileNumbers), fc.double(), fc.integer());
const { value: hostileValue } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    hostileString,
    hostileNumber,
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.oneof(fc.constantFrom(...fieldNames), hostileString), tie('value'), { maxKeys: 6 }),
  ),
}));
/** Bodies JSON.stringify cannot make: number literals out of range, duplicate keys, deep nesting, bytes that are not UTF-8. */
const rawBodies = fc.constantFrom<Buffer>(
  Buffer.from('1e309'),
  Buffer.from('{"items":[{"sku":"FUZZ-A","qty":1}],"items":[]}'),
  Buffer.from('{"__proto__":{"admin":true},"constructor":{"prototype":{"polluted":true}}}'),
  Buffer.from('['.repeat(20_000) + ']'.repeat(20_000)),
  Buffer.from('{"a":'.repeat(5_000) + '1' + '}'.repeat(5_000)),
  Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]),
  Buffer.from('{"sku":"\\ud800","qty":1}'),
  Buffer.from('{"qty": 10, "qty": "10"}'),
  Buffer.from(''),
  Buffer.from('null'),
);
const body = fc.oneof(
  hostileValue.map((v) => Buffer.from(JSON.stringify(v) ?? 'null')),
  rawBodies,
);
/** A path parameter: hostile text, percent-encoded (invalid sequences included), or raw. */
const pathParam = fc.oneof(
  hostileString.map((s) => {
    try {
      return encodeURIComponent(s);
    } catch {
      return '%ED%A0%80'; // a lone surrogate as UTF-8 bytes: invalid
    }
  }),
  fc.constantFrom('%E0%A4%A', '%C0%AE', '..', '.', sentinel, 'FUZZ-A%00', 'a'.repeat(500)),
);
const standardMethods = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
const method = fc.constantFrom(...standardMethods, 'BREW');
const auth = fc.constantFrom<'none' | 'wrong' | 'right'>('none', 'wrong', 'right');
const contentType = fc.constantFrom('application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', 'APPLICATION/JSON', undefined);

const noKeepAlive = new http.Agent({ keepAlive: false });

interface Answer {
  status: number;
  text: string;
}

function send(port: number, m: string, path: string, headers: Record<string, string>, payload: Buffer | null): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ agent: noKeepAlive, host: '127.0.0.1', port, method: m, path, headers: payload === null ? headers : { ...headers, 'content-length': String(payload.length) }, timeout: 10_000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      // An event stream (the dashboard's) never ends: its first chunk is its answer, then the client goes away.
      if (res.headers['content-type'] === 'text/event-stream') {
        return void res.once('data', (d: string) => {
          resolve({ status: res.statusCode ?? 0, text: d });
          req.destroy();
        });
      }
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer to ${m} ${path} within 10 s`)));
    req.on('error', reject);
    req.end(payload ?? undefined);
  });
}

describe.each(['pg', 'pglite'] as const)('the API under a property-based fuzzer (%s)', (driver) => {
  let t: TestNode;
  let cartId: string;
  let patterns: { method: string; pattern: string }[];

  beforeAll(async () => {
    t = await startTestNode({ driver });
    await stock(t, sentinel, 50);
    cartId = (await t.call('POST', '/api/cart/items', { sku: sentinel, qty: 2 })).body.cartId;
    patterns = buildRouter(t.node.services).routes;
  });
  afterAll(async () => {
    await t?.stop();
  });

  const state = async () => {
    const [inv, product, cart] = await Promise.all([t.call('GET', `/api/inventory/${sentinel}`), t.call('GET', `/api/products/${sentinel}`), t.call('GET', `/api/carts/${cartId}`)]);
    return JSON.stringify([inv.body, product.body, cart.body]);
  };

  it(`answers ${runs} hostile requests over every route below 500, refuses them cleanly, and changes nothing by a refusal`, async () => {
    // What the node holds now; a request answered 2xx may change it (a valid admin write), a refusal never.
    let before = await state();
    const request = fc.record({
      route: fc.nat({ max: 10_000 }),
      method,
      params: fc.array(pathParam, { minLength: 3, maxLength: 3 }),
      auth,
      contentType,
      idempotencyKey: fc.option(hostileString.map((s) => s.replace(/[\r\n]/g, '')), { nil: undefined }),
      body: fc.option(body, { nil: null }),
      sameMethod: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const route = patterns[r.route % patterns.length]!;
        let i = 0;
        const path = route.pattern.replace(/:[A-Za-z]+/g, () => r.params[i++]!);
        const headers: Record<string, string> = {};
        if (r.contentType !== undefined) headers['content-type'] = r.contentType;
        if (r.idempotencyKey !== undefined) headers['idempotency-key'] = Buffer.from(r.idempotencyKey, 'latin1').toString('latin1').replace(/[^\x20-\x7e]/g, '?');
        if (r.auth !== 'none') headers['authorization'] = `Bearer ${r.auth === 'right' ? testAdminToken : 'not-the-token-at-all'}`;
        const m = r.sameMethod ? route.method : r.method;
        const sent = send(t.node.port, m, path, headers, m === 'GET' || m === 'OPTIONS' ? null : r.body);
        // A method the HTTP parser does not know (uWS knows the standard ones) cannot be framed: the connection is
        // closed at once, which the client sees as a reset, never as a hang.
        if (!standardMethods.has(m)) return void (await expect(sent).rejects.toThrow(/socket hang up|ECONNRESET/));
        const a = await sent;
        expect(a.status, `${m} ${path}: ${a.text.slice(0, 300)}`).toBeLessThan(500);
        if (a.status >= 400) {
          const parsed = JSON.parse(a.text) as { error?: { code?: unknown; message?: unknown } };
          expect(typeof parsed.error?.code, `${m} ${path}: ${a.text.slice(0, 300)}`).toBe('string');
          expect(typeof parsed.error?.message).toBe('string');
          expect(a.text).not.toMatch(/\n\s+at |node_modules|\.[jt]s:\d+|ZodError|SyntaxError/);
          expect(await state(), `${m} ${path} was refused ${a.status} yet changed the state`).toBe(before);
        } else {
          before = await state();
        }
      }),
      { numRuns: runs, seed: seedToRun(20_261_207), endOnFailure: true },
    );
    expect((await t.call('GET', '/healthz')).status).toBe(200);
    expect(await state()).toBe(before);
  }, 180_000);
});
