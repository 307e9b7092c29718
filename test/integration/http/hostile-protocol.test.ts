import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestNode, stock, type TestNode } from '../../support/node-harness.js';

/**
 * Hostile bytes below the routes (issue 11, "hostile input, everywhere"), over raw sockets: requests the HTTP parser
 * cannot frame, CR/LF where a header or path must not have them, oversized headers, slow-drip headers and bodies
 * (slowloris) and thousands of idle connections. Every one ends in a 4xx or a close within a bound, never an answer
 * from a handler, while well-formed requests on other connections go on being served.
 *
 * uWebSockets.js 20.30 closes at once what it rejects (an unknown method, Content-Length with Transfer-Encoding, a
 * header block over its buffer) but takes a header block it cannot parse (no request line, a bare CR, over 100
 * headers) for an incomplete one and waits for more until its HTTP idle timeout (10 s, compiled in, on a 4 s tick; its timer is not
 * reset by partial headers or body bytes). That bound is asserted here: see RELIABILITY.md, "not covered".
 */
const parserIdleBoundMs = 14_000; // its 10 s idle timeout, checked on a 4 s tick
const immediateMs = 1_000;

interface RawOutcome {
  /** What the server sent before the socket ended. */
  text: string;
  /** Milliseconds from the connection's establishment to its close (Infinity: still open at the deadline). */
  closedAfterMs: number;
}

/** Sends `bytes` on a fresh connection (all at once, or one byte every `dripMs`) and waits for the close. */
function rawExchange(port: number, bytes: string, opts: { dripMs?: number; deadlineMs: number }): Promise<RawOutcome> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let started = performance.now();
    let text = '';
    let drip: NodeJS.Timeout | undefined;
    const finish = (closedAfterMs: number) => {
      clearInterval(drip);
      clearTimeout(deadline);
      socket.destroy();
      resolve({ text, closedAfterMs });
    };
    const deadline = setTimeout(() => finish(Infinity), opts.deadlineMs);
    socket.on('connect', () => (started = performance.now()));
    socket.on('data', (d) => (text += d.toString('latin1')));
    socket.on('close', () => finish(performance.now() - started));
    socket.on('error', () => undefined); // a reset ends in 'close' too
    if (opts.dripMs === undefined) return void socket.write(bytes);
    let i = 0;
    drip = setInterval(() => (i < bytes.length && !socket.destroyed ? socket.write(bytes[i++]!) : clearInterval(drip)), opts.dripMs);
  });
}

/** Times one well-formed request on its own connection. */
async function served(t: TestNode): Promise<number> {
  const started = performance.now();
  const r = await t.call('GET', '/api/inventory/HOSTILE-A');
  expect(r.status).toBe(200);
  return performance.now() - started;
}

describe('hostile bytes on the HTTP port', () => {
  let t: TestNode;
  beforeAll(async () => {
    t = await startTestNode();
    await stock(t, 'HOSTILE-A', 10);
  });
  afterAll(async () => {
    await t?.stop();
  });

  it.each([
    ['a method the parser does not know', 'BREW /api/inventory/HOSTILE-A HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['Content-Length together with Transfer-Encoding (request smuggling)', 'POST /api/cart/items HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'],
    ['a 200 KB header', `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(200_000)}\r\n\r\n`],
  ])('closes %s at once, unanswered', async (_label, bytes) => {
    const outcome = await rawExchange(t.node.port, bytes, { deadlineMs: parserIdleBoundMs });
    expect(outcome.closedAfterMs).toBeLessThan(immediateMs);
    expect(outcome.text).not.toMatch(/^HTTP\/1\.1 2/);
  });

  it('answers two different Content-Length headers with 400 and a code, and closes', async () => {
    const outcome = await rawExchange(t.node.port, 'POST /api/cart/items HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!', { deadlineMs: parserIdleBoundMs });
    expect(outcome.text).toMatch(/^HTTP\/1\.1 400 /);
    expect(outcome.text).toMatch(/"code":"[A-Z_]+"/);
    expect(outcome.closedAfterMs).toBeLessThan(immediateMs);
  });

  it('ends unframeable requests, slow drips and thousands of idle connections within bounds while serving others', async () => {
    const port = t.node.port;
    const unframeable = [
      'GARBAGE\r\n\r\n',
      'GET /api/carts/a\r\nb HTTP/1.1\r\nHost: x\r\n\r\n', // CR/LF inside the path
      'GET /api/carts/a\rb HTTP/1.1\r\nHost: x\r\n\r\n', // a bare CR inside the path
      'GET /healthz HTTP/1.1\r\nHost: x\r\nIdempotency-Key: a\rb\r\n\r\n', // a bare CR inside a header value
      `GET /healthz HTTP/1.1\r\n${Array.from({ length: 150 }, (_, i) => `X-${i}: a\r\n`).join('')}\r\n`,
      'GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n',
    ].map((bytes) => rawExchange(port, bytes, { deadlineMs: parserIdleBoundMs + 3_000 }));
    const slowHeaders = Array.from({ length: 50 }, () => rawExchange(port, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ${'a'.repeat(100)}`, { dripMs: 250, deadlineMs: parserIdleBoundMs + 3_000 }));
    const slowBodies = Array.from({ length: 50 }, () =>
      rawExchange(port, `POST /api/cart/items HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n${' '.repeat(200)}`, { dripMs: 250, deadlineMs: parserIdleBoundMs + 3_000 }),
    );
    const rssBefore = process.memoryUsage().rss;
    // Opened in batches, yielding between them: the node runs in this process and must get to accept them.
    const idle: Promise<RawOutcome>[] = [];
    for (let batch = 0; batch < 10; batch++) {
      for (let i = 0; i < 200; i++) idle.push(rawExchange(port, '', { deadlineMs: parserIdleBoundMs + 3_000 }));
      await new Promise((resolve) => setImmediate(resolve));
    }

    // While all of that hangs on the port, well-formed requests are served at once, one after another.
    const latencies: number[] = [];
    for (let i = 0; i < 50; i++) latencies.push(await served(t));
    expect(Math.max(...latencies)).toBeLessThan(immediateMs);
    expect(process.memoryUsage().rss - rssBefore, 'memory for 2,100 hostile connections').toBeLessThan(128 * 1024 * 1024);

    const outcomes = await Promise.all([...unframeable, ...slowHeaders, ...slowBodies, ...idle]);
    for (const [i, o] of outcomes.entries()) {
      expect(o.closedAfterMs, `connection ${i} closed`).toBeLessThan(parserIdleBoundMs);
      expect(o.text, `connection ${i} was answered by a handler`).not.toMatch(/^HTTP\/1\.1 [23]/);
    }
    expect((await t.call('GET', '/api/inventory/HOSTILE-A')).body).toMatchObject({ sku: 'HOSTILE-A', available: 10 });
  }, 60_000);
});
