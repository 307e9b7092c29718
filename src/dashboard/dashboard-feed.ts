import { dashboardLimits } from '../config/limits.js';
import type { StreamSink, StreamStart } from '../http/request.js';
import type { DashboardSnapshots } from './dashboard-snapshot.js';

/**
 * The dashboard's server-sent events (GET /api/admin/dashboard/stream): one timer per node sends every open stream
 * the same snapshot every snapshotIntervalMs (built once for all of them) and a heartbeat every heartbeatMs, on a
 * timer of its own (a snapshot build that hangs does not stop it); the timers run only while a stream is open. At
 * most streamsMax streams (the route answers 429 OVERLOADED past it); close() ends them all when the node closes
 * (the route then answers 503 NOT_READY). A slow reader misses frames (the HTTP edge drops what it cannot send, and
 * cuts a reader that misses too many), which costs it nothing: every frame is a whole snapshot. A stream whose first
 * writes throw, or any later write, is forgotten, so it never keeps a slot.
 */

export interface FeedOptions {
  streamsMax: number;
  intervalMs: number;
  heartbeatMs: number;
  /** The clock of the heartbeats' `at`. */
  nowMs: () => number;
}

const defaults: FeedOptions = { streamsMax: dashboardLimits.streamsMax, intervalMs: dashboardLimits.snapshotIntervalMs, heartbeatMs: dashboardLimits.heartbeatMs, nowMs: Date.now };

export class DashboardFeed {
  private readonly sinks = new Set<StreamSink>();
  private timers: NodeJS.Timeout[] = [];
  private sending = false;
  private closed = false;
  readonly options: FeedOptions;

  constructor(
    private readonly snapshots: DashboardSnapshots,
    options: Partial<FeedOptions> = {},
  ) {
    this.options = { ...defaults, ...options };
  }

  /** Streams open now. */
  open(): number {
    return this.sinks.size;
  }

  /** Whether a new stream would pass streamsMax (or the node is closing). */
  full(): boolean {
    return this.closed || this.sinks.size >= this.options.streamsMax;
  }

  /** Whether the node closed the feed: a new stream ends at once. */
  isClosed(): boolean {
    return this.closed;
  }

  /** The route's stream: a comment at once (it sends the headers), then the latest snapshot and every next one. */
  readonly start: StreamStart = (sink) => {
    if (this.closed) {
      sink.end();
      return () => undefined;
    }
    this.sinks.add(sink);
    try {
      sink.write(': boxoffice dashboard\n\n');
    } catch (err) {
      this.remove(sink);
      throw err;
    }
    void this.snapshots.get().then((s) => this.sinks.has(sink) && this.send1(sink, snapshotFrame(s)), () => undefined);
    if (this.timers.length === 0) this.arm();
    return () => this.remove(sink);
  };

  /** Ends every stream and stops the timers; later streams end at once. */
  close(): void {
    this.closed = true;
    this.disarm();
    for (const sink of this.sinks) sink.end();
    this.sinks.clear();
  }

  private remove(sink: StreamSink): void {
    this.sinks.delete(sink);
    if (this.sinks.size === 0) this.disarm();
  }

  private arm(): void {
    const every = (ms: number, fn: () => void) => {
      const t = setInterval(fn, ms);
      t.unref();
      this.timers.push(t);
    };
    every(this.options.intervalMs, () => void this.send());
    every(this.options.heartbeatMs, () => this.broadcast(`event: heartbeat\ndata: ${JSON.stringify({ at: new Date(this.options.nowMs()).toISOString() })}\n\n`));
  }

  private disarm(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
  }

  /** One snapshot for every stream; a send still building when the next tick comes is not doubled. */
  private async send(): Promise<void> {
    if (this.sending) return;
    this.sending = true;
    try {
      this.broadcast(snapshotFrame(await this.snapshots.get()));
    } catch {
      // A snapshot that failed as a whole is skipped; the next tick builds another.
    } finally {
      this.sending = false;
    }
  }

  private broadcast(frame: string): void {
    for (const sink of this.sinks) this.send1(sink, frame);
  }

  /** A sink whose write throws (a bug at the edge) is forgotten, not left holding a slot. */
  private send1(sink: StreamSink, frame: string): void {
    try {
      sink.write(frame);
    } catch {
      this.remove(sink);
    }
  }
}

/** A server-sent event: JSON has no raw newlines, so the data fits one `data:` line. */
export function snapshotFrame(snapshot: unknown): string {
  return `event: snapshot\ndata: ${JSON.stringify(snapshot)}\n\n`;
}
