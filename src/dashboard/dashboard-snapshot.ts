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
 *
 * Single flight: a build counts as running until every read it started has settled, not only until its parts gave
 * up waiting (a read abandoned after readTimeoutMs still holds a pool connection until the pool's own timeout). While
 * one runs no other starts; the last finished snapshot is served instead, marked `stale`. So a hung database sees at
 * most one set of dashboard reads per node, however long it hangs and however many pages ask.
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
  /** Dashboard streams open on this node now. */
  streams(): number;
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
  /** When this snapshot was built. */
  at: string;
  /** Older than snapshotCacheMs: the next build waits for reads of the previous one that have not settled yet. */
  stale: boolean;
  cluster: Part<ClusterPanel>;
  rates: { intervalMs: number; samples: RateSample[] };
  metrics: MetricPanels;
  pendingOrders: Part<{ orderId: string; ageS: number; total: number; currency: string }[]>;
  /** This node's active holds that expire soonest: seconds left (negative: the expiry timer is due). */
  expiringHolds: { sku: string; holdId: string; qty: number; expiresInS: number }[];
  drops: Part<DropRow[]>;
  /** Dashboard streams open on this node when the snapshot was built (at most dashboardLimits.streamsMax). */
  streams: number;
}

export class DashboardSnapshots {
  /** The last finished snapshot and when its build started. */
  private last: { atMs: number; snapshot: DashboardSnapshot } | null = null;
  /** The running build: its snapshot (once its parts answered or gave up), and whether all its reads settled. */
  private running: { snapshot: Promise<DashboardSnapshot>; settled: boolean } | null = null;

  constructor(private readonly s: DashboardSources) {}

  /** The snapshot of the last snapshotCacheMs, or a new one; while a build runs, the last one marked stale. */
  get(): Promise<DashboardSnapshot> {
    const now = this.s.nowMs();
    const last = this.last;
    if (last !== null && now - last.atMs < dashboardLimits.snapshotCacheMs) return Promise.resolve(last.snapshot);
    if (this.running !== null && !this.running.settled) return last === null ? this.running.snapshot : Promise.resolve({ ...last.snapshot, stale: true });
    const reads: Promise<unknown>[] = [];
    const run = { snapshot: this.build(now, reads), settled: false };
    this.running = run;
    run.snapshot.then(
      (snapshot) => {
        if (this.last === null || this.last.atMs <= now) this.last = { atMs: now, snapshot };
      },
      () => undefined,
    );
    // The build is over once every read it started has settled, whatever its parts already answered.
    void Promise.allSettled([run.snapshot, ...reads]).then(() => {
      run.settled = true;
      if (this.running === run) this.running = null;
    });
    return run.snapshot;
  }

  /** Pushes each database or cluster read it starts onto `reads`. */
  private async build(nowMs: number, reads: Promise<unknown>[]): Promise<DashboardSnapshot> {
    const rows = dashboardLimits.panelRowsMax;
    const read = <T>(p: Promise<T>): Promise<T> => (reads.push(p), p);
    const [cluster, metrics, pendingOrders, drops] = await Promise.all([
      part(clusterPanel(this.s.cluster, read)),
      readMetricPanels(this.s.registry, rows),
      part(read(this.s.pendingOrders(rows)).then((orders) => orders.map((o) => ({ orderId: o.orderId, ageS: Math.max(0, (nowMs - o.createdAt.getTime()) / 1000), total: o.total, currency: o.currency })))),
      part(read(this.s.drops(rows)).then((drops) => drops.map(({ sku, state, queued, admitted, sold, remaining }) => ({ sku, state, queued, admitted, sold, remaining })))),
    ]);
    const expiringHolds = this.s.expiringHolds(rows).map((h) => ({ sku: h.sku, holdId: h.holdId, qty: h.qty, expiresInS: (h.expiresAtMs - nowMs) / 1000 }));
    const rates = { intervalMs: dashboardLimits.snapshotIntervalMs, samples: this.s.rates.samples() };
    return { at: new Date(nowMs).toISOString(), stale: false, cluster, rates, metrics, pendingOrders, expiringHolds, drops, streams: this.s.streams() };
  }
}

/** The members (alive) and every other partition owner (not alive: its partitions wait for failover), with the partitions. */
export async function clusterPanel(cluster: DashboardSources['cluster'], read: <T>(p: Promise<T>) => Promise<T> = (p) => p): Promise<ClusterPanel> {
  const [status, list] = (await Promise.all([read(cluster.status()), read(cluster.partitions(null))])) as [NodeStatus, { partitions: PartitionRow[] }];
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
