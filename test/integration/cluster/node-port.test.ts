import { once } from 'node:events';
import { createConnection, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeFrame, FrameDecoder, frameKind, protocolVersion, type Frame } from '../../../src/cluster/frames.js';
import { helloMac, newNonce } from '../../../src/cluster/handshake.js';
import { startCluster, type TestCluster } from '../../support/cluster-harness.js';
import { owners, settled, skuPartition, stockSkus } from './cluster-support.js';

/**
 * The inter-node port of a real node, attacked from outside (issue 11): a stranger without CLUSTER_SECRET gets
 * nothing run, whatever node id it claims; a message from a peer that knows the secret but is malformed is refused
 * before any actor sees it; a well-formed one is served.
 */
const partitions = 16;
const secret = 'node-port-test-secret-0123456789abcdef';
const sku = 'PORT-A';
let c: TestCluster;

beforeAll(async () => {
  c = await startCluster({ nodes: 2, partitions, env: { CLUSTER_SECRET: secret } });
  await settled(c, 2);
  await stockSkus(c, [{ sku, onHand: 7 }]);
}, 120_000);

afterAll(async () => {
  await c?.stop();
});

/** The node that owns the SKU (the one an inventory message is served on). */
async function owner() {
  const own = await owners(c);
  return c.node(own.get(skuPartition(sku, partitions))!.nodeId);
}

async function connect(port: number): Promise<{ socket: Socket; frames: AsyncGenerator<Frame> }> {
  const socket = createConnection({ host: '127.0.0.1', port });
  socket.on('error', () => {});
  await once(socket, 'connect');
  const decoder = new FrameDecoder(1024 * 1024);
  async function* frames(): AsyncGenerator<Frame> {
    for await (const chunk of socket) for (const f of decoder.push(chunk as Buffer)) yield f;
  }
  return { socket, frames: frames() };
}

const onHand = async () => ((await (await fetch(`${c.url(0)}/api/inventory/${sku}`)).json()) as { onHand: number }).onHand;

describe('the node port of a cluster node', () => {
  it('runs nothing for a stranger, whatever node id it claims', async () => {
    const target = await owner();
    const { socket, frames } = await connect(target.nodePort!);
    const challenge = (await frames.next()).value as Frame;
    expect(challenge[0]).toBe(frameKind.challenge);
    // (A reset is a close too: `once` would reject on the 'error' event.)
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    // The old protocol's HELLO, then a request that would zero the stock: both refused, the connection cut.
    socket.write(encodeFrame([frameKind.hello, 'node-1', 1, newNonce(), Buffer.alloc(32)], 1_024));
    socket.write(encodeFrame([frameKind.request, 1, { t: 'inv', sku, cmd: { t: 'setOnHand', onHand: 0 } }], 1_024));
    await closed;
    expect(await onHand()).toBe(7);
    const metrics = await (await fetch(`${target.url}/metrics`)).text();
    expect(metrics).toMatch(/boxoffice_cluster_auth_failures_total [1-9]/);
  });

  it('refuses a malformed message from a peer that knows the secret, and serves a well-formed one', async () => {
    const target = await owner();
    const { socket, frames } = await connect(target.nodePort!);
    const challenge = (await frames.next()).value as Frame;
    const serverNonce = Buffer.from(challenge[1] as Uint8Array);
    const nonce = newNonce();
    socket.write(encodeFrame([frameKind.hello, 'node-tester', protocolVersion, nonce, helloMac(secret, serverNonce, nonce, 'node-tester', target.id)], 1_024));
    expect(((await frames.next()).value as Frame)[0]).toBe(frameKind.welcome);

    socket.write(encodeFrame([frameKind.request, 1, { t: 'inv', sku, cmd: { t: 'setOnHand', onHand: -5 } }], 1_024));
    expect((await frames.next()).value).toEqual([frameKind.error, 1, 'MALFORMED_MESSAGE', expect.stringContaining('malformed inv message')]);
    socket.write(encodeFrame([frameKind.request, 2, { t: 'admin', op: { op: 'move', partition: -1, to: 'x y' } }], 1_024));
    expect((await frames.next()).value).toEqual([frameKind.error, 2, 'MALFORMED_MESSAGE', expect.any(String)]);
    socket.write(encodeFrame([frameKind.request, 3, { t: 'no-such-type' }], 1_024));
    expect((await frames.next()).value).toEqual([frameKind.error, 3, 'UNKNOWN_MESSAGE', expect.any(String)]);
    expect(await onHand()).toBe(7);

    socket.write(encodeFrame([frameKind.request, 4, { t: 'checkout.running', key: 'never-seen-key' }], 1_024));
    expect((await frames.next()).value).toEqual([frameKind.reply, 4, expect.objectContaining({})]);
    socket.destroy();
  });
});
