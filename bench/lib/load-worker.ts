import autocannon from 'autocannon';
import { performance } from 'node:perf_hooks';
import type { ParentMessage, StartLoad, WorkerMessage } from './load-protocol.js';
import { LoadStats } from './load-stats.js';
import { createSequence, samplerFor, type ConnectionSequence } from './workloads.js';

/**
 * The load generator, run as its own process (child_process.fork of the compiled file) so that autocannon's
 * event loop never competes with the harness's polling, printing and checks. It waits for one `start`, drives the
 * server with autocannon's programmatic API, reports stats every second over IPC, switches phase when told, and
 * hands back a summary after `stop` (or after its duration bound). If the parent goes away it exits at once: a load
 * generator must never outlive the run that started it.
 */
const send = (msg: WorkerMessage, then?: () => void): void => {
  if (!process.send) throw new Error('load-worker must be started with child_process.fork (no IPC channel)');
  process.send(msg, undefined, {}, () => then?.());
};

let running: { stop(): void; setPhase(name: string): void } | null = null;

process.on('disconnect', () => process.exit(1));
process.on('message', (msg: ParentMessage) => {
  try {
    if (msg.type === 'start') {
      if (running) throw new Error('load already started');
      running = startLoad(msg);
    } else if (msg.type === 'phase') {
      running?.setPhase(msg.name);
    } else if (msg.type === 'stop') {
      if (running) running.stop();
      else process.exit(0);
    }
  } catch (err) {
    send({ type: 'failed', error: err instanceof Error ? (err.stack ?? err.message) : String(err) }, () => process.exit(1));
  }
});

/**
 * autocannon paces per connection per second: every connection's quota refills at the same instant, so a paced
 * run arrives in one burst per second — latency under bursts, not under a steady 80 % load. Splitting the load
 * into slices started 1/slices of a second apart turns that into `slices` smaller bursts a second.
 */
const pacingSlicesMax = 20;

/** Share `total` over `parts` as evenly as integers allow (the first ones get the remainder). */
const share = (total: number, index: number, parts: number): number => Math.floor(total / parts) + (index < total % parts ? 1 : 0);

function startLoad(msg: StartLoad): { stop(): void; setPhase(name: string): void } {
  const t0 = performance.now();
  const now = () => performance.now() - t0;
  const stats = new LoadStats(msg.phase);
  const zipf = samplerFor(msg.workload);
  const sequences = new WeakMap<object, ConnectionSequence>();
  let connectionIndex = 0;
  let finished = false;
  let stopping = false;
  let firstError: Error | null = null;
  const slices = msg.ratePerSec === undefined ? 1 : Math.max(1, Math.min(pacingSlicesMax, msg.ratePerSec, msg.connections));
  let running = slices;
  const instances: autocannon.Instance[] = [];
  const timers: NodeJS.Timeout[] = [];

  const setupClient = (client: autocannon.Client) => {
    const seq = createSequence(msg.workload, { connectionIndex: connectionIndex++, runTag: msg.runTag, zipf });
    sequences.set(client, seq);
    client.setRequests([
      {
        setupRequest(request) {
          const next = seq.next();
          request.method = next.method;
          request.path = next.path;
          request.headers = next.headers;
          request.body = next.body;
          return request;
        },
        onResponse: (status, body) => seq.onResponse(status, body),
      },
    ]);
  };

  const startSlice = (i: number) => {
    const instance = autocannon(
      {
        url: msg.url,
        connections: share(msg.connections, i, slices),
        duration: msg.durationSecondsMax,
        timeout: msg.requestTimeoutSeconds,
        ...(msg.ratePerSec === undefined ? {} : { overallRate: share(msg.ratePerSec, i, slices) }),
        setupClient,
      },
      (err) => {
        firstError ??= err;
        if (--running === 0) finish();
      },
    );
    instances.push(instance);
    if (i === 0) instance.on('start', () => send({ type: 'started' }));
    instance.on('response', (client, statusCode, _bytes, responseTimeMs) => {
      const op = sequences.get(client)?.answeredOp ?? 'unknown';
      stats.record(op, statusCode, responseTimeMs, now());
    });
    instance.on('reqError', (err) => stats.recordError(err.message === 'request timed out' ? 'timeout' : 'connection'));
  };
  startSlice(0);
  for (let i = 1; i < slices; i++) timers.push(setTimeout(() => startSlice(i), (i * 1000) / slices));
  const ticker = setInterval(() => send({ type: 'second', stats: stats.takeSecond(now()) }), 1000);

  function finish(): void {
    if (finished) return;
    finished = true;
    clearInterval(ticker);
    if (firstError) {
      send({ type: 'failed', error: firstError.stack ?? firstError.message }, () => process.exit(1));
      return;
    }
    // The last, partial second still counts: it holds the answers that arrived between the last tick and the stop.
    if (stats.sinceLastSecondMs(now()) > 0) send({ type: 'second', stats: stats.takeSecond(now()) });
    send({ type: 'done', summary: stats.summary(now()) }, () => process.exit(0));
  }

  return {
    stop() {
      if (stopping) return;
      stopping = true;
      // Slices not started yet never will be; the started ones finish at their next sample tick.
      for (const t of timers) clearTimeout(t);
      running -= slices - instances.length;
      for (const instance of instances) instance.stop();
      if (running === 0) finish();
    },
    setPhase: (name) => stats.setPhase(name, now()),
  };
}
