import type { CheckoutReply } from '../../src/actors/checkout-actor.js';
import { seededIds } from '../../src/actors/id-source.js';
import { SimulatedClock } from '../../src/clock.js';
import type { CheckoutRequest } from '../../src/domain/checkout.js';
import { refused } from '../../src/domain/checkout-result.js';
import { checkoutPartition } from '../../src/domain/entities.js';
import { asSku } from '../../src/domain/ids.js';
import type { Product } from '../../src/domain/product.js';
import { SimulatedPaymentProvider } from '../../src/payments/simulated-provider.js';
import type { PaymentProvider } from '../../src/payments/provider.js';
import { pick, type Rng } from '../support/seeded-random.js';
import { SimDatabase } from './sim-database.js';
import type { SimFaults } from './sim-faults.js';
import { SimNetwork } from './sim-network.js';
import { SimNode, type SimShared } from './sim-node.js';

export interface WorldOptions {
  seed: number;
  nodes: number;
  partitions: number;
  skus: number;
  /** Units of each SKU. */
  stock: number;
  holdTtlMs: number;
  /** Wraps the provider the nodes call (the checker's own test plants a faulty one). */
  wrapPayments?: (p: PaymentProvider) => PaymentProvider;
}

/**
 * A simulated cluster: nodes built from production parts over one simulated database, network, clock and payment
 * provider. It crashes and restarts nodes, fails their partitions over, and moves partitions (a release and an
 * acquire, or a takeover while the old owner still runs, which only fencing stops).
 */
export class SimWorld {
  readonly clock = new SimulatedClock();
  readonly db = new SimDatabase(() => this.clock.now());
  readonly provider: SimulatedPaymentProvider;
  readonly network: SimNetwork;
  readonly nodes: SimNode[] = [];
  readonly products = new Map<string, Product>();
  readonly skus: string[];
  /** Background work (acquires, releases) and the node doing it; a dead node's work never ends and does not count. */
  readonly tasks = new Map<Promise<unknown>, SimNode>();
  /** The first violation seen inside a node's call, thrown by the checker's next step. */
  violation: string | undefined;
  private readonly shared: SimShared;
  private incarnations = 0;

  constructor(
    readonly o: WorldOptions,
    readonly rng: Rng,
    readonly faults: SimFaults,
  ) {
    this.skus = Array.from({ length: o.skus }, (_, i) => `SKU-${i}`);
    for (const sku of this.skus) this.products.set(sku, { sku: asSku(sku), name: sku, priceMinor: 1_000 + 250 * this.skus.indexOf(sku), currency: 'USD', weightGrams: 100, taxCategory: 'standard' });
    this.provider = new SimulatedPaymentProvider({
      now: () => this.clock.now(),
      latencyMs: () => faults.providerLatencyMs(),
      sleep: (ms) => new Promise<void>((r) => this.clock.setTimer(this.clock.now() + ms, r)),
      beforeAuthorize: () => faults.authorize(),
      beforeSettle: () => faults.settle(),
    });
    this.network = new SimNetwork(() => this.nodes, faults);
    this.shared = {
      seed: o.seed, db: this.db, clock: this.clock, faults, ids: seededIds(o.seed), partitions: o.partitions, products: this.products, holdTtlMs: o.holdTtlMs,
      payments: o.wrapPayments ? o.wrapPayments(this.provider) : this.provider,
      inventory: (from, sku) => this.network.inventory(from, sku),
      onFatal: (node) => queueMicrotask(() => this.crash(node)),
      onViolation: (what) => (this.violation ??= what),
    };
  }

  /** Starts every node with its share of the partitions and stocks every SKU. */
  async start(): Promise<void> {
    for (let i = 0; i < this.o.nodes; i++) this.nodes.push(this.spawn(`node-${i + 1}`));
    await Promise.all(this.nodes.map((n, i) => n.host.acquire(this.partitionsList().filter((p) => p % this.o.nodes === i))));
    for (const sku of this.skus) {
      const owner = this.nodes.find((n) => n.ownsSku(sku))!;
      const r = await owner.inventory.get(sku).ask({ t: 'setOnHand', onHand: this.o.stock });
      if (!r.ok) throw new Error(`could not stock ${sku}: ${r.code}`);
    }
  }

  partitionsList(): number[] {
    return Array.from({ length: this.o.partitions }, (_, p) => p);
  }

  live(): SimNode[] {
    return this.nodes.filter((n) => n.alive);
  }

  /**
   * A client's request, as the node serving the key's partition takes it: the answer from memory first, the mailbox
   * otherwise. With two nodes both believing they serve it (a takeover not yet noticed), either may take it. 'lost':
   * the node crashed before answering (the connection reset).
   */
  submit(key: string, fingerprint: string, request: CheckoutRequest): { node: SimNode | null; reply: Promise<CheckoutReply> } {
    const p = checkoutPartition(key, this.o.partitions);
    const serving = this.live().filter((n) => n.host.servesCheckouts(p));
    if (serving.length === 0) return { node: null, reply: Promise.resolve({ result: refused('PARTITION_UNAVAILABLE', { partition: p }), replayed: false }) };
    const node = pick(this.rng, serving);
    const actor = node.host.checkoutActor(p)!;
    const fast = actor.answerFromMemory(key, fingerprint, request);
    return { node, reply: fast ? Promise.resolve(fast) : actor.submit(key, fingerprint, request) };
  }

  crash(node: SimNode): void {
    if (!node.alive) return;
    this.faults.count('crash');
    node.crash();
    this.network.crashed(node);
    this.db.crashed();
  }

  /** A node comes back with the same id: it claims the partitions still recorded as its own. */
  restart(id: string): void {
    const i = this.nodes.findIndex((n) => n.id === id);
    if (i < 0 || this.nodes[i]!.alive) return;
    const node = this.spawn(id);
    this.nodes[i] = node;
    this.background(node, node.host.acquire(this.recordedOwnedBy(id)));
  }

  /** Failover: a live node takes the partitions recorded as a dead node's (or `partitions`, when given). */
  failover(dead: string, to: SimNode, partitions = this.recordedOwnedBy(dead)): void {
    this.background(to, to.host.acquire(partitions));
  }

  /**
   * A move: the owner drains and releases `p`, then `to` acquires it. Each half is the background work of the node
   * doing it: if `to` crashes during its acquire, that acquire never ends (a dead process is answered nothing) and,
   * counted as `from`'s work, would keep the run busy for ever although no live node is doing anything.
   */
  move(p: number, from: SimNode, to: SimNode): void {
    this.faults.count('partitionMove');
    this.background(
      from,
      from.host.release([p], 2_000).then((released) => {
        if (released.length > 0 && to.alive) this.background(to, to.host.acquire(released));
      }),
    );
  }

  /** A takeover while the owner still runs (it was paused or cut off): only epoch fencing stops its writes. */
  takeover(p: number, from: SimNode, to: SimNode): void {
    this.faults.count('partitionMove');
    const oldEpoch = from.host.epochOf(p);
    this.background(
      to,
      to.host.acquire([p]).then(async () => {
        // The new route reaches the old owner a little later (Redis pub/sub): then it drops the partition, if no
        // fenced write made it drop it already.
        await this.faults.latency();
        if (from.host.epochOf(p) === oldEpoch) from.host.drop([p], 'a newer owner was announced');
      }),
    );
  }

  /** Whether background work of a live node is still running. */
  busy(): boolean {
    return [...this.tasks.values()].some((n) => n.alive);
  }

  /** Partitions no live node serves or is acquiring: the drain gives them to a live node. */
  orphanPartitions(): number[] {
    return this.partitionsList().filter((p) => !this.live().some((n) => n.host.epochOf(p) !== undefined || n.host.motion(p) !== undefined));
  }

  private recordedOwnedBy(id: string): number[] {
    return [...this.db.owners].filter(([, o]) => o.node === id).map(([p]) => p);
  }

  private spawn(id: string): SimNode {
    return new SimNode(id, ++this.incarnations, this.shared);
  }

  private background(node: SimNode, p: Promise<unknown>): void {
    // A move that fails (checkouts still running at its deadline, a node that crashed meanwhile) leaves the partition
    // where it was; the simulation only cares that no invariant breaks.
    const t: Promise<unknown> = p.catch(() => undefined).finally(() => this.tasks.delete(t));
    this.tasks.set(t, node);
  }
}
