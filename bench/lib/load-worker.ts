import autocannon from 'autocannon';
import { performance } from 'node:perf_hooks';
import { benchLimits } from './bench-limits.js';
import type { ParentMessage, StartLoad, WorkerMessage } from './load-protocol.js';
import { LoadStats } from './load-stats.js';
import { createSequence, samplerFor, type ConnectionSequence } from './workloads.js';

/**
 * The load generator, run as its own process (child_process.fork of the compiled file) so that autocannon's
 * event loop never competes with the harness's polling, printing and checks. It waits for one `start`, drives the
 * server (or every node of a cluster) with autocannon's programmatic API, reports stats every second over IPC,
 * switches phase when told, and
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
  const servers = msg.urls.length;
  if (servers === 0 || msg.connections < servers) throw new Error(`load: ${msg.connections} connections cannot cover ${servers} servers`);
  if (msg.ratePerSec !== undefined && msg.ratePerSec < servers) throw new Error(`load: a rate of ${msg.ratePerSec}/s cannot be shared over ${servers} servers`);
  const startedAtEpochMs = Date.now();
  const t0 = performance.now();
  const now = () => performance.now() - t0;
  const timeline = msg.timelineBinMs === undefined ? undefined : { binMs: msg.timelineBinMs, binsMax: benchLimits.loadTimelineBinsMax, startedAtEpochMs };
  const stats = new LoadStats(msg.phase, timeline);
  const zipf = samplerFor(msg.workload);
  const sequences = new WeakMap<object, ConnectionSequence>();
  let connectionIndex = 0;
  let finished = false;
  let stopping = false;
  let firstError: Error | null = null;
  const slices = msg.ratePerSec === undefined ? 1 : Math.max(1, Math.min(pacingSlicesMax, Math.floor(msg.ratePerSec / servers), Math.floor(msg.connections / servers)));
  // One autocannon instance per (pacing slice, server): part i goes to server i mod servers, in slice ⌊i / servers⌋.
  const parts = slices * servers;
  let running = parts;
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

  const startPart = (i: number) => {
    const instance = autocannon(
      {
        url: msg.urls[i % servers]!,
        connections: share(msg.connections, i, parts),
        duration: msg.durationSecondsMax,
        timeout: msg.requestTimeoutSeconds,
        ...(msg.ratePerSec === undefined ? {} : { overallRate: share(msg.ratePerSec, i, parts) }),
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
  for (let i = 0; i < servers; i++) startPart(i);
  for (let i = servers; i < parts; i++) timers.push(setTimeout(() => startPart(i), (Math.floor(i / servers) * 1000) / slices));
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
      // Parts not started yet never will be; the started ones finish at their next sample tick.
      for (const t of timers) clearTimeout(t);
      running -= parts - instances.length;
      for (const instance of instances) instance.stop();
      if (running === 0) finish();
    },
    setPhase: (name) => stats.setPhase(name, now()),
  };
}
