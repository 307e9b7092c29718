import http from 'node:http';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HttpRequest } from '../../src/http/request.js';
import { Router } from '../../src/http/router.js';
import { errorResponse, startHttpServer, type HttpServer } from '../../src/http/server.js';

const bodyBytesMax = 1_024;

interface Reply {
  status: number;
  statusMessage: string;
  headers: http.IncomingHttpHeaders;
  text: string;
  json: unknown;
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
}

function deferred<T>(): Deferred<T> {
  let resolve: (value: T) => void = () => undefined;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

let server: HttpServer;
const logLines: string[] = [];
const unhandled: unknown[] = [];
let notReady = false;
let slowGate = deferred<void>();
let slowStarted = deferred<void>();

function echo(req: HttpRequest) {
  return {
    status: 200,
    body: {
      method: req.method,
      path: req.path,
      params: req.params,
      query: Object.fromEntries(req.query),
      body: req.body ?? null,
      rawBodyBytes: req.rawBodyBytes,
      contentType: req.headers['content-type'] ?? null,
      custom: req.headers['x-custom'] ?? null,
      remoteAddress: req.remoteAddress,
    },
  };
}

beforeAll(async () => {
  const logStream = new Writable({
    write(chunk: Buffer, _enc, done) {
      logLines.push(chunk.toString());
      done();
    },
  });
  const router = new Router()
    .add('GET', '/health', () => ({ status: 200, body: { ok: true } }))
    .add('POST', '/api/orders/:id/ship', echo)
    .add('GET', '/api/orders/:id', echo)
    .add('DELETE', '/api/orders/:id', echo)
    .add('POST', '/api/orders', (req) => ({ status: 201, body: { created: req.body }, headers: { location: '/api/orders/1', 'x-trace': 'abc' } }))
    .add('POST', '/echo', echo)
    .add('POST', '/need-body', echo, { bodyRequired: true })
    .add('GET', '/async', async () => {
      await Promise.resolve();
      return { status: 202, body: { later: true } };
    })
    .add('POST', '/async-echo', async (req) => {
      await new Promise((resolve) => setImmediate(resolve));
      return echo(req);
    })
    .add('GET', '/slow', async () => {
      slowStarted.resolve();
      await slowGate.promise;
      return { status: 200, body: { slow: true } };
    })
    .add('GET', '/throws', () => {
      throw new Error('secret database password in this message');
    })
    .add('GET', '/rejects', async () => {
      throw new Error('secret rejection');
    })
    .add('GET', '/unserializable', () => ({ status: 200, body: { n: 10n } }))
    .add('GET', '/metrics', () => ({ status: 200, body: '# HELP up\nup 1\n', headers: { 'content-type': 'text/plain; version=0.0.4' } }))
    .add('GET', '/sold-out', () => errorResponse('OUT_OF_STOCK', { sku: 'SKU-1', available: 0 }, { 'retry-after': '1' }))
    .add('GET', '/no-content', () => ({ status: 204 }))
    .add('GET', '/numeric-header', async () => ({ status: 429, body: {}, headers: { 'retry-after': 2 as unknown as string } }))
    .add('GET', '/invalid-response', (() => undefined) as unknown as () => { status: number })
    .add('POST', '/invalid-status', async () => ({ status: 99 }));

  server = await startHttpServer({
    port: 0,
    host: '127.0.0.1',
    router,
    logger: pino({ level: 'info' }, logStream),
    bodyBytesMax,
    onUnhandled: (err) => unhandled.push(err),
    before: (req) => (notReady && req.path !== '/health' ? errorResponse('NOT_READY', undefined, { 'retry-after': '2' }) : null),
  });
});

afterAll(() => {
  server.close();
});

function send(
  method: string,
  path: string,
  options: { headers?: Record<string, string | number>; body?: string | Buffer; chunks?: string[] } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port: server.port, method, path, headers: options.headers, agent: false },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (d: Buffer) => parts.push(d));
        res.on('end', () => {
          const text = Buffer.concat(parts).toString('utf8');
          let json: unknown;
          try {
            json = text.length > 0 ? JSON.parse(text) : undefined;
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, statusMessage: res.statusMessage ?? '', headers: res.headers, text, json });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (options.chunks !== undefined) {
      for (const chunk of options.chunks) req.write(chunk);
    }
    req.end(options.body);
  });
}

function postJson(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  return send('POST', path, { body: JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers } });
}

describe('http server: routing', () => {
  it('reports the port the OS picked', () => {
    expect(server.port).toBeGreaterThan(0);
  });

  it('passes route parameters, decoded, and the query string to the handler', async () => {
    const reply = await send('GET', '/api/orders/ord%2F42?expand=items&expand=payments&x=1', { headers: { 'x-custom': 'yes' } });
    expect(reply.status).toBe(200);
    expect(reply.json).toMatchObject({
      method: 'GET',
      path: '/api/orders/ord%2F42',
      params: { id: 'ord/42' },
      query: { expand: 'payments', x: '1' },
      body: null,
      custom: 'yes',
      remoteAddress: expect.stringMatching(/\S/),
    });
  });

  it('matches a parameter in the middle of a pattern', async () => {
    const reply = await postJson('/api/orders/o-7/ship', { carrier: 'dhl' });
    expect(reply.json).toMatchObject({ params: { id: 'o-7' }, body: { carrier: 'dhl' } });
  });

  it('answers an unknown route with 404 ROUTE_NOT_FOUND', async () => {
    const reply = await send('GET', '/api/nothing-here');
    expect(reply.status).toBe(404);
    expect(reply.json).toEqual({ error: { code: 'ROUTE_NOT_FOUND', message: 'No such route.' } });
  });

  it('answers a wrong method with 405 METHOD_NOT_ALLOWED and an Allow header', async () => {
    const reply = await send('PUT', '/api/orders/o-1');
    expect(reply.status).toBe(405);
    expect(reply.headers.allow).toBe('DELETE, GET');
    expect(reply.json).toMatchObject({ error: { code: 'METHOD_NOT_ALLOWED' } });
  });
});

describe('http server: responses', () => {
  it('sends JSON with the full status line and the handler headers', async () => {
    const reply = await postJson('/api/orders', { sku: 'A' });
    expect(reply.status).toBe(201);
    expect(reply.statusMessage).toBe('Created');
    expect(reply.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(reply.headers.location).toBe('/api/orders/1');
    expect(reply.headers['x-trace']).toBe('abc');
    expect(reply.json).toEqual({ created: { sku: 'A' } });
  });

  it('answers from an async handler', async () => {
    const reply = await send('GET', '/async');
    expect(reply.status).toBe(202);
    expect(reply.statusMessage).toBe('Accepted');
    expect(reply.json).toEqual({ later: true });
  });

  it('answers from an async handler that reads a body', async () => {
    const reply = await postJson('/async-echo', { a: 1 });
    expect(reply.json).toMatchObject({ body: { a: 1 } });
  });

  it('sends a string body as plain text with the content type the handler chose', async () => {
    const reply = await send('GET', '/metrics');
    expect(reply.headers['content-type']).toBe('text/plain; version=0.0.4');
    expect(reply.text).toBe('# HELP up\nup 1\n');
  });

  it('sends catalogue errors with their status and headers', async () => {
    const reply = await send('GET', '/sold-out');
    expect(reply.status).toBe(409);
    expect(reply.headers['retry-after']).toBe('1');
    expect(reply.json).toEqual({ error: { code: 'OUT_OF_STOCK', message: 'Not enough stock for one or more SKUs.', sku: 'SKU-1', available: 0 } });
  });

  it('sends an empty body when the handler gives none', async () => {
    const reply = await send('GET', '/no-content');
    expect(reply.status).toBe(204);
    expect(reply.text).toBe('');
  });
});

describe('http server: request bodies', () => {
  it('accepts application/json with parameters', async () => {
    const reply = await send('POST', '/echo', { body: '{"a":1}', headers: { 'content-type': 'Application/JSON; charset=UTF-8' } });
    expect(reply.status).toBe(200);
    expect(reply.json).toMatchObject({ body: { a: 1 }, rawBodyBytes: 7 });
  });

  it('accepts a body of exactly the largest allowed size', async () => {
    const body = JSON.stringify({ pad: 'x'.repeat(bodyBytesMax - 10) });
    expect(Buffer.byteLength(body)).toBe(bodyBytesMax);
    const reply = await send('POST', '/echo', { body, headers: { 'content-type': 'application/json' } });
    expect(reply.status).toBe(200);
    expect(reply.json).toMatchObject({ rawBodyBytes: bodyBytesMax });
  });

  it('reassembles a body streamed in chunks', async () => {
    const reply = await send('POST', '/echo', {
      headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      chunks: ['{"items":', '[1,2,', '3]}'],
    });
    expect(reply.status).toBe(200);
    expect(reply.json).toMatchObject({ body: { items: [1, 2, 3] }, rawBodyBytes: 17 });
  });

  it.each([
    ['no content type', {}],
    ['text/plain', { 'content-type': 'text/plain' }],
    ['a JSON-looking but different type', { 'content-type': 'application/jsonp' }],
    ['form encoding', { 'content-type': 'application/x-www-form-urlencoded' }],
  ])('answers a body with %s with 415 UNSUPPORTED_MEDIA_TYPE', async (_name, headers) => {
    const reply = await send('POST', '/echo', { body: '{"a":1}', headers });
    expect(reply.status).toBe(415);
    expect(reply.json).toMatchObject({ error: { code: 'UNSUPPORTED_MEDIA_TYPE' } });
  });

  it.each([['{"a":'], ['not json'], ['{"a":1}}'], ["{'a':1}"]])('answers malformed JSON %j with 400 MALFORMED_JSON', async (body) => {
    const reply = await send('POST', '/echo', { body, headers: { 'content-type': 'application/json' } });
    expect(reply.status).toBe(400);
    expect(reply.json).toMatchObject({ error: { code: 'MALFORMED_JSON' } });
  });

  it('answers a route that needs a body with 400 VALIDATION_FAILED when there is none', async () => {
    const reply = await send('POST', '/need-body');
    expect(reply.status).toBe(400);
    expect(reply.json).toMatchObject({ error: { code: 'VALIDATION_FAILED' } });
  });

  /**
   * Sends headers (and optionally some body bytes) but never ends the request: the answer has to come from the size
   * check, not from the end of the body. The client asks for keep-alive, so the server has to say it closes, and does.
   */
  function sendOversized(headers: Record<string, string | number>, chunks: string[]): Promise<{ status: number; json: unknown; connection: string | undefined }> {
    return new Promise((resolve, reject) => {
      const agent = new http.Agent({ keepAlive: true });
      const req = http.request({ host: '127.0.0.1', port: server.port, method: 'POST', path: '/echo', agent, headers }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => {
          // Resolves only once the server has closed the connection; the client never destroys it.
          res.socket.once('close', () => {
            agent.destroy();
            resolve({ status: res.statusCode ?? 0, json: JSON.parse(text), connection: res.headers.connection });
          });
        });
      });
      req.on('error', reject);
      req.flushHeaders();
      for (const chunk of chunks) req.write(chunk);
    });
  }

  it('answers a declared Content-Length over the limit with 413 before the body is sent, and closes', async () => {
    const reply = await sendOversized({ 'content-type': 'application/json', 'content-length': bodyBytesMax + 1 }, []);
    expect(reply.status).toBe(413);
    expect(reply.connection).toBe('close');
    expect(reply.json).toMatchObject({ error: { code: 'BODY_TOO_LARGE' } });
  });

  it('stops reading and answers 413 when a streamed body grows past the limit, and closes', async () => {
    const half = ' '.repeat(bodyBytesMax / 2);
    const reply = await sendOversized({ 'content-type': 'application/json', 'transfer-encoding': 'chunked' }, ['[', half, half, ' '.repeat(16)]);
    expect(reply.status).toBe(413);
    expect(reply.connection).toBe('close');
    expect(reply.json).toMatchObject({ error: { code: 'BODY_TOO_LARGE' } });
  });
});

describe('http server: a client still sending when it is refused', () => {
  const sixteenMiB = 16 * 1024 * 1024;

  /** Writes `bytes` of body as fast as the socket takes them, and reports the answer and any write error. */
  function upload(headers: Record<string, string | number>, bytes: number): Promise<{ status: number; json: any; writeError: string | null }> {
    return new Promise((resolve, reject) => {
      let writeError: string | null = null;
      const req = http.request({ host: '127.0.0.1', port: server.port, method: 'POST', path: '/echo', headers }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        // Once the whole exchange is over (the request side too): a write that failed after the answer shows then.
        res.on('end', () => req.once('close', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text), writeError })));
        res.on('error', reject);
      });
      req.on('error', (err: NodeJS.ErrnoException) => (writeError = err.code ?? err.message));
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      let sent = 0;
      const pump = (): void => {
        while (sent < bytes) {
          sent += chunk.length;
          if (!req.write(chunk)) return void req.once('drain', pump);
        }
        req.end();
      };
      pump();
    });
  }

  it('reads and drops a 16 MiB body it refused (declared), so the client reads 413 and its code, not a reset', async () => {
    const reply = await upload({ 'content-type': 'application/json', 'content-length': sixteenMiB }, sixteenMiB);
    expect(reply).toEqual({ status: 413, json: { error: expect.objectContaining({ code: 'BODY_TOO_LARGE' }) }, writeError: null });
    expect((await postJson('/echo', { still: 'serving' })).status).toBe(200);
  });

  it('does the same for a chunked body that grows past the limit', async () => {
    const reply = await upload({ 'content-type': 'application/json', 'transfer-encoding': 'chunked' }, sixteenMiB);
    expect(reply).toEqual({ status: 413, json: { error: expect.objectContaining({ code: 'BODY_TOO_LARGE' }) }, writeError: null });
  });

  it('does the same for a body of a media type it refuses', async () => {
    const reply = await upload({ 'content-type': 'text/plain', 'transfer-encoding': 'chunked' }, 4 * 1024 * 1024);
    expect(reply).toEqual({ status: 415, json: { error: expect.objectContaining({ code: 'UNSUPPORTED_MEDIA_TYPE' }) }, writeError: null });
  });
});

describe('http server: failures', () => {
  it.each([
    ['throws', '/throws', 'secret database password'],
    ['rejects', '/rejects', 'secret rejection'],
  ])('answers a handler that %s with 500 INTERNAL, no message or stack leaked, and logs it', async (_name, path, secret) => {
    const before = unhandled.length;
    const reply = await send('GET', path);
    expect(reply.status).toBe(500);
    expect(reply.json).toEqual({ error: { code: 'INTERNAL', message: 'Internal error.' } });
    expect(reply.text).not.toContain(secret);
    expect(reply.text).not.toMatch(/\bat\b.*\.ts/);
    expect(unhandled.length).toBe(before + 1);
    expect(logLines.some((line) => line.includes(secret) && line.includes('"stack"'))).toBe(true);
  });

  it('sends a non-string header value from an async handler as text', async () => {
    const reply = await send('GET', '/numeric-header');
    expect(reply.status).toBe(429);
    expect(reply.headers['retry-after']).toBe('2');
  });

  it.each([
    ['GET', '/invalid-response', undefined],
    ['POST', '/invalid-status', '{}'],
  ])('answers a handler result that is not a response (%s %s) with 500 INTERNAL', async (method, path, body) => {
    const headers: Record<string, string> = body === undefined ? {} : { 'content-type': 'application/json' };
    const reply = await send(method, path, body === undefined ? { headers } : { headers, body });
    expect(reply.status).toBe(500);
    expect(reply.json).toMatchObject({ error: { code: 'INTERNAL' } });
  });

  it('answers a response that cannot be serialized with 500 INTERNAL', async () => {
    const reply = await send('GET', '/unserializable');
    expect(reply.status).toBe(500);
    expect(reply.json).toMatchObject({ error: { code: 'INTERNAL' } });
  });

  it('answers from the before gate without running the handler', async () => {
    notReady = true;
    try {
      const gated = await postJson('/api/orders', { sku: 'A' });
      expect(gated.status).toBe(503);
      expect(gated.headers['retry-after']).toBe('2');
      expect(gated.json).toMatchObject({ error: { code: 'NOT_READY' } });
      expect((await send('GET', '/health')).status).toBe(200);
    } finally {
      notReady = false;
    }
  });

  it('drops the answer of a request the client aborted and keeps serving', async () => {
    slowGate = deferred<void>();
    slowStarted = deferred<void>();
    const closed = new Promise<void>((resolve) => {
      const req = http.request({ host: '127.0.0.1', port: server.port, method: 'GET', path: '/slow', agent: false });
      req.on('error', () => resolve());
      req.on('close', () => resolve());
      req.end();
      void slowStarted.promise.then(() => req.destroy());
    });
    await closed;
    const before = unhandled.length;
    slowGate.resolve();
    await new Promise((resolve) => setImmediate(resolve));
    const reply = await send('GET', '/health');
    expect(reply.status).toBe(200);
    expect(unhandled.length).toBe(before);
  });
});

describe('Router (no sockets)', () => {
  const ok = () => ({ status: 200 });
  const other = () => ({ status: 201 });

  it('prefers a static segment over a parameter, and falls back to the parameter when the static branch has no route', () => {
    const router = new Router().add('GET', '/a/new', ok).add('GET', '/a/:id', other).add('POST', '/a/:id/ship', other);
    expect(router.match('GET', '/a/new')).toMatchObject({ handler: ok, params: {} });
    expect(router.match('GET', '/a/42')).toMatchObject({ handler: other, params: { id: '42' } });
    expect(router.match('POST', '/a/new/ship')).toMatchObject({ handler: other, params: { id: 'new' } });
  });

  it('binds parameters of different routes at the same position to their own names', () => {
    const router = new Router().add('GET', '/o/:orderId', ok).add('GET', '/o/:id/items/:line', other);
    expect(router.match('GET', '/o/1')).toMatchObject({ params: { orderId: '1' } });
    expect(router.match('GET', '/o/1/items/2')).toMatchObject({ params: { id: '1', line: '2' } });
  });

  it('lists every method of every matching pattern in a 405', () => {
    const router = new Router().add('GET', '/a/new', ok).add('DELETE', '/a/:id', ok).add('PATCH', '/a/:id', ok);
    expect(router.match('POST', '/a/new')).toEqual({ methodNotAllowed: true, allow: ['DELETE', 'GET', 'PATCH'] });
  });

  it.each([
    ['an unknown path', '/b'],
    ['a trailing slash', '/a/1/'],
    ['an empty parameter', '/a//ship'],
    ['a longer path', '/a/1/ship/now'],
    ['malformed percent-encoding in a parameter', '/a/%E0%A4%A/ship'],
    ['a different case', '/A/1/ship'],
  ])('does not match %s', (_name, path) => {
    const router = new Router().add('POST', '/a/:id/ship', ok);
    expect(router.match('POST', path)).toEqual({ notFound: true });
  });

  it('matches the root path', () => {
    expect(new Router().add('GET', '/', ok).match('GET', '/')).toMatchObject({ handler: ok });
  });

  it('answers a static route with the same preallocated match every time', () => {
    const router = new Router().add('POST', '/api/checkout', ok, { bodyRequired: true });
    const first = router.match('POST', '/api/checkout');
    expect(first).toMatchObject({ opts: { bodyRequired: true } });
    expect(router.match('POST', '/api/checkout')).toBe(first);
  });

  it.each([
    ['a duplicate route', (r: Router) => r.add('GET', '/x', ok).add('get', '/x', ok)],
    ['a pattern without a leading slash', (r: Router) => r.add('GET', 'x', ok)],
    ['a bad parameter name', (r: Router) => r.add('GET', '/x/:1d', ok)],
    ['a repeated parameter name', (r: Router) => r.add('GET', '/x/:id/:id', ok)],
  ])('refuses %s at startup', (_name, build) => {
    expect(() => build(new Router())).toThrow();
  });
});
