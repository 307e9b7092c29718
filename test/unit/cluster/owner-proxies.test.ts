import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { ClusterLink } from '../../../src/cluster/cluster-link.js';
import { OwnerProxies } from '../../../src/cluster/owner-proxies.js';
import type { Clock } from '../../../src/clock.js';

/**
 * An owner proxy whose partition has no known route, and whose wait for one is refused at once (the link closing, or
 * clusterLimits.routeWaitersMax requests already waiting: a hot partition moving during a flash sale). Its retry
 * loop once spun on microtasks until its 10 s deadline, blocking the event loop — even the route announcement that
 * would have ended the wait (found by the review of issue 9; it predates the issue).
 */
describe('an owner proxy with no route and no room to wait', () => {
  it('yields to the event loop between attempts instead of spinning until its deadline', async () => {
    // A clock that moves 1 ms per reading, and whose timers fire on the next turn: the loop ends after ~10,000 ms of
    // clock time within a moment of wall time, and a spin would still never let a macrotask run.
    let nowMs = 0;
    const clock: Clock = { now: () => nowMs++, setTimer: (_at, fn) => { const t = setImmediate(fn); return { cancel: () => clearImmediate(t) }; } };
    const link: ClusterLink = {
      nodeId: 'n1', partitions: 8, clock,
      partitionOf: () => 0,
      serves: () => false,
      motion: () => undefined,
      ownerOf: () => null,
      // What RouteWaiters.wait answers past routeWaitersMax, and ClusterRuntime.routeChange once closed.
      routeChange: () => Promise.resolve(false),
      request: () => Promise.reject(new Error('no peers')),
      peerIds: () => [],
      onPeerMessage: () => {},
    };
    const proxies = new OwnerProxies({ link, inventory: {} as never, carts: {} as never, promos: {} as never, catalog: {} as never, log: pino({ level: 'silent' }), checkoutRunning: () => undefined });
    let macrotaskRan = false;
    setImmediate(() => (macrotaskRan = true));
    const outcome = await proxies.inventory('HOT').ask({ t: 'release', holdId: 'h1' as never, reason: 'compensated' }).then(
      () => 'answered',
      (err: Error) => err.message,
    );
    expect(outcome).toMatch(/no reachable owner/);
    // The loop waited on a timer between attempts, so the rest of the node ran meanwhile.
    expect(macrotaskRan).toBe(true);
  });
});
