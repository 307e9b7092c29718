import client from 'prom-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CheckoutRates } from '../../../src/dashboard/checkout-rates.js';
import { clusterPanel, DashboardSnapshots, type DashboardSnapshot, type DashboardSources } from '../../../src/dashboard/dashboard-snapshot.js';
import { dashboardLimits } from '../../../src/config/limits.js';

const member = (nodeId: string, partitions: number, drained = false) => ({ nodeId, host: '10.0.0.1', port: 3000, startedAt: 1, partitions, drained, isolated: [] });
const row = (partition: number, nodeId: string) => ({ partition, nodeId, epoch: 2, pinned: false, isolated: false });

function sources(over: Partial<DashboardSources> = {}): DashboardSources & { reads: number; now: number } {
  const s: DashboardSources & { reads: number; now: number } = {
    reads: 0,
    now: 1_000_000,
    registry: new client.Registry(),
    rates: new CheckoutRates(new client.Registry(), { now: () => 0, setTimer: () => ({ cancel: () => undefined }) }),
    nowMs: (): number => s.now,
    cluster: {
      status: async () => ({ nodeId: 'a', mode: 'cluster', partitions: 4, coordinator: 'a', routesVersion: 1, unowned: 0, members: [member('a', 2), member('b', 1, true)] }),
      partitions: async () => ({ partitions: [row(0, 'a'), row(1, 'a'), row(2, 'b'), row(3, 'gone')] }),
    },
    pendingOrders: async (limit: number): Promise<{ orderId: string; createdAt: Date; total: number; currency: string }[]> => {
      s.reads++;
      expect(limit).toBe(dashboardLimits.panelRowsMax);
      return [{ orderId: 'ord_1', createdAt: new Date(s.now - 30_000), total: 2_500, currency: 'USD' }];
    },
    expiringHolds: () => [{ sku: 'HOT', holdId: 'h1', qty: 2, expiresAtMs: s.now + 4_500 }],
    drops: async () => [],
    streams: () => 3,
    ...over,
  };
  return s;
}

describe('the dashboard snapshot', () => {
  it('shows members alive, an owner that left the member list as not alive, and each partition with its owner', async () => {
    const s = sources();
    const panel = await clusterPanel(s.cluster);
    expect(panel.nodes.map((n) => [n.nodeId, n.alive, n.draining, n.partitions])).toEqual([['a', true, false, 2], ['b', true, true, 1], ['gone', false, false, 1]]);
    expect(panel.partitions.map((p) => p.nodeId)).toEqual(['a', 'a', 'b', 'gone']);
    expect(panel.coordinator).toBe('a');
  });

  it('is built at most once per snapshotCacheMs, however many ask', async () => {
    const s = sources();
    const snapshots = new DashboardSnapshots(s);
    const first = await snapshots.get();
    await Promise.all([snapshots.get(), snapshots.get()]);
    expect(s.reads).toBe(1);
    expect(first.pendingOrders).toEqual([{ orderId: 'ord_1', ageS: 30, total: 2_500, currency: 'USD' }]);
    expect(first.expiringHolds).toEqual([{ sku: 'HOT', holdId: 'h1', qty: 2, expiresInS: 4.5 }]);
    expect(first.streams).toBe(3);
    s.now += dashboardLimits.snapshotCacheMs;
    await snapshots.get();
    expect(s.reads).toBe(2);
  });

  it('carries the error of a part that fails, and shows the rest', async () => {
    const s = sources({ pendingOrders: async () => Promise.reject(new Error('database away')), cluster: { status: async () => Promise.reject(new Error('redis away')), partitions: async () => ({ partitions: [] }) } });
    const snapshot = await new DashboardSnapshots(s).get();
    expect(snapshot.pendingOrders).toEqual({ error: 'database away' });
    expect(snapshot.cluster).toEqual({ error: 'redis away' });
    expect(snapshot.drops).toEqual([]);
    expect(snapshot.metrics.holds).toEqual({ active: null, pinned: null });
  });
});

describe('the dashboard snapshot against a database that hangs', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('starts no build while the reads of the last one are still running, and serves the last snapshot marked stale', async () => {
    vi.useFakeTimers();
    const started = { pending: 0, status: 0, partitions: 0 };
    const never = new Promise<never>(() => undefined);
    const s = sources({
      pendingOrders: () => (started.pending++, never),
      cluster: { status: () => (started.status++, never), partitions: () => (started.partitions++, never) },
    });
    const snapshots = new DashboardSnapshots(s);
    const served: Promise<DashboardSnapshot>[] = [];
    for (let i = 0; i < 30; i++) {
      served.push(snapshots.get());
      s.now += 1_000;
      await vi.advanceTimersByTimeAsync(1_000);
    }
    expect(started).toEqual({ pending: 1, status: 1, partitions: 1 });
    const all = await Promise.all(served);
    // The first build gave up on its reads after readTimeoutMs and was served, fresh, then stale until they settle.
    expect(all[0]).toMatchObject({ stale: false, pendingOrders: { error: `no answer within ${dashboardLimits.readTimeoutMs} ms` } });
    expect(all.at(-1)).toMatchObject({ stale: true, at: all[0]!.at });
  });

  it('starts the next build once the hung reads settle', async () => {
    let release: () => void = () => undefined;
    const hung = new Promise<never>((_, reject) => (release = () => reject(new Error('query timeout'))));
    let reads = 0;
    const s = sources({ pendingOrders: () => (reads++ === 0 ? hung : Promise.resolve([])) });
    const snapshots = new DashboardSnapshots(s);
    const first = snapshots.get();
    s.now += dashboardLimits.snapshotCacheMs;
    expect(snapshots.get()).toBe(first);
    release();
    expect((await first).pendingOrders).toEqual({ error: 'query timeout' });
    await vi.waitFor(async () => expect(await snapshots.get()).toMatchObject({ stale: false, pendingOrders: [] }));
    expect(reads).toBe(2);
  });
});
