import { afterEach, describe, expect, it, vi } from 'vitest';
import { DashboardFeed, snapshotFrame } from '../../../src/dashboard/dashboard-feed.js';
import type { DashboardSnapshots } from '../../../src/dashboard/dashboard-snapshot.js';
import type { StreamSink } from '../../../src/http/request.js';
import { dashboardLimits } from '../../../src/config/limits.js';

/** A sink that keeps what it was sent, and whether it was ended. */
function recordingSink(): StreamSink & { chunks: string[]; ended: boolean } {
  const sink = { chunks: [] as string[], ended: false, write: (c: string) => (sink.chunks.push(c), true), end: () => void (sink.ended = true) };
  return sink;
}

function snapshots(): DashboardSnapshots & { built: number } {
  const s = { built: 0, get: async () => ({ n: ++s.built }) };
  return s as unknown as DashboardSnapshots & { built: number };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('the dashboard feed', () => {
  it('sends a comment at once, then a snapshot, then one every interval and a heartbeat', async () => {
    vi.useFakeTimers();
    const feed = new DashboardFeed(snapshots(), { intervalMs: 1_000, heartbeatMs: 3_000 });
    const sink = recordingSink();
    feed.start(sink);
    expect(sink.chunks).toEqual([': boxoffice dashboard\n\n']);
    await vi.advanceTimersByTimeAsync(0);
    expect(sink.chunks[1]).toBe(snapshotFrame({ n: 1 }));
    await vi.advanceTimersByTimeAsync(3_000);
    const events = sink.chunks.slice(2).map((c) => c.split('\n')[0]);
    expect(events).toEqual(['event: snapshot', 'event: snapshot', 'event: snapshot', 'event: heartbeat']);
    feed.close();
  });

  it('admits streamsMax streams, and forgets a stream its client left', () => {
    const feed = new DashboardFeed(snapshots(), { streamsMax: 2 });
    const stops = [feed.start(recordingSink()), feed.start(recordingSink())];
    expect(feed.open()).toBe(2);
    expect(feed.full()).toBe(true);
    stops[0]!();
    expect(feed.open()).toBe(1);
    expect(feed.full()).toBe(false);
    feed.close();
  });

  it('ends every stream when closed, and any stream started after', () => {
    const feed = new DashboardFeed(snapshots());
    const sinks = [recordingSink(), recordingSink()];
    for (const s of sinks) feed.start(s);
    feed.close();
    expect(sinks.map((s) => s.ended)).toEqual([true, true]);
    expect(feed.open()).toBe(0);
    expect(feed.full()).toBe(true);
    const late = recordingSink();
    feed.start(late);
    expect(late).toMatchObject({ ended: true, chunks: [] });
  });

  it('builds one snapshot a tick for all its streams', async () => {
    vi.useFakeTimers();
    const source = snapshots();
    const feed = new DashboardFeed(source, { intervalMs: 1_000, heartbeatMs: 60_000 });
    const sinks = [recordingSink(), recordingSink(), recordingSink()];
    for (const s of sinks) feed.start(s);
    await vi.advanceTimersByTimeAsync(0);
    const builtAtStart = source.built;
    await vi.advanceTimersByTimeAsync(1_000);
    expect(source.built).toBe(builtAtStart + 1);
    expect(new Set(sinks.map((s) => s.chunks.at(-1))).size).toBe(1);
    feed.close();
  });

  it('keeps sending heartbeats, stamped by its clock, while the snapshot build hangs', async () => {
    vi.useFakeTimers();
    const hung = { get: () => new Promise<never>(() => undefined) } as unknown as DashboardSnapshots;
    const feed = new DashboardFeed(hung, { nowMs: () => 1_234 });
    const sink = recordingSink();
    feed.start(sink);
    // Under uWS's HTTP idle timeout (about 10 s) the connection must carry something even with no snapshot.
    await vi.advanceTimersByTimeAsync(10_000);
    const heartbeats = sink.chunks.filter((c) => c.startsWith('event: heartbeat'));
    expect(heartbeats.length).toBeGreaterThanOrEqual(2);
    expect(heartbeats[0]).toBe(`event: heartbeat\ndata: ${JSON.stringify({ at: new Date(1_234).toISOString() })}\n\n`);
    expect(sink.chunks.some((c) => c.startsWith('event: snapshot'))).toBe(false);
    expect(dashboardLimits.heartbeatMs).toBeLessThanOrEqual(5_000);
    feed.close();
  });

  it('forgets a stream whose first write throws, and one whose later write throws', async () => {
    vi.useFakeTimers();
    const feed = new DashboardFeed(snapshots(), { intervalMs: 1_000 });
    const broken = { write: () => { throw new Error('response already closed'); }, end: () => undefined };
    expect(() => feed.start(broken)).toThrow('response already closed');
    expect(feed.open()).toBe(0);
    let fail = false;
    const flaky = recordingSink();
    const write = flaky.write;
    flaky.write = (c: string) => { if (fail) throw new Error('gone'); return write(c); };
    const healthy = recordingSink();
    feed.start(flaky);
    feed.start(healthy);
    await vi.advanceTimersByTimeAsync(0);
    fail = true;
    await vi.advanceTimersByTimeAsync(1_000);
    expect(feed.open()).toBe(1);
    expect(healthy.chunks.filter((c) => c.startsWith('event: snapshot'))).toHaveLength(2);
    feed.close();
  });
});
