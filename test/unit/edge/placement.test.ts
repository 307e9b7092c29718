import { describe, expect, it } from 'vitest';
import { SimulatedClock } from '../../../src/clock.js';
import type { ClusterLink, PeerHandler, PeerMessage } from '../../../src/cluster/cluster-link.js';
import { RouteWaiters } from '../../../src/cluster/route-waiters.js';
import type { Route } from '../../../src/cluster/routing-table.js';
import { TransportError } from '../../../src/cluster/transport-error.js';
import { clusterLimits } from '../../../src/config/limits.js';
import { place, type Placed } from '../../../src/edge/placement.js';

/**
 * Placement against a link whose state the test sets (which partitions are served here, which are moving, what the
 * routes say) and whose clock it moves: where a request goes, how long it waits, and that a request an owner may
 * have run is never sent twice.
 */
class FakeLink implements ClusterLink {
  readonly nodeId = 'node-1';
  readonly partitions = 16;
  readonly clock = new SimulatedClock();
  readonly served = new Set<number>();
  readonly moving = new Map<number, Promise<void>>();
  readonly routes = new Map<number, Route>();
  readonly waiters = new RouteWaiters(this.clock);
  partitionOf(entity: string): number {
    return Number(entity.split(':')[1]);
  }
  serves(p: number): boolean {
    return this.served.has(p) && !this.moving.has(p);
  }
  motion(p: number): Promise<void> | undefined {
    return this.moving.get(p);
  }
  ownerOf(p: number): Route | null {
    return this.routes.get(p) ?? null;
  }
  routeChange(p: number, epoch: number, deadlineMs: number): Promise<boolean> {
    const r = this.routes.get(p);
    if ((r && r.epoch > epoch) || this.served.has(p)) return Promise.resolve(true);
    return this.waiters.wait(p, epoch, deadlineMs);
  }
  /** A new route for `p`, as the routing table announces it. */
  announce(route: Route): void {
    this.routes.set(route.partition, route);
    this.waiters.announce(route.partition, route.epoch);
  }
  request(): Promise<unknown> {
    throw new Error('placement sends through its `send` option');
  }
  peerIds(): string[] {
    return [];
  }
  onPeerMessage<M extends PeerMessage>(_type: M['t'], _schema: unknown, _handler: PeerHandler<M>): void {}
}

/** Lets promise callbacks run (placement awaits between its steps). */
const settle = async () => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};

describe('placement of a request on its entity owner', () => {
  it('serves here at once, without a promise, when this node serves the partition', () => {
    const link = new FakeLink();
    link.served.add(3);
    expect(place(link, 'x:3', { hops: 0, send: async () => 'never' })).toBeNull();
  });

  it('forwards to the owner the route names, one hop more, and relays its answer', async () => {
    const link = new FakeLink();
    link.routes.set(4, { partition: 4, nodeId: 'node-2', epoch: 3 });
    const sent: [string, number][] = [];
    const placed = await place(link, 'x:4', { hops: 0, send: async (node, hops) => (sent.push([node, hops]), 'from node-2') });
    expect(placed).toEqual({ t: 'owner', reply: 'from node-2' });
    expect(sent).toEqual([['node-2', 1]]);
  });

  it('refuses a request that has taken its hops already (the routes disagree)', async () => {
    const link = new FakeLink();
    link.routes.set(4, { partition: 4, nodeId: 'node-2', epoch: 3 });
    const placed = await place(link, 'x:4', { hops: clusterLimits.forwardHopsMax, send: async () => 'never' });
    expect(placed).toMatchObject({ t: 'unavailable', partition: 4, reason: 'the routes disagree; retry' });
  });

  it('waits for a move and serves here when the partition arrives', async () => {
    const link = new FakeLink();
    let arrive!: () => void;
    link.moving.set(5, new Promise<void>((r) => (arrive = r)));
    link.served.add(5);
    let placed: Placed<string> | null = null;
    void place(link, 'co:5', { hops: 0, send: async () => 'never' })!.then((p) => (placed = p));
    await settle();
    expect(placed).toBeNull();
    link.moving.delete(5);
    arrive();
    await settle();
    expect(placed).toEqual({ t: 'here' });
  });

  it('answers unavailable once a move outlasts the wait, measured on the clock', async () => {
    const link = new FakeLink();
    link.moving.set(6, new Promise<void>(() => undefined));
    let placed: Placed<string> | null = null;
    void place(link, 'x:6', { hops: 0, send: async () => 'never' })!.then((p) => (placed = p));
    link.clock.advance(clusterLimits.routeWaitMs - 1);
    await settle();
    expect(placed).toBeNull();
    link.clock.advance(1);
    await settle();
    expect(placed).toMatchObject({ t: 'unavailable', partition: 6, reason: 'the partition is still moving' });
  });

  it('tries the new owner when the old one never got the request', async () => {
    const link = new FakeLink();
    link.routes.set(7, { partition: 7, nodeId: 'node-2', epoch: 1 });
    const sent: string[] = [];
    const send = async (node: string) => {
      sent.push(node);
      if (node === 'node-2') throw new TransportError('PEER_UNAVAILABLE', 'not-delivered', 'node-2 is gone');
      return `from ${node}`;
    };
    const placing = place(link, 'x:7', { hops: 0, send })!;
    await settle();
    link.announce({ partition: 7, nodeId: 'node-3', epoch: 2 });
    expect(await placing).toEqual({ t: 'owner', reply: 'from node-3' });
    expect(sent).toEqual(['node-2', 'node-3']);
  });

  it('never sends again a request the owner may have run, and names that owner', async () => {
    const link = new FakeLink();
    link.routes.set(8, { partition: 8, nodeId: 'node-2', epoch: 1 });
    let sends = 0;
    const placed = await place(link, 'x:8', { hops: 0, send: async () => {
      sends++;
      throw new TransportError('TIMEOUT', 'unknown', 'no answer');
    } });
    expect(placed).toEqual({ t: 'unavailable', partition: 8, reason: 'the owner did not answer in time; the outcome is unknown', owner: 'node-2' });
    expect(sends).toBe(1);
  });

  it.each([
    ['this node is at its bound of requests to the owner', new TransportError('IN_FLIGHT_LIMIT', 'not-delivered', 'limit')],
    ['the owner sheds the request', TransportError.remote('OVERLOADED', 'too many requests on this connection')],
  ])('answers overloaded at once, without waiting for another route, when %s', async (_label, refusal) => {
    const link = new FakeLink();
    link.routes.set(10, { partition: 10, nodeId: 'node-2', epoch: 1 });
    let sends = 0;
    const placed = await place(link, 'x:10', { hops: 0, send: async () => {
      sends++;
      throw refusal;
    } });
    expect(placed).toEqual({ t: 'overloaded', partition: 10, owner: 'node-2' });
    expect(sends).toBe(1);
  });

  it('waits for a route when none is known, and gives up at the deadline', async () => {
    const link = new FakeLink();
    let placed: Placed<string> | null = null;
    void place(link, 'x:9', { hops: 0, send: async () => 'never' })!.then((p) => (placed = p));
    await settle();
    link.clock.advance(clusterLimits.routeWaitMs);
    await settle();
    expect(placed).toMatchObject({ t: 'unavailable', partition: 9, reason: 'no reachable owner' });
  });
});

describe('the route waiters', () => {
  it('wake on a newer epoch only, time out on the clock, and are bounded', async () => {
    const clock = new SimulatedClock();
    const waiters = new RouteWaiters(clock);
    const results: boolean[] = [];
    void waiters.wait(1, 5, clock.now() + 100).then((r) => results.push(r));
    waiters.announce(1, 5);
    await settle();
    expect(results).toEqual([]);
    waiters.announce(1, 6);
    await settle();
    expect(results).toEqual([true]);
    void waiters.wait(1, 6, clock.now() + 100).then((r) => results.push(r));
    clock.advance(100);
    await settle();
    expect(results).toEqual([true, false]);
    expect(await waiters.wait(1, 6, clock.now())).toBe(false);
    const full = Array.from({ length: clusterLimits.routeWaitersMax }, (_, i) => waiters.wait(100 + i, 0, clock.now() + 1_000));
    expect(await waiters.wait(2, 0, clock.now() + 1_000)).toBe(false);
    waiters.close();
    expect(new Set(await Promise.all(full))).toEqual(new Set([false]));
    expect(await waiters.wait(2, 0, clock.now() + 1_000)).toBe(false);
  });
});
