import type { ClusterLink } from '../cluster/cluster-link.js';
import type { Cart } from '../domain/cart.js';
import type { InventoryView } from '../domain/inventory.js';
import type { ErrorCode } from '../errors.js';
import type { InventoryHandle } from './inventory-actor.js';
import type { PromoUses } from './promo-ledger.js';

/**
 * How this node reaches the entities it does not necessarily own — one interface, two implementations (Vendure's
 * strategy pattern): `LocalTopology` (the default: this node alone owns every partition) and `ClusterTopology`
 * (src/cluster/cluster-topology.ts: partitions spread over the nodes of a cluster, reached over its link). Everything
 * that differs between one node and a cluster is behind this interface; the rest of a node never asks which it is.
 */
export interface Topology {
  readonly mode: 'single' | 'cluster';
  /** The other nodes, for the edge to forward requests to; null when this node serves every partition itself. */
  readonly link: ClusterLink | null;
  /** A SKU's inventory, wherever it is served. */
  inventory(sku: string): InventoryHandle;
  /**
   * What this node knows of a SKU's counts without asking anyone: its view when it is served here (undefined: never
   * stocked), a peer's sold-out word for a SKU served elsewhere, or null (unknown here).
   */
  inventoryView(sku: string): InventoryView | undefined | null;
  /** Promotion usage, counted where each promotion is owned. */
  readonly promos: PromoUses;
  readonly carts: {
    /** A cart as its owner last stored it (read from the database when another node owns it). */
    get(cartId: string): Promise<Cart | null>;
    /** After an order: the cart is marked on its owner. */
    markCheckedOut(cartId: string): Promise<void>;
  };
  /**
   * Whether the checkout of `key` is being prepared or its saga runs (or waits to run again), asked of the node that
   * serves the key's partition; null when that cannot be told now (the partition moving, its owner unreachable).
   */
  checkoutRunning(key: string): Promise<boolean | null>;
  /** Products changed here: the nodes that cache them read them again. */
  productsChanged(skus: string[]): Promise<void>;
  /** Writes to `partition` at `epoch` were fenced: another node or process owns it now. */
  fenced(partition: number, epoch: number): void;
  /** Whether this node runs the node-wide chores (pending sweeps, cart cleanup): alone always, else the coordinator. */
  runsChores(): boolean;
  /** `GET /api/admin/cluster`. */
  status(): Promise<NodeStatus>;
  /** `GET /api/admin/partitions`: PostgreSQL's ownership rows (of one node when `node` is set). */
  partitions(node: string | null): Promise<{ partitions: PartitionRow[] }>;
  /** Runs an operator's operation on the coordinator; rejects with AdminError. */
  admin(op: AdminOp): Promise<unknown>;
  /** Takes this node's partitions: all of them alone, its share in a cluster (joining it). Recovery happens here. */
  start(): Promise<void>;
  close(): Promise<void>;
}

export interface NodeStatus {
  nodeId: string;
  mode: 'single' | 'cluster';
  partitions: number;
  coordinator: string | null;
  routesVersion: number;
  unowned: number;
  members: { nodeId: string; host: string; port: number; startedAt: number; partitions: number; drained: boolean; isolated: number[] }[];
}

export interface PartitionRow {
  partition: number;
  nodeId: string;
  epoch: number;
  pinned: boolean;
  isolated: boolean;
}

/** An operator's cluster operation (the admin routes and the `boxoffice` CLI). */
export type AdminOp =
  | { op: 'move'; partition: number; to: string }
  | { op: 'drain'; node: string }
  | { op: 'undrain'; node: string }
  | { op: 'rebalance' }
  | { op: 'isolate'; sku: string };

export class AdminError extends Error {
  constructor(
    readonly code: Extract<ErrorCode, 'PARTITION_NOT_FOUND' | 'NODE_NOT_FOUND' | 'COORDINATOR_UNAVAILABLE' | 'MOVE_FAILED' | 'CLUSTER_DISABLED'>,
    readonly details?: Record<string, unknown>,
  ) {
    super(code);
    this.name = 'AdminError';
  }
}
