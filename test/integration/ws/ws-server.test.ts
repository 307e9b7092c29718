import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultWsSettings } from '../../../src/config/ws-settings.js';
import type { HttpResponse } from '../../../src/http/request.js';
import { Router } from '../../../src/http/router.js';
import { startHttpServer, type HttpServer } from '../../../src/http/server.js';
import type { CommandRunner } from '../../../src/http/ws/ws-commands.js';
import { WsServer } from '../../../src/http/ws/ws-server.js';
import { closedWithin, WsClient } from '../../support/ws-client.js';

/**
 * The WebSocket server on a real uWS socket with a command runner the test controls: what a bug, a hostile loop or
 * an answer that cannot be serialized does to one socket, and that every other socket goes on.
 */
describe('WsServer against hostile and buggy paths', () => {
  let http: HttpServer;
  let url: string;
  let run: CommandRunner['run'] = () => ({ status: 200, body: {} });
  const counts = { socketsOpen: 0, framesIn: 0, framesOut: 0, closedByServer: new Map<string, number>() };
  const settings = { ...defaultWsSettings, subscriptionsPerSocketMax: 5 };
  beforeAll(async () => {
    const ws = new WsServer({ commands: { run: (...args) => run(...args) }, settings, log: pino({ level: 'silent' }), counts });
    http = await startHttpServer({ port: 0, host: '127.0.0.1', router: new Router(), logger: pino({ level: 'silent' }), bodyBytesMax: 65_536, mount: (app) => {
      ws.mount(app);
      return () => ws.close();
    } });
    url = `ws://127.0.0.1:${http.port}/ws`;
  });
  afterAll(() => http.close());

  it('closes only the socket a bug met (1011), and the others go on', async () => {
    const bystander = await WsClient.connect(url);
    const victim = await WsClient.connect(url);
    run = () => {
      throw new Error('a bug');
    };
    victim.send({ id: 1, op: 'cart.add', sku: 'A', qty: 1 });
    expect((await closedWithin(victim)).code).toBe(1011);
    run = () => ({ status: 201, body: { ok: 1 } });
    expect(await bystander.request({ id: 2, op: 'cart.add', sku: 'A', qty: 1 })).toEqual({ id: 2, status: 201, body: { ok: 1 } });
    bystander.close();
  });

  it('answers 500 INTERNAL for a handler answer that cannot be serialized', async () => {
    const c = await WsClient.connect(url);
    run = () => Promise.resolve({ status: 200, body: { n: 1n } } as HttpResponse);
    expect(await c.request({ id: 'big', op: 'cart.add', sku: 'A', qty: 1 })).toEqual({ id: 'big', status: 500, body: { error: { code: 'INTERNAL', message: 'Internal error.' } } });
    c.close();
  });

  it('never has more current-count reads in flight for a socket than it may have subscriptions', async () => {
    const c = await WsClient.connect(url);
    let reads = 0;
    run = (req) => {
      if (req.method === 'GET') reads++;
      return new Promise<HttpResponse>(() => undefined);
    };
    for (let i = 0; i < 200; i++) {
      c.send({ id: `s${i}`, op: 'subscribe', topic: 'stock:LOOP' });
      c.send({ id: `u${i}`, op: 'unsubscribe', topic: 'stock:LOOP' });
    }
    await c.next((f) => f.id === 'u199');
    expect(reads).toBe(settings.subscriptionsPerSocketMax);
    c.close();
  });

  it('answers an empty body as null, and keeps a command answer that arrives after the socket closed to itself', async () => {
    const c = await WsClient.connect(url);
    let answer: (r: HttpResponse) => void = () => undefined;
    run = () => new Promise<HttpResponse>((resolve) => (answer = resolve));
    c.send({ id: 'late', op: 'cart.add', sku: 'A', qty: 1 });
    await new Promise<void>((resolve) => {
      const poll = () => (counts.framesIn > 0 && answer.length === 1 ? resolve() : setImmediate(poll));
      poll();
    });
    c.close();
    await closedWithin(c);
    answer({ status: 204 });
    const d = await WsClient.connect(url);
    run = () => ({ status: 204 });
    expect(await d.request({ id: 'e', op: 'cart.add', sku: 'A', qty: 1 })).toEqual({ id: 'e', status: 204, body: null });
    d.close();
  });

  it('answers an upgrade past the node\'s socket bound with 429 OVERLOADED', async () => {
    const small = new WsServer({ commands: { run: () => ({ status: 200 }) }, settings, log: pino({ level: 'silent' }), counts: { ...counts, closedByServer: new Map() }, socketsMax: 2 });
    const server = await startHttpServer({ port: 0, host: '127.0.0.1', router: new Router(), logger: pino({ level: 'silent' }), bodyBytesMax: 65_536, mount: (app) => {
      small.mount(app);
      return () => small.close();
    } });
    try {
      const smallUrl = `ws://127.0.0.1:${server.port}/ws`;
      const held = [await WsClient.connect(smallUrl), await WsClient.connect(smallUrl)];
      const refused = await WsClient.connect(smallUrl).then(() => null, (err: { status?: number; body?: any }) => err);
      expect(refused).toMatchObject({ status: 429, body: { error: { code: 'OVERLOADED', max: 2 } } });
      for (const c of held) c.close();
    } finally {
      server.close();
    }
  });

  it('closes every socket with 1001 when the server closes', async () => {
    const a = await WsClient.connect(url);
    const b = await WsClient.connect(url);
    http.close();
    expect((await closedWithin(a)).code).toBe(1001);
    expect((await closedWithin(b)).code).toBe(1001);
  });
});
