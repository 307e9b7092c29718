import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { benchLimits } from './bench-limits.js';
import { assertNotInterrupted, trackChild } from './child-processes.js';
import type { ParentMessage, StartLoad, WorkerMessage } from './load-protocol.js';
import type { LoadSummary, SecondStats } from './load-stats.js';

/**
 * The harness's side of the load worker: forks dist/bench/lib/load-worker.js, starts the load, relays per-second
 * stats, switches phases and collects the summary. Every wait is bounded; a worker that misbehaves is killed and
 * the run is reported as failed with the reason.
 */
export interface LoadRun {
  /** Every one-second sample so far, in order. */
  readonly series: SecondStats[];
  setPhase(name: string): void;
  /** Tells the worker to stop and waits (bounded) for its summary. */
  stop(): Promise<LoadSummary>;
  /** Settles when the worker finishes (stopped, or its duration bound ran out) or fails. */
  readonly finished: Promise<LoadSummary>;
}

export async function startLoad(start: Omit<StartLoad, 'type'>, onSecond: (s: SecondStats) => void): Promise<LoadRun> {
  assertNotInterrupted();
  const workerPath = join(__dirname, 'load-worker.js');
  const child = trackChild(fork(workerPath, [], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  const series: SecondStats[] = [];
  const send = (msg: ParentMessage) => {
    if (child.connected) child.send(msg);
  };

  let markStarted: () => void = () => {};
  const started = new Promise<void>((resolve) => (markStarted = resolve));
  const finished = new Promise<LoadSummary>((resolve, reject) => {
    child.on('message', (msg: WorkerMessage) => {
      if (msg.type === 'started') markStarted();
      else if (msg.type === 'second') {
        series.push(msg.stats);
        onSecond(msg.stats);
      } else if (msg.type === 'done') resolve(msg.summary);
      else if (msg.type === 'failed') reject(new Error(`load worker failed: ${msg.error}`));
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => reject(new Error(`load worker exited (code ${code}, signal ${signal}) before its summary`)));
  });
  finished.catch(() => {}); // observed by callers; never an unhandled rejection

  send({ type: 'start', ...start });
  try {
    await withTimeout(Promise.race([started, finished.then(() => undefined)]), benchLimits.workerStartMsMax, 'load worker start (workerStartMsMax)');
  } catch (err) {
    kill(child);
    throw err;
  }

  return {
    series,
    setPhase: (name) => send({ type: 'phase', name }),
    async stop() {
      send({ type: 'stop' });
      try {
        return await withTimeout(finished, benchLimits.workerStopMsMax, 'load worker stop (workerStopMsMax)');
      } finally {
        kill(child);
      }
    },
    finished,
  };
}

function kill(child: ChildProcess): void {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
