import type { ClusterLink } from '../cluster/cluster-link.js';
import { settledWithin } from '../cluster/deadline.js';
import { remoteTransportCodes, TransportError } from '../cluster/transport-error.js';
import { clusterLimits } from '../config/limits.js';
import { isCheckoutEntity } from '../domain/entities.js';

/** Where a request about one entity went, when it did not run here at once. */
export type Placed<R> =
  /** A move brought the partition here while the request waited: serve it here. */
  | { t: 'here' }
  /** The owner ran it; its reply. */
  | { t: 'owner'; reply: R }
  /** No owner could take it in time: the client retries (503 PARTITION_UNAVAILABLE for HTTP). */
  | { t: 'unavailable'; partition: number; reason: string; owner?: string }
  /** The owner is at its bound of requests in flight and did not run it: the client backs off (429 OVERLOADED). */
  | { t: 'overloaded'; partition: number; owner: string };

export interface PlaceOptions<R> {
  /** Hops the request has taken already (a node forwards at most `clusterLimits.forwardHopsMax` times). */
  hops: number;
  /** Sends the request to the owner `node`, as its `hops`-th hop; rejects with TransportError. */
  send: (node: string, hops: number) => Promise<R>;
}

/**
 * Placement of a request about `entity`, for every edge protocol (HTTP now, WebSocket later): null when this node
 * serves the entity's partition now (the fast path, decided synchronously), otherwise where it went. A partition in
 * motion or without a known owner makes the request wait (bounded by `clusterLimits.routeWaitMs`) for the move to
 * end or the route to change; a request whose owner may have run it (sent, no answer) is never sent again, since
 * only the client knows whether it is safe to repeat (checkouts are, with the same Idempotency-Key).
 * A new checkout counts a partition draining for a release as in motion; every other request is still served there.
 */
export function place<R>(link: ClusterLink, entity: string, opts: PlaceOptions<R>): Promise<Placed<R>> | null {
  const partition = link.partitionOf(entity);
  const checkouts = isCheckoutEntity(entity);
  if (link.serves(partition, checkouts)) return null;
  return placeAway(link, partition, checkouts, opts);
}

async function placeAway<R>(link: ClusterLink, p: number, checkouts: boolean, opts: PlaceOptions<R>): Promise<Placed<R>> {
  const deadlineMs = link.clock.now() + clusterLimits.routeWaitMs;
  const unavailable = (reason: string, owner?: string): Placed<R> => ({ t: 'unavailable', partition: p, reason, ...(owner !== undefined ? { owner } : {}) });
  for (;;) {
    const moving = link.motion(p, checkouts);
    if (moving !== undefined) {
      if (!(await settledWithin(moving, deadlineMs - link.clock.now(), link.clock))) return unavailable('the partition is still moving');
      continue;
    }
    if (link.serves(p, checkouts)) return { t: 'here' };
    const route = link.ownerOf(p);
    if (route !== null && route.nodeId !== link.nodeId) {
      if (opts.hops >= clusterLimits.forwardHopsMax) return unavailable('the routes disagree; retry');
      try {
        return { t: 'owner', reply: await opts.send(route.nodeId, opts.hops + 1) };
      } catch (err) {
        const delivered = !(err instanceof TransportError && err.outcome === 'not-delivered');
        if (delivered) return unavailable('the owner did not answer in time; the outcome is unknown', route.nodeId);
        // Shed by the owner (or by this node's bound on requests to it): waiting for another route would not help.
        if (isOverload(err)) return { t: 'overloaded', partition: p, owner: route.nodeId };
      }
    }
    if (!(await link.routeChange(p, route?.epoch ?? 0, deadlineMs))) return unavailable('no reachable owner');
  }
}

/** A request refused for load, not run: this node's in-flight bound to the peer, or the peer's per-connection bound. */
function isOverload(err: unknown): boolean {
  return err instanceof TransportError && (err.code === 'IN_FLIGHT_LIMIT' || (err.code === 'REMOTE_ERROR' && err.remoteCode === remoteTransportCodes.overloaded));
}
