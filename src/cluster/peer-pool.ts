import { PeerClient, type PeerClientOptions } from './peer-client.js';
import { TransportError } from './transport-error.js';

/**
 * One PeerClient per peer node, keyed by node id. Membership feeds `setPeers` with the live members' advertised
 * addresses; the pool dials new peers, closes the clients of peers that left, and replaces a client whose peer now
 * advertises another address (a restarted node on a new port). A node never dials itself.
 */

export interface PeerAddress {
  host: string;
  port: number;
}

/** Options applied to every client of the pool (the per-peer fields come from setPeers). */
export type PeerPoolClientOptions = Omit<PeerClientOptions, 'selfId' | 'peerId' | 'host' | 'port'>;

export class PeerPool {
  private readonly clients = new Map<string, { client: PeerClient; address: PeerAddress }>();
  /** Clients being closed after their peer left; close() waits for them too. */
  private readonly retiring = new Set<Promise<void>>();
  private closed = false;

  constructor(
    private readonly selfId: string,
    private readonly clientOptions: PeerPoolClientOptions,
  ) {}

  /** Makes the pool match `peers` (node id → address). Clients of removed or re-addressed peers close gracefully. */
  setPeers(peers: ReadonlyMap<string, PeerAddress>): void {
    if (this.closed) return;
    for (const [nodeId, entry] of this.clients) {
      const now = peers.get(nodeId);
      if (now === undefined || now.host !== entry.address.host || now.port !== entry.address.port) this.retire(nodeId);
    }
    for (const [nodeId, address] of peers) {
      if (nodeId === this.selfId || this.clients.has(nodeId)) continue;
      const client = new PeerClient({ ...this.clientOptions, selfId: this.selfId, peerId: nodeId, host: address.host, port: address.port });
      this.clients.set(nodeId, { client, address: { host: address.host, port: address.port } });
      client.connect();
    }
  }

  /** The client of `nodeId`, or undefined when it is not a known peer. */
  get(nodeId: string): PeerClient | undefined {
    return this.clients.get(nodeId)?.client;
  }

  peerIds(): string[] {
    return [...this.clients.keys()].sort();
  }

  /** Sends to `nodeId`; an unknown peer rejects with PEER_UNKNOWN (not delivered). */
  request(nodeId: string, msg: unknown, timeoutMs: number): Promise<unknown> {
    const entry = this.clients.get(nodeId);
    if (entry === undefined) {
      return Promise.reject(new TransportError('PEER_UNKNOWN', 'not-delivered', `no peer ${nodeId} in the pool`));
    }
    return entry.client.request(msg, timeoutMs);
  }

  /** Closes every client (each gracefully, bounded) and refuses new peers. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    for (const nodeId of [...this.clients.keys()]) this.retire(nodeId);
    await Promise.all([...this.retiring]);
  }

  private retire(nodeId: string): void {
    const entry = this.clients.get(nodeId);
    if (entry === undefined) return;
    this.clients.delete(nodeId);
    const closing = entry.client.close().finally(() => this.retiring.delete(closing));
    this.retiring.add(closing);
  }
}
