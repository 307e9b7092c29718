import type { Registry } from 'prom-client';
import type { NodeStatus, PartitionRow } from '../actors/topology.js';
import { dashboardLimits } from '../config/limits.js';
import type { CheckoutRates, RateSample } from './checkout-rates.js';
import { readMetricPanels, type MetricPanels } from './metric-panels.js';

/**
 * One snapshot of what the dashboard shows (GET /api/admin/dashboard and every frame of its stream), built at most
 * once per dashboardLimits.snapshotCacheMs whatever the number of pages: the cluster view and the pending orders are
 * reads of PostgreSQL (and Redis), and many open pages must not multiply them. Each part that fails or times out
 * (dashboardLimits.readTimeoutMs) carries its error instead of its rows, and the rest still shows.
 */

export interface DashboardSources {
  registry: Registry;
  rates: CheckoutRates;
  nowMs: () => number;
  cluster: { status(): Promise<unknown>; partitions(node: string | null): Promise<unknown> };
  /** The oldest pending orders (LIMIT `limit`), oldest first. */
  pendingOrders(limit: number): Promise<{ orderId: string; createdAt: Date; total: number; currency: string }[]>;
  /** The active holds of this node that expire soonest (at most `limit`), soonest first. */
  expiringHolds(limit: number): { sku: string; holdId: string; qty: number; expiresAtMs: number }[];
  /** The drops whose rooms this node holds (at most `limit`). */
  drops(limit: number): Promise<DropRow[]>;
}

export interface DropRow {
  sku: string;
  state: string;
  queued: number;
  admitted: number;
  sold: number;
  remaining: number;
}

export type Part<T> = T | { error: string };

export interface ClusterPanel {
  nodeId: string;
  mode: 'single' | 'cluster';
  coordinator: string | null;
  unowned: number;
  nodes: { nodeId: string; host: string; port: number; partitions: number; alive: boolean; draining: boolean; isolated: number[] }[];
  partitions: PartitionRow[];
}

export interface DashboardSnapshot {
  at: string;
  cluster: Part<ClusterPanel>;
  rates: { intervalMs: number; samples: RateSample[] };
  metrics: MetricPanels;
  pendingOrders: Part<{ orderId: string; ageS: number; total: number; currency: string }[]>;
  /** This node's active holds that expire soonest: seconds left (negative: the expiry timer is due). */
  expiringHolds: { sku: string; holdId: string; qty: number; expiresInS: number }[];
  drops: Part<DropRow[]>;
}

export class DashboardSnapshots {
  private cached: { atMs: number; snapshot: Promise<DashboardSnapshot> } | null = null;

  constructor(private readonly s: DashboardSources) {}

  /** The snapshot of the last snapshotCacheMs, or a new one. */
  get(): Promise<DashboardSnapshot> {
    const now = this.s.nowMs();
    if (this.cached !== null && now - this.cached.atMs < dashboardLimits.snapshotCacheMs) return this.cached.snapshot;
    const snapshot = this.build(now);
    this.cached = { atMs: now, snapshot };
    snapshot.catch(() => (this.cached = null));
    return snapshot;
  }

  private async build(nowMs: number): Promise<DashboardSnapshot> {
    const rows = dashboardLimits.panelRowsMax;
    const [cluster, metrics, pendingOrders, drops] = await Promise.all([
      part(clusterPanel(this.s.cluster)),
      readMetricPanels(this.s.registry, rows),
      part(this.s.pendingOrders(rows).then((orders) => orders.map((o) => ({ orderId: o.orderId, ageS: Math.max(0, (nowMs - o.createdAt.getTime()) / 1000), total: o.total, currency: o.currency })))),
      part(this.s.drops(rows).then((drops) => drops.map(({ sku, state, queued, admitted, sold, remaining }) => ({ sku, state, queued, admitted, sold, remaining })))),
    ]);
    const expiringHolds = this.s.expiringHolds(rows).map((h) => ({ sku: h.sku, holdId: h.holdId, qty: h.qty, expiresInS: (h.expiresAtMs - nowMs) / 1000 }));
    const rates = { intervalMs: dashboardLimits.snapshotIntervalMs, samples: this.s.rates.samples() };
    return { at: new Date(nowMs).toISOString(), cluster, rates, metrics, pendingOrders, expiringHolds, drops };
  }
}

/** The members (alive) and every other partition owner (not alive: its partitions wait for failover), with the partitions. */
export async function clusterPanel(cluster: DashboardSources['cluster']): Promise<ClusterPanel> {
  const [status, list] = (await Promise.all([cluster.status(), cluster.partitions(null)])) as [NodeStatus, { partitions: PartitionRow[] }];
  const nodes: ClusterPanel['nodes'] = status.members.map((m) => ({ nodeId: m.nodeId, host: m.host, port: m.port, partitions: m.partitions, alive: true, draining: m.drained, isolated: m.isolated }));
  const members = new Set(nodes.map((n) => n.nodeId));
  const gone = new Map<string, number>();
  for (const p of list.partitions) if (!members.has(p.nodeId)) gone.set(p.nodeId, (gone.get(p.nodeId) ?? 0) + 1);
  for (const [nodeId, partitions] of gone) nodes.push({ nodeId, host: '', port: 0, partitions, alive: false, draining: false, isolated: [] });
  return { nodeId: status.nodeId, mode: status.mode, coordinator: status.coordinator, unowned: status.unowned, nodes, partitions: list.partitions };
}

/** The value, or its error's message once it fails or outlasts readTimeoutMs. */
async function part<T>(p: Promise<T>): Promise<Part<T>> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<{ error: string }>((resolve) => {
    timer = setTimeout(() => resolve({ error: `no answer within ${dashboardLimits.readTimeoutMs} ms` }), dashboardLimits.readTimeoutMs);
    timer.unref();
  });
  try {
    return await Promise.race([p, timeout]);
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  } finally {
    clearTimeout(timer);
  }
}
