import type { ZodType } from 'zod';
import type { Clock } from '../clock.js';
import type { Route } from './routing-table.js';

/** A message between nodes: `t` names its type, and the receiving node dispatches on it. */
export interface PeerMessage {
  t: string;
}

/** Runs a peer's message on this node; `from` is the sending node's id. What it resolves with is the reply. */
export type PeerHandler<M extends PeerMessage> = (msg: M, from: string) => Promise<unknown>;

/**
 * What the rest of a node needs of the cluster, and no more (the edge forwards requests over it; the owner proxies
 * send inventory, cart and promotion commands over it): which partitions this node serves, where the others are
 * served, waiting for a partition in motion or a newer route, and a request/reply channel to the other nodes whose
 * messages each receiver dispatches by type. Nothing here knows HTTP.
 */
export interface ClusterLink {
  readonly nodeId: string;
  /** The partition count every node uses (recorded in the database). */
  readonly partitions: number;
  readonly clock: Clock;
  /** The partition of an entity name (src/domain/entities.ts). */
  partitionOf(entity: string): number;
  /** Served here now; with `checkouts`, also taking new checkouts (a partition draining for a release is not). */
  serves(partition: number, checkouts?: boolean): boolean;
  /** Resolves when the partition's acquire or release here ends; undefined when it is not in motion. */
  motion(partition: number, checkouts?: boolean): Promise<void> | undefined;
  /** The owner the routing table names, or null when no route is known. */
  ownerOf(partition: number): Route | null;
  /**
   * Resolves true as soon as the route of `partition` names an epoch above `epoch`, or the partition arrives here;
   * false at `deadlineMs` (clock time), when the link closes, or when too many requests already wait.
   */
  routeChange(partition: number, epoch: number, deadlineMs: number): Promise<boolean>;
  /** Sends a message to `node` and resolves with its reply; rejects with TransportError. */
  request(node: string, message: PeerMessage, timeoutMs: number): Promise<unknown>;
  /** The peers this node can send to now. */
  peerIds(): string[];
  /**
   * Handles messages of type `type` from the other nodes (one handler per type). Each message is checked against
   * `schema` first: one that does not match runs nothing and is answered MALFORMED_MESSAGE.
   */
  onPeerMessage<M extends PeerMessage>(type: M['t'], schema: ZodType, handler: PeerHandler<M>): void;
}
