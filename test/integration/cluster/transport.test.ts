import { createConnection, type Socket } from 'node:net';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import {
  encodeFrame,
  FrameDecoder,
  frameKind,
  protocolVersion,
  PeerClient,
  PeerPool,
  startTransportServer,
  TransportError,
  type PeerClientOptions,
  type RequestHandler,
  type TransportServer,
  type TransportServerOptions,
} from '../../../src/cluster/transport.js';
import { helloMac, newNonce } from '../../../src/cluster/handshake.js';
import { transportLimits } from '../../../src/config/limits.js';
import { seededRng, seedToRun, shuffle } from '../../support/seeded-random.js';

const host = '127.0.0.1';
const secret = 'test-cluster-secret-0123456789abcdef';
const servers: TransportServer[] = [];
const clients: PeerClient[] = [];
const pools: PeerPool[] = [];
const sockets: Socket[] = [];

afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()));
  await Promise.all(clients.splice(0).map((c) => c.close()));
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function serve(handler: RequestHandler, opts: Partial<TransportServerOptions> = {}): Promise<TransportServer> {
  const server = await startTransportServer({ selfId: 'node-b', secret, host, port: 0, handler, ...opts });
  servers.push(server);
  return server;
}

function clientOf(port: number, opts: Partial<PeerClientOptions> = {}): PeerClient {
  const client = new PeerClient({ selfId: 'node-a', secret, peerId: 'node-b', host, port, rng: seededRng(1), ...opts });
  clients.push(client);
  return client;
}

function deferred<T = unknown>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** The TransportError a promise rejects with (fails the test when it resolves or rejects with something else). */
async function transportErrorOf(p: Promise<unknown>): Promise<TransportError> {
  const err = await p.then(
    (v) => {
      throw new Error(`expected a TransportError, got reply ${JSON.stringify(v)}`);
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TransportError);
  return err as TransportError;
}

/** A raw TCP connection to the server, for bytes no PeerClient would send. */
async function rawConnection(port: number): Promise<Socket> {
  const socket = createConnection({ host, port });
  sockets.push(socket);
  socket.on('error', () => {});
  await once(socket, 'connect');
  return socket;
}

/** The server's CHALLENGE nonce, read from a raw connection's first frame. */
async function challengeOf(socket: Socket): Promise<Buffer> {
  const [chunk] = (await once(socket, 'data')) as [Buffer];
  const [frame] = new FrameDecoder(1_024).push(chunk);
  if (frame?.[0] !== frameKind.challenge) throw new Error(`expected a CHALLENGE, got ${JSON.stringify(frame)}`);
  return Buffer.from(frame[1]);
}

/** A raw connection that passed the handshake as `nodeId` (with `key`, the cluster secret by default). */
async function authenticatedConnection(port: number, nodeId: string, key = secret): Promise<Socket> {
  const socket = await rawConnection(port);
  const serverNonce = await challengeOf(socket);
  const nonce = newNonce();
  socket.write(encodeFrame([frameKind.hello, nodeId, protocolVersion, nonce, helloMac(key, serverNonce, nonce, nodeId, 'node-b')], 1_024));
  return socket;
}

describe('the node transport over TCP', () => {
  it('answers a request with the handler reply and tells the handler which node asked', async () => {
    const server = await serve(async (msg, from) => ({ echo: msg, from }));
    const client = clientOf(server.port);
    const msg = { sku: 'TSHIRT', qty: 3, blob: Buffer.from([0, 255]), nested: [1, 'two', null] };
    expect(await client.request(msg, 1_000)).toEqual({ echo: msg, from: 'node-a' });
    expect(client.state).toBe('up');
  });

  it('matches 10,000 concurrent requests to their replies when the server answers out of order', async () => {
    const seed = seedToRun(7);
    const total = 10_000;
    const batch = 1_000;
    const held: { n: number; resolve: (v: unknown) => void }[] = [];
    const allArrived = deferred<void>();
    const server = await serve((msg) => {
      const n = (msg as { n: number }).n;
      return new Promise((resolve) => {
        held.push({ n, resolve });
        if (held.length === total) allArrived.resolve();
      });
    });
    const client = clientOf(server.port, { requestsInFlightMax: total });
    const replies = Array.from({ length: total }, (_, n) => client.request({ n }, 30_000));
    await allArrived.promise;
    expect(client.inFlight).toBe(total);
    // Every request is in flight at once; the server now answers in a seeded random order, a batch per turn.
    shuffle(seededRng(seed), held);
    for (let i = 0; i < total; i += batch) {
      for (const h of held.slice(i, i + batch)) h.resolve({ n: h.n, double: h.n * 2 });
      await new Promise((r) => setImmediate(r));
    }
    const got = await Promise.all(replies);
    got.forEach((reply, n) => expect(reply, `seed ${seed}`).toEqual({ n, double: n * 2 }));
    expect(client.inFlight).toBe(0);
  });

  it('rejects a request at once with IN_FLIGHT_LIMIT while the limit is in flight, and accepts again after', async () => {
    const gate = deferred();
    const started: unknown[] = [];
    const server = await serve(async (msg) => {
      started.push(msg);
      await gate.promise;
      return msg;
    });
    const client = clientOf(server.port, { requestsInFlightMax: 3 });
    const first = [1, 2, 3].map((n) => client.request(n, 5_000));
    const over = await transportErrorOf(client.request(4, 5_000));
    expect(over.code).toBe('IN_FLIGHT_LIMIT');
    expect(over.outcome).toBe('not-delivered');
    gate.resolve(undefined);
    expect(await Promise.all(first)).toEqual([1, 2, 3]);
    expect(await client.request(5, 5_000)).toBe(5);
    expect(started).toEqual([1, 2, 3, 5]);
  });

  it('times out a request whose reply does not come, and drops the reply when it comes late', async () => {
    const gate = deferred();
    const server = await serve(async (msg) => (msg === 'slow' ? gate.promise.then(() => 'late') : msg));
    const client = clientOf(server.port);
    const startedAt = performance.now();
    const err = await transportErrorOf(client.request('slow', 100));
    expect(performance.now() - startedAt).toBeGreaterThanOrEqual(95);
    expect(err.code).toBe('TIMEOUT');
    expect(err.outcome).toBe('unknown');
    expect(client.inFlight).toBe(0);
    gate.resolve(undefined);
    // Replies on one connection arrive in the order they were written: the late one comes before this one.
    expect(await client.request('fast', 1_000)).toBe('fast');
    expect(client.lateReplies).toBe(1);
  });

  it.each([
    ['an async error with a code', async () => Promise.reject(Object.assign(new Error('no stock'), { code: 'OUT_OF_STOCK' })), 'OUT_OF_STOCK'],
    ['a synchronous throw', () => {
      throw new Error('bug');
    }, 'HANDLER_ERROR'],
    ['a rejection with a non-error value', async () => Promise.reject('just a string'), 'HANDLER_ERROR'],
  ])('turns %s in the handler into an error reply and keeps serving', async (_label, fail, remoteCode) => {
    const server = await serve(async (msg) => (msg === 'fail' ? (fail as () => Promise<unknown>)() : msg));
    const client = clientOf(server.port);
    const err = await transportErrorOf(client.request('fail', 1_000));
    expect(err.code).toBe('REMOTE_ERROR');
    expect(err.remoteCode).toBe(remoteCode);
    expect(err.outcome).toBe('handled');
    expect(await client.request('still here', 1_000)).toBe('still here');
  });

  it('refuses to send a request over the frame size limit and keeps the connection', async () => {
    const server = await serve(async (msg) => msg);
    const client = clientOf(server.port, { frameBytesMax: 1_024 });
    expect(await client.request('small', 1_000)).toBe('small');
    const err = await transportErrorOf(client.request('x'.repeat(2_048), 1_000));
    expect(err.code).toBe('FRAME_TOO_LARGE');
    expect(err.outcome).toBe('not-delivered');
    expect(await client.request('small again', 1_000)).toBe('small again');
    expect(server.connectionCount()).toBe(1);
  });

  it('answers REPLY_TOO_LARGE when the handler reply exceeds the server limit', async () => {
    const server = await serve(async () => 'y'.repeat(4_096), { frameBytesMax: 1_024 });
    const client = clientOf(server.port);
    const err = await transportErrorOf(client.request('big please', 1_000));
    expect(err.remoteCode).toBe('REPLY_TOO_LARGE');
  });

  it('closes a connection whose header announces a frame over the limit', async () => {
    const errors: Error[] = [];
    const server = await serve(async (msg) => msg, { frameBytesMax: 1_024, onConnectionError: (err) => errors.push(err) });
    const socket = await authenticatedConnection(server.port, 'raw');
    const closed = once(socket, 'close');
    const header = Buffer.alloc(4);
    header.writeUInt32BE(1_000_000, 0);
    socket.write(header);
    await closed;
    expect(errors.map((e) => e.name)).toEqual(['FrameSizeError']);
  });

  it('closes a connection whose first frame is not HELLO', async () => {
    const server = await serve(async (msg) => msg);
    const socket = await rawConnection(server.port);
    await challengeOf(socket);
    const closed = once(socket, 'close');
    socket.write(encodeFrame([frameKind.request, 1, 'hi'], 1_024));
    await closed;
  });

  it('fails a request with PEER_UNAVAILABLE when nothing listens at the address', async () => {
    const gone = await startTransportServer({ selfId: 'node-b', secret, host, port: 0, handler: async () => null });
    await gone.close();
    const client = clientOf(gone.port);
    const err = await transportErrorOf(client.request('anyone?', 1_000));
    expect(err.code).toBe('PEER_UNAVAILABLE');
    expect(err.outcome).toBe('not-delivered');
  });

  it('fails requests in flight with CONNECTION_LOST (outcome unknown) when the connection drops', async () => {
    const arrived = deferred<void>();
    const server = await serve(
      () => {
        arrived.resolve();
        return new Promise(() => {});
      },
      { closeDrainMsMax: 20 },
    );
    const client = clientOf(server.port);
    const err = transportErrorOf(client.request('never answered', 5_000));
    await arrived.promise;
    await server.close();
    expect((await err).code).toBe('CONNECTION_LOST');
    expect((await err).outcome).toBe('unknown');
  });

  it('reconnects with backoff after the server restarts, and later requests succeed', async () => {
    const first = await serve(async () => 'first');
    const port = first.port;
    const client = clientOf(port, { reconnectDelayMsBase: 10, reconnectDelayMsMax: 100 });
    expect(await client.request('hi', 1_000)).toBe('first');
    const down = once(client, 'down');
    await first.close();
    await down;
    expect(client.state).toBe('backoff');
    const refused = await transportErrorOf(client.request('while down', 1_000));
    expect(refused.code).toBe('PEER_UNAVAILABLE');
    const up = once(client, 'up');
    await serve(async () => 'second', { port });
    await up;
    expect(await client.request('hi again', 1_000)).toBe('second');
  });

  it('lets running handlers reply during a graceful server close and refuses new requests', async () => {
    const gate = deferred();
    const arrived = deferred<void>();
    const server = await serve(async (msg) => {
      if (msg !== 'held') return msg;
      arrived.resolve();
      await gate.promise;
      return 'finished';
    });
    const client = clientOf(server.port);
    const held = client.request('held', 5_000);
    await arrived.promise;
    const closing = server.close();
    const refused = await transportErrorOf(client.request('after close', 5_000));
    expect(refused.remoteCode).toBe('SHUTTING_DOWN');
    expect(refused.outcome).toBe('not-delivered');
    gate.resolve(undefined);
    expect(await held).toBe('finished');
    await closing;
    expect(server.connectionCount()).toBe(0);
  });

  it('waits for replies in flight when the client closes, and refuses requests after', async () => {
    const gate = deferred();
    const arrived = deferred<void>();
    const server = await serve(async () => {
      arrived.resolve();
      await gate.promise;
      return 'done';
    });
    const client = clientOf(server.port);
    const held = client.request('held', 5_000);
    await arrived.promise;
    const closing = client.close();
    const refused = await transportErrorOf(client.request('late', 1_000));
    expect(refused.code).toBe('CLOSED');
    gate.resolve(undefined);
    expect(await held).toBe('done');
    await closing;
    expect(client.state).toBe('closed');
  });
});

describe('authentication of node connections (CLUSTER_SECRET)', () => {
  /** A server whose handler records what it ran, and whose refusals are recorded too. */
  async function guarded(opts: Partial<TransportServerOptions> = {}) {
    const ran: unknown[] = [];
    const refused: string[] = [];
    const server = await serve(async (msg) => (ran.push(msg), 'done'), { onAuthFailure: (reason) => refused.push(reason), ...opts });
    return { server, ran, refused };
  }

  it('serves a client that knows the secret, and tells the handler its node id', async () => {
    const server = await serve(async (_msg, from) => `hello ${from}`);
    expect(await clientOf(server.port).request('hi', 1_000)).toBe('hello node-a');
  });

  it('runs nothing for a client with another secret: the server refuses it and the client never comes up', async () => {
    const { server, ran, refused } = await guarded();
    const intruder = clientOf(server.port, { secret: 'some-other-secret-0123456789abcdefgh' });
    const err = await transportErrorOf(intruder.request({ t: 'inv', cmd: { t: 'setOnHand', onHand: 0 } }, 1_000));
    expect(err.outcome).toBe('not-delivered');
    expect(ran).toEqual([]);
    expect(refused.join()).toMatch(/does not prove the cluster secret/);
  });

  it('sends nothing to a server that does not know the secret', async () => {
    const { server, ran } = await guarded({ secret: 'an-impostor-secret-0123456789abcdefgh' });
    const err = await transportErrorOf(clientOf(server.port).request('for the real node only', 1_000));
    expect(err.outcome).toBe('not-delivered');
    expect(ran).toEqual([]);
  });

  it('sends nothing to a server that knows the secret but is not the node it dialed', async () => {
    const { server, ran } = await guarded({ selfId: 'node-x' });
    const err = await transportErrorOf(clientOf(server.port).request('for node-b only', 1_000));
    expect(err.outcome).toBe('not-delivered');
    expect(ran).toEqual([]);
  });

  it('refuses a HELLO replayed from an earlier connection (each challenge is fresh)', async () => {
    const { server, ran, refused } = await guarded();
    const first = await rawConnection(server.port);
    const serverNonce = await challengeOf(first);
    const nonce = newNonce();
    const hello = encodeFrame([frameKind.hello, 'node-a', protocolVersion, nonce, helloMac(secret, serverNonce, nonce, 'node-a', 'node-b')], 1_024);
    first.write(hello);
    first.destroy();
    const replay = await rawConnection(server.port);
    await challengeOf(replay);
    const closed = once(replay, 'close');
    replay.write(hello);
    replay.write(encodeFrame([frameKind.request, 1, { t: 'admin', op: 'drain' }], 1_024));
    await closed;
    expect(ran).toEqual([]);
    expect(refused.at(-1)).toMatch(/does not prove the cluster secret/);
  });

  it.each([
    ['a request before any HELLO', () => encodeFrame([frameKind.request, 1, 'run me'], 1_024)],
    ['a HELLO of the old protocol', () => encodeFrame([frameKind.hello, 'node-a', 1, newNonce(), Buffer.alloc(32)], 1_024)],
    ['a HELLO with a node id that is not one', () => encodeFrame([frameKind.hello, 'node a\r\n', protocolVersion, newNonce(), Buffer.alloc(32)], 1_024)],
    ['a HELLO with a short nonce', () => encodeFrame([frameKind.hello, 'node-a', protocolVersion, Buffer.alloc(3), Buffer.alloc(32)], 1_024)],
    ['a frame over the handshake size', () => encodeFrame([frameKind.hello, 'node-a', protocolVersion, newNonce(), Buffer.alloc(5_000)], 10_000)],
  ])('closes a connection that sends %s, and runs nothing', async (_label, frameOf) => {
    const { server, ran, refused } = await guarded();
    const socket = await rawConnection(server.port);
    await challengeOf(socket);
    const closed = once(socket, 'close');
    socket.write(frameOf());
    await closed;
    expect(ran).toEqual([]);
    expect(refused).toHaveLength(1);
  });

  it('runs nothing for a relay that passes a HELLO meant for another node on to this one', async () => {
    // A node dials what it believes is node-evil (say, a forged membership record); node-evil relays the handshake to
    // node-b. The HELLO proves the secret but names the node it was made for, so node-b must refuse it.
    const { server, ran, refused } = await guarded();
    const { createServer } = await import('node:net');
    const relay = createServer((downstream) => {
      downstream.on('error', () => {});
      const upstream = createConnection({ host, port: server.port });
      sockets.push(upstream);
      upstream.on('error', () => {});
      const decoder = new FrameDecoder(1_024);
      upstream.on('data', (chunk: Buffer) => {
        if (!downstream.destroyed) downstream.write(chunk);
        // Once node-b welcomes the relayed HELLO, the relay keeps the connection and sends its own request.
        if (decoder.push(chunk).some((f) => f[0] === frameKind.welcome)) upstream.write(encodeFrame([frameKind.request, 1, { t: 'admin', op: { op: 'rebalance' } }], 1_024));
      });
      downstream.on('data', (chunk: Buffer) => upstream.write(chunk));
    });
    await new Promise<void>((resolve) => relay.listen(0, host, resolve));
    try {
      const port = (relay.address() as { port: number }).port;
      const err = await transportErrorOf(clientOf(port, { peerId: 'node-evil' }).request('for node-evil', 1_000));
      expect(err.outcome).toBe('not-delivered');
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(ran).toEqual([]);
      expect(refused.at(-1)).toMatch(/does not prove the cluster secret/);
    } finally {
      relay.close();
    }
  });

  it('keeps at most transportLimits.unauthenticatedConnectionsMax connections waiting to authenticate, closing the oldest', async () => {
    const { server, refused } = await guarded({ handshakeTimeoutMs: 60_000 });
    const flood: Socket[] = [];
    for (let i = 0; i < transportLimits.unauthenticatedConnectionsMax; i++) {
      const s = await rawConnection(server.port);
      await challengeOf(s);
      flood.push(s);
    }
    expect(refused).toEqual([]);
    const closedFirst = once(flood[0]!, 'close');
    const late = await rawConnection(server.port);
    await challengeOf(late);
    await closedFirst;
    expect(refused).toEqual(['too many connections waiting to authenticate; the oldest was closed']);
    expect(server.connectionCount()).toBe(transportLimits.unauthenticatedConnectionsMax);
    // A real peer still gets in: its handshake takes a round trip.
    expect(await clientOf(server.port).request('after the flood', 1_000)).toBeDefined();
    for (const s of [...flood, late]) s.destroy();
  });

  it('closes a connection that says nothing within the handshake timeout', async () => {
    const { server, refused } = await guarded({ handshakeTimeoutMs: 50 });
    const socket = await rawConnection(server.port);
    await challengeOf(socket);
    await once(socket, 'close');
    expect(refused).toEqual(['no valid HELLO within the handshake timeout']);
  });
});

describe('the peer pool', () => {
  it('sends to peers by node id, skips itself, and closes the client of a peer that leaves', async () => {
    const b = await serve(async (_msg, from) => `b answers ${from}`);
    const c = await serve(async (_msg, from) => `c answers ${from}`, { selfId: 'node-c' });
    const pool = new PeerPool('node-a', { secret, rng: seededRng(2) });
    pools.push(pool);
    pool.setPeers(
      new Map([
        ['node-a', { host, port: 1 }],
        ['node-b', { host, port: b.port }],
        ['node-c', { host, port: c.port }],
      ]),
    );
    expect(pool.peerIds()).toEqual(['node-b', 'node-c']);
    expect(await pool.request('node-b', 'hi', 1_000)).toBe('b answers node-a');
    expect(await pool.request('node-c', 'hi', 1_000)).toBe('c answers node-a');
    const unknown = await transportErrorOf(pool.request('node-z', 'hi', 1_000));
    expect(unknown.code).toBe('PEER_UNKNOWN');

    const leaving = pool.get('node-c')!;
    pool.setPeers(new Map([['node-b', { host, port: b.port }]]));
    expect(pool.get('node-c')).toBeUndefined();
    await leaving.close();
    expect(leaving.state).toBe('closed');
    expect((await transportErrorOf(pool.request('node-c', 'hi', 1_000))).code).toBe('PEER_UNKNOWN');
  });

  it('replaces the client of a peer that now advertises another address', async () => {
    const before = await serve(async () => 'old address');
    const after = await serve(async () => 'new address');
    const pool = new PeerPool('node-a', { secret });
    pools.push(pool);
    pool.setPeers(new Map([['node-b', { host, port: before.port }]]));
    expect(await pool.request('node-b', 'hi', 1_000)).toBe('old address');
    pool.setPeers(new Map([['node-b', { host, port: after.port }]]));
    expect(await pool.request('node-b', 'hi', 1_000)).toBe('new address');
  });
});
