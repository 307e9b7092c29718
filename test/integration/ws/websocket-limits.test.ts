import { once } from 'node:events';
import { connect as tcpConnect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { wsLimits } from '../../../src/config/limits.js';
import { startTestNode, stock, testAddress, type TestNode } from '../../support/node-harness.js';
import { scriptedPayments } from '../../support/scripted-payments.js';
import { closedWithin, WsClient } from '../../support/ws-client.js';
import { eventually } from '../cluster/redis-support.js';
import { parseScrape } from '../../support/metrics-scrape.js';
import { WsClients } from '../../support/ws-node.js';

/**
 * Every limit of /ws enforced on a real node, each set low through its WS_* variable: a client past a limit gets the
 * documented error frame (socket still usable), HTTP 429 at the upgrade, or the documented close code.
 */
describe('WebSocket limits', () => {
  let t: TestNode;
  let ws: WsClients;
  const payments = scriptedPayments();
  const connect = () => ws.connect();
  beforeAll(async () => {
    t = await startTestNode({
      driver: 'pg',
      node: { payments: payments.provider },
      env: { WS_FRAME_BYTES_MAX: '2048', WS_SUBSCRIPTIONS_MAX: '3', WS_SOCKETS_PER_IP_MAX: '40', WS_COMMANDS_IN_FLIGHT_MAX: '1', WS_SEND_BUFFER_BYTES_MAX: '65536', WS_IDLE_TIMEOUT_S: '8' },
    });
    ws = new WsClients(t);
  });
  afterAll(() => ws.stop());
  const metric = async (name: string, labels?: Record<string, string>): Promise<number> =>
    parseScrape((await t.call('GET', '/metrics')).body as string).value(name, labels) ?? 0;

  it('closes a socket that sends a frame over WS_FRAME_BYTES_MAX with 1009, and takes frames up to it', async () => {
    const c = await connect();
    const fits = JSON.stringify({ id: 'f', op: 'subscribe', topic: 'stock:A', pad: '' });
    c.send(fits.replace('"pad":""', `"pad":"${'x'.repeat(2048 - fits.length)}"`));
    expect(await c.next()).toMatchObject({ id: 'f', ok: false, error: { code: 'VALIDATION_FAILED', field: 'pad' } });
    c.send(JSON.stringify({ id: 'big', op: 'subscribe', topic: 'stock:A', pad: 'x'.repeat(2048) }));
    expect(await closedWithin(c)).toEqual({ code: 1009, reason: 'frame_too_large' });
    expect(c.frames).toEqual([]);
  });

  it('cuts a socket that sends a frame over twice WS_FRAME_BYTES_MAX without reading it (1006)', async () => {
    const c = await connect();
    c.send(JSON.stringify({ id: 'huge', op: 'subscribe', topic: 'stock:A', pad: 'x'.repeat(5000) }));
    expect((await closedWithin(c)).code).toBe(1006);
    expect(c.frames).toEqual([]);
  });

  it('refuses a subscription past WS_SUBSCRIPTIONS_MAX with SUBSCRIPTIONS_LIMIT_EXCEEDED, changing nothing', async () => {
    const c = await connect();
    for (const sku of ['A', 'B', 'C']) expect(await c.request({ op: 'subscribe', topic: `stock:${sku}` })).toMatchObject({ ok: true });
    expect(await c.request({ id: 'd', op: 'subscribe', topic: 'stock:D' })).toMatchObject({ id: 'd', ok: false, error: { code: 'SUBSCRIPTIONS_LIMIT_EXCEEDED', max: 3 } });
    // Subscribing again to a followed topic is no new subscription; after an unsubscribe there is room.
    expect(await c.request({ op: 'subscribe', topic: 'stock:A' })).toMatchObject({ ok: true });
    t.node.topics.publish('stock:D', { sku: 'D', available: 1 });
    await c.request({ op: 'unsubscribe', topic: 'stock:C' });
    expect(await c.request({ op: 'subscribe', topic: 'stock:D' })).toMatchObject({ ok: true });
    expect(c.take((f) => f.topic === 'stock:D')).toEqual([]);
  });

  it('answers the upgrade past WS_SOCKETS_PER_IP_MAX with 429 OVERLOADED, and takes one again after a close', async () => {
    ws.closeAll();
    await eventually(async () => (await metric('boxoffice_ws_sockets')) === 0, 5_000);
    const mine = await Promise.all(Array.from({ length: 40 }, () => connect()));
    const refused = await WsClient.connect(ws.url).then(() => null, (err: { status?: number; body?: any }) => err);
    expect(refused).toMatchObject({ status: 429, body: { error: { code: 'OVERLOADED' } } });
    mine[0]!.close();
    await eventually(async () => (await metric('boxoffice_ws_sockets')) === 39, 5_000);
    await connect();
    ws.closeAll();
    await eventually(async () => (await metric('boxoffice_ws_sockets')) === 0, 5_000);
  });

  it('refuses a command past WS_COMMANDS_IN_FLIGHT_MAX with an OVERLOADED error frame; it never runs', async () => {
    await stock(t, 'WSL-CMD', 10);
    const c = await connect();
    const buy = { items: [{ sku: 'WSL-CMD', qty: 1 }], paymentMethod: 'pm_card_visa', address: testAddress };
    const held = payments.holdNextAuthorize('wsl-first');
    c.send({ id: 'first', op: 'checkout', idempotencyKey: 'wsl-first', ...buy });
    await held.reached;
    expect(await c.request({ id: 'second', op: 'checkout', idempotencyKey: 'wsl-second', ...buy })).toMatchObject({ id: 'second', ok: false, error: { code: 'OVERLOADED', max: 1 } });
    // Subscriptions are not commands: they go on while one runs.
    expect(await c.request({ op: 'subscribe', topic: 'order:ord_y' })).toMatchObject({ ok: true });
    held.release();
    expect(await c.next((f) => f.id === 'first')).toMatchObject({ status: 201 });
    expect((await t.call('GET', '/api/inventory/WSL-CMD')).body).toMatchObject({ sold: 1, held: 0 });
    expect(await c.request({ id: 'third', op: 'checkout', idempotencyKey: 'wsl-third', ...buy })).toMatchObject({ id: 'third', status: 201 });
  });

  it(`closes a socket with 1008 after ${wsLimits.errorFramesPerSocketMax} error frames`, async () => {
    const c = await connect();
    for (let i = 0; i < wsLimits.errorFramesPerSocketMax; i++) c.send('not json');
    expect((await closedWithin(c)).code).toBe(1008);
    expect(c.frames.filter((f) => f.error?.code === 'MALFORMED_JSON').length).toBe(wsLimits.errorFramesPerSocketMax);
  });

  it('drops a slow reader (4001) once WS_SEND_BUFFER_BYTES_MAX would be passed, while a fast reader gets every update', async () => {
    const slow = await connect();
    const fast = await connect();
    await slow.request({ op: 'subscribe', topic: 'order:ord_flood' });
    await fast.request({ op: 'subscribe', topic: 'order:ord_flood' });
    slow.socket.pause();
    const before = await metric('boxoffice_ws_closed_by_server_total', { reason: 'slow_reader' });
    // Enough bytes to fill the kernel's buffers on both ends of the loopback connection and then the node's.
    const pad = 'x'.repeat(50 * 1024);
    const updates = 600;
    let received = 0;
    for (let i = 0; i < updates; i++) {
      t.node.topics.publish('order:ord_flood', { i, pad });
      // The fast reader keeps up: the next publish waits for its frame (so the node never buffers for it either).
      await fast.next((f) => f.topic === 'order:ord_flood');
      received++;
    }
    expect(received).toBe(updates);
    expect(await metric('boxoffice_ws_closed_by_server_total', { reason: 'slow_reader' })).toBe(before + 1);
    slow.socket.resume();
    const closed = await closedWithin(slow);
    expect([4001, 1006]).toContain(closed.code);
    // What the slow reader got is a prefix of the updates, in order: never more than the bound buffered for it.
    const got = slow.frames.filter((f) => f.topic === 'order:ord_flood').map((f) => f.data.i);
    expect(got).toEqual(got.map((_: number, i: number) => i));
    expect(got.length).toBeLessThan(updates);
  }, 60_000);

  it('closes a peer that stops answering after WS_IDLE_TIMEOUT_S, while a live client stays open', async () => {
    const live = await connect();
    const dead = tcpConnect(t.node.port, '127.0.0.1');
    await once(dead, 'connect');
    dead.write(['GET /ws HTTP/1.1', 'Host: 127.0.0.1', 'Upgrade: websocket', 'Connection: Upgrade', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version: 13', '', ''].join('\r\n'));
    const [first] = (await once(dead, 'data')) as [Buffer];
    expect(first.toString('latin1')).toMatch(/^HTTP\/1\.1 101/);
    // The dead peer reads nothing more and never answers a ping.
    const startedMs = performance.now();
    dead.on('data', () => {});
    await Promise.race([once(dead, 'close'), new Promise((_r, reject) => setTimeout(() => reject(new Error('idle peer not closed within 40 s')), 40_000))]);
    const idleMs = performance.now() - startedMs;
    // uWS's timers tick every 4 s: the close comes between one and two ticks around the timeout, never at once.
    expect(idleMs).toBeGreaterThan(3_000);
    // The live client, idle as long, answered the pings (its library does) and is still open.
    expect(live.socket.readyState).toBe(1);
    expect(await live.request({ op: 'subscribe', topic: 'stock:LIVE' })).toMatchObject({ ok: true });
  }, 60_000);
});
