import { describe, expect, it } from 'vitest';
import { SimulatedClock } from '../../../src/clock.js';
import type { ClusterLink, PeerHandler, PeerMessage } from '../../../src/cluster/cluster-link.js';
import { SoldOutGossip } from '../../../src/cluster/sold-out-gossip.js';
import { clusterLimits } from '../../../src/config/limits.js';

/** A link that records what the gossip sends and hands the test the handler peers' messages reach. */
function fakeLink(peers: string[]) {
  const clock = new SimulatedClock();
  const sent: { peer: string; msg: PeerMessage }[] = [];
  const handlers = new Map<string, PeerHandler<PeerMessage>>();
  const link = {
    nodeId: 'node-1', partitions: 16, clock,
    partitionOf: () => 0, serves: () => false, motion: () => undefined, ownerOf: () => null, routeChange: async () => false,
    request: async (peer: string, msg: PeerMessage) => void sent.push({ peer, msg }),
    peerIds: () => peers,
    onPeerMessage: (type: string, _schema: unknown, handler: PeerHandler<PeerMessage>) => void handlers.set(type, handler),
  } as unknown as ClusterLink;
  return { link, clock, sent, hear: (from: string, skus: string[]) => handlers.get('soldout')!({ t: 'soldout', skus } as PeerMessage, from) };
}

const settle = async () => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

describe('the sold-out gossip', () => {
  it('answers sold out for a SKU a peer listed, until the mark is stale or the peer stops listing it', async () => {
    const { link, clock, hear } = fakeLink([]);
    const gossip = new SoldOutGossip(link, () => []);
    await hear('node-2', ['A', 'B']);
    expect(gossip.viewOf('A')).toMatchObject({ sku: 'A', available: 0, pendingWrites: 0 });
    await hear('node-2', ['B']);
    expect(gossip.viewOf('A')).toBeNull();
    expect(gossip.viewOf('B')).not.toBeNull();
    clock.advance(clusterLimits.soldOutMarkTtlMs + 1);
    expect(gossip.viewOf('B')).toBeNull();
  });

  it('keeps at most its bound of marks, dropping the longest unheard', async () => {
    const { link, hear } = fakeLink([]);
    const gossip = new SoldOutGossip(link, () => []);
    await hear('node-2', ['OLD']);
    await hear('node-3', Array.from({ length: clusterLimits.soldOutMarksMax }, (_, i) => `S${i}`));
    expect(gossip.viewOf('OLD')).toBeNull();
    expect(gossip.viewOf('S0')).not.toBeNull();
  });

  it('tells every peer its complete list on each tick of the clock, and stays quiet while the list stays empty', async () => {
    let soldOut: string[] = [];
    const { link, clock, sent } = fakeLink(['node-2', 'node-3']);
    const gossip = new SoldOutGossip(link, () => soldOut);
    gossip.start();
    clock.advance(clusterLimits.soldOutGossipMs);
    await settle();
    expect(sent).toEqual([]);
    soldOut = ['A'];
    clock.advance(clusterLimits.soldOutGossipMs);
    await settle();
    expect(sent).toEqual([{ peer: 'node-2', msg: { t: 'soldout', skus: ['A'] } }, { peer: 'node-3', msg: { t: 'soldout', skus: ['A'] } }]);
    // An empty list is sent once, so peers drop their marks at once; then nothing until something sells out.
    soldOut = [];
    clock.advance(clusterLimits.soldOutGossipMs);
    await settle();
    clock.advance(clusterLimits.soldOutGossipMs);
    await settle();
    expect(sent.slice(2)).toEqual([{ peer: 'node-2', msg: { t: 'soldout', skus: [] } }, { peer: 'node-3', msg: { t: 'soldout', skus: [] } }]);
    gossip.stop();
    soldOut = ['B'];
    clock.advance(clusterLimits.soldOutGossipMs * 3);
    await settle();
    expect(sent).toHaveLength(4);
  });
});
