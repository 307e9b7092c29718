import type { Logger } from 'pino';
import type { CartService } from '../actors/cart-service.js';
import type { Catalog } from '../actors/catalog.js';
import type { InventoryHandle } from '../actors/inventory-actor.js';
import type { InventoryRegistry } from '../actors/inventory-registry.js';
import type { PartitionHost } from '../actors/partition-host.js';
import type { PromoLedger, PromoUses } from '../actors/promo-ledger.js';
import type { AdminOp, NodeStatus, PartitionRow, Topology } from '../actors/topology.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config/config.js';
import type { Cart } from '../domain/cart.js';
import { cartPartition } from '../domain/entities.js';
import type { InventoryView } from '../domain/inventory.js';
import type { SqlClient } from '../persistence/sql.js';
import { ClusterRuntime } from './cluster-runtime.js';
import { OwnerProxies } from './owner-proxies.js';
import { SoldOutGossip } from './sold-out-gossip.js';

export interface ClusterTopologyDeps {
  config: Config;
  sql: SqlClient;
  partitions: number;
  host: PartitionHost;
  inventory: InventoryRegistry;
  carts: CartService;
  /** Carts owned elsewhere are read from the database: their owner persists every change before answering. */
  cartStore: { get(cartId: string): Promise<object | null> };
  /** The ledger of the promotions whose partition this node owns. */
  promos: PromoLedger;
  catalog: Catalog;
  clock: Clock;
  log: Logger;
  /** Counts a connection the node port refused (handshake failed). */
  countAuthFailure?: () => void;
}

/**
 * The cluster topology (REDIS_URL set): partitions spread over the nodes, each entity reached on the node serving
 * its partition — here, or through the owner proxies over the cluster link; sold-out SKUs of other nodes known from
 * their gossip; the node-wide chores on the coordinator only.
 */
export class ClusterTopology implements Topology {
  readonly mode = 'cluster';
  readonly link: ClusterRuntime;
  readonly promos: PromoUses;
  readonly carts: Topology['carts'];
  private readonly proxies: OwnerProxies;
  private readonly gossip: SoldOutGossip;

  constructor(private readonly deps: ClusterTopologyDeps) {
    const { config, sql, partitions, host, inventory, carts, cartStore, promos, catalog, clock, log } = deps;
    this.link = new ClusterRuntime({ config, sql, partitions, host, clock, log, ...(deps.countAuthFailure ? { countAuthFailure: deps.countAuthFailure } : {}) });
    this.proxies = new OwnerProxies({ link: this.link, inventory, carts, promos, catalog, log, checkoutRunning: (key) => host.checkoutRunning(key) });
    this.gossip = new SoldOutGossip(this.link, (max) => inventory.soldOutActive(max));
    this.promos = this.proxies.promoUses;
    this.carts = {
      get: (cartId) => (host.owns(cartPartition(cartId, partitions)) ? carts.get(cartId) : (cartStore.get(cartId) as Promise<Cart | null>)),
      markCheckedOut: (cartId) => this.proxies.markCartCheckedOut(cartId),
    };
  }

  inventory(sku: string): InventoryHandle {
    return this.proxies.inventory(sku);
  }

  inventoryView(sku: string): InventoryView | undefined | null {
    return this.deps.host.ownsSku(sku) ? this.deps.inventory.view(sku) : this.gossip.viewOf(sku);
  }

  checkoutRunning(key: string): Promise<boolean | null> {
    return this.proxies.checkoutRunning(key);
  }

  productsChanged(skus: string[]): Promise<void> {
    return this.proxies.broadcastProducts(skus);
  }

  fenced(partition: number, epoch: number): void {
    this.deps.host.fenced(partition, epoch);
  }

  runsChores(): boolean {
    return this.link.isCoordinator();
  }

  status(): Promise<NodeStatus> {
    return this.link.status();
  }

  partitions(node: string | null): Promise<{ partitions: PartitionRow[] }> {
    return this.link.partitionList(node);
  }

  admin(op: AdminOp): Promise<unknown> {
    return this.link.admin(op);
  }

  async start(): Promise<void> {
    await this.link.start();
    this.gossip.start();
  }

  async close(): Promise<void> {
    this.gossip.stop();
    await this.link.close();
  }
}
