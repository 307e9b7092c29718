import type { LoadSummary, SecondStats } from './load-stats.js';
import type { WorkloadSpec } from './workloads.js';

/**
 * Messages between the harness (parent) and the load worker (a forked process, so the load generator never shares
 * an event loop with the harness's polling and printing). Sent with Node's 'advanced' IPC serialization.
 */
export interface StartLoad {
  type: 'start';
  /**
   * Base URLs of the servers under test: one, or every node of a cluster. The connections are shared out evenly
   * over them (one autocannon instance per URL in this one worker, so the load generator costs the same CPU).
   */
  urls: string[];
  connections: number;
  workload: WorkloadSpec;
  /** Safety bound: the worker stops by itself after this many seconds even if the parent never says stop. */
  durationSecondsMax: number;
  /** Unique per run; prefixes every Idempotency-Key. */
  runTag: string;
  /** Name of the first phase (the parent may switch phases while the load runs). */
  phase: string;
  requestTimeoutSeconds: number;
  /** Paced load: at most this many requests per second over all connections (autocannon's overallRate). */
  ratePerSec?: number;
  /** Keep answers per bin of this many milliseconds in the summary (LoadSummary.timeline); off when absent. */
  timelineBinMs?: number;
}

export type ParentMessage = StartLoad | { type: 'phase'; name: string } | { type: 'stop' };

export type WorkerMessage =
  | { type: 'started' }
  | { type: 'second'; stats: SecondStats }
  | { type: 'done'; summary: LoadSummary }
  | { type: 'failed'; error: string };
