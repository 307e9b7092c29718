import type { InventoryHandle } from '../../src/actors/inventory-actor.js';
import type { InventoryCommand, InventoryReply } from '../../src/domain/inventory.js';
import { fail } from '../../src/errors.js';
import type { SimFaults } from './sim-faults.js';
import type { SimNode } from './sim-node.js';

/**
 * The node-to-node path of inventory commands, at the seam the saga uses (`SagaDeps.inventory`, which the cluster
 * fills with OwnerProxies over the TCP transport). A command to a SKU served on another node is delivered after a
 * random number of event-loop turns (so commands and replies reorder), may be delivered twice (a duplicate frame),
 * and its reply may be lost (the caller sees a lost connection: outcome unknown). A node that crashes loses the
 * connection: every command waiting for its reply fails at once. Frames, schemas and the handshake of the real
 * transport are not simulated (their own tests cover them).
 */
export class SimNetwork {
  private readonly waiting = new Map<SimNode, Set<(err: Error) => void>>();

  constructor(
    private readonly nodes: () => readonly SimNode[],
    private readonly faults: SimFaults,
  ) {}

  inventory(from: SimNode, sku: string): InventoryHandle {
    return { ask: (cmd) => from.live(() => this.ask(from, sku, cmd)) };
  }

  /** `node` crashed: its connections drop, and every caller waiting for its reply hears so. */
  crashed(node: SimNode): void {
    const waiting = this.waiting.get(node);
    this.waiting.delete(node);
    for (const lost of waiting ?? []) lost(new Error('simulated: connection lost (the peer crashed)'));
  }

  private owner(sku: string): SimNode | undefined {
    return this.nodes().find((n) => n.ownsSku(sku));
  }

  private ask(from: SimNode, sku: string, cmd: InventoryCommand): Promise<InventoryReply> {
    const owner = this.owner(sku);
    if (owner === undefined) return Promise.resolve(fail('NOT_READY', { reason: 'simulated: no node serves the partition now' }));
    if (owner === from) return owner.inventory.get(sku).ask(cmd);
    return this.remote(from, owner, sku, cmd);
  }

  private remote(from: SimNode, to: SimNode, sku: string, cmd: InventoryCommand): Promise<InventoryReply> {
    return new Promise<InventoryReply>((resolve, reject) => {
      let settled = false;
      const waiting = this.waiting.get(to) ?? new Set<(err: Error) => void>();
      this.waiting.set(to, waiting);
      const settle = (fn: () => void) => {
        if (settled) return;
        settled = true;
        waiting.delete(lost);
        if (from.alive) fn();
      };
      const lost = (err: Error) => settle(() => reject(err));
      waiting.add(lost);
      void this.deliver(to, sku, cmd).then((reply) => {
        // A reply after the connection dropped (the peer crashed) goes nowhere.
        if (settled || !to.alive) return;
        if (this.faults.chance(this.faults.rates.network, 'replyLost')) return lost(new Error('simulated: connection lost, the reply never came'));
        return this.delay().then(() => settle(() => resolve(reply)));
      });
      if (this.faults.chance(this.faults.rates.network, 'messageDuplicated')) void this.deliver(to, sku, cmd);
    });
  }

  /** Runs the command on `to` after the network's delay; a partition that left `to` meanwhile answers NOT_READY. */
  private async deliver(to: SimNode, sku: string, cmd: InventoryCommand): Promise<InventoryReply> {
    await this.delay();
    if (!to.ownsSku(sku)) return fail('NOT_READY', { reason: 'simulated: the partition moved' });
    return to.inventory.get(sku).ask(cmd);
  }

  private async delay(): Promise<void> {
    const turns = this.faults.chance(this.faults.rates.network * 4, 'messageDelayed') ? 2 + Math.floor(this.faults.rng() * 6) : Math.floor(this.faults.rng() * 2);
    for (let i = 0; i < turns; i++) await new Promise<void>((r) => setImmediate(r));
  }
}
