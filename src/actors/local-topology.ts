import type { Logger } from 'pino';
import type { Cart } from '../domain/cart.js';
import type { SqlClient } from '../persistence/sql.js';
import type { CartService } from './cart-service.js';
import type { InventoryHandle } from './inventory-actor.js';
import type { InventoryRegistry } from './inventory-registry.js';
import type { PartitionHost } from './partition-host.js';
import type { PromoUses } from './promo-ledger.js';
import { AdminError, type AdminOp, type NodeStatus, type PartitionRow, type Topology } from './topology.js';

export interface LocalTopologyDeps {
  sql: SqlClient;
  nodeId: string;
  nodeHost: string;
  partitions: number;
  startedAtMs: number;
  host: PartitionHost;
  inventory: InventoryRegistry;
  carts: CartService;
  promos: PromoUses;
  log: Logger;
}

/**
 * The default topology: this node alone owns every partition (no REDIS_URL). Every entity is reached here, every
 * chore runs here, and the cluster operations answer 409 CLUSTER_DISABLED.
 */
export class LocalTopology implements Topology {
  readonly mode = 'single';
  readonly link = null;
  readonly promos: PromoUses;
  readonly carts: Topology['carts'];

  constructor(private readonly deps: LocalTopologyDeps) {
    this.promos = deps.promos;
    this.carts = { get: (cartId): Promise<Cart | null> => deps.carts.get(cartId), markCheckedOut: (cartId) => deps.carts.markCheckedOut(cartId) };
  }

  inventory(sku: string): InventoryHandle {
    return this.deps.inventory.get(sku);
  }

  inventoryView(sku: string) {
    return this.deps.inventory.view(sku);
  }

  async checkoutRunning(key: string): Promise<boolean | null> {
    return this.deps.host.checkoutRunning(key) ?? null;
  }

  async productsChanged(): Promise<void> {}

  fenced(partition: number, epoch: number): void {
    this.deps.log.error({ partition, epoch }, 'writes fenced on a single node: another process claimed its partitions');
    this.deps.host.fenced(partition, epoch);
  }

  runsChores(): boolean {
    return true;
  }

  async status(): Promise<NodeStatus> {
    const { nodeId, nodeHost, partitions, startedAtMs, host } = this.deps;
    const served = host.servedPartitions().length;
    return {
      nodeId, mode: 'single', partitions, coordinator: null, routesVersion: 0, unowned: partitions - served,
      members: [{ nodeId, host: nodeHost, port: 0, startedAt: startedAtMs, partitions: served, drained: false, isolated: [] }],
    };
  }

  async partitions(node: string | null): Promise<{ partitions: PartitionRow[] }> {
    const rows = await this.deps.sql.query<{ partition: number; node: string; epoch: number }>('SELECT partition, node, epoch FROM partition_owners ORDER BY partition');
    return { partitions: rows.filter((r) => node === null || r.node === node).map((r) => ({ partition: r.partition, nodeId: r.node, epoch: r.epoch, pinned: false, isolated: false })) };
  }

  admin(_op: AdminOp): Promise<unknown> {
    return Promise.reject(new AdminError('CLUSTER_DISABLED'));
  }

  async start(): Promise<void> {
    await this.deps.host.acquire(Array.from({ length: this.deps.partitions }, (_, p) => p));
  }

  async close(): Promise<void> {}
}
