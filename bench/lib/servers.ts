import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { benchLimits } from './bench-limits.js';
import { assertNotInterrupted, trackChild } from './child-processes.js';
import { requestJson } from './http.js';

/**
 * Starting and stopping what the bench measures, each as its own process on a free port:
 * - boxoffice: `node dist/src/main.js`, ready when GET /readyz answers 200 (recovery finished); alone, or as one
 *   node of a cluster (bench/lib/cluster.ts starts the nodes and waits until they share the partitions);
 * - a contender: `node dist/bench/contenders/server.js --kind <kind> --port <n>`, ready when it prints
 *   `listening <port>`.
 * Output is kept (the last serverLogLinesKept lines) to explain a failed start or a failed run.
 */
export const contenderKinds = ['boxoffice', 'pg-conditional', 'pg-for-update', 'redis-lua', 'hello'] as const;
export type ContenderKind = (typeof contenderKinds)[number];
/**
 * The payment providers boxoffice can run with in the bench: its simulated provider (SIM_PAYMENT_LATENCY_MS; every
 * contender has only this one) or its Stripe adapter against the Stripe test server the run starts (flash-hot).
 */
export const paymentProviderKinds = ['simulated', 'stripe'] as const;
export type PaymentProviderKind = (typeof paymentProviderKinds)[number];

/** dist/ of this checkout: this file compiles to dist/bench/lib/servers.js. */
const distRoot = join(__dirname, '..', '..');
export const serverEntry = (kind: ContenderKind): string =>
  kind === 'boxoffice' ? join(distRoot, 'src', 'main.js') : join(distRoot, 'bench', 'contenders', 'server.js');

export interface ServerOptions {
  kind: ContenderKind;
  databaseUrl: string;
  redisUrl: string;
  /** redis-lua's key prefix for this run, so runs sharing one Redis never see each other's counters. */
  redisKeyPrefix: string;
  adminToken: string;
  /** Knobs and scenario settings (SIM_PAYMENT_LATENCY_MS, DB_POOL_SIZE, JOURNAL_BATCH_ROWS, …). */
  env: Record<string, string>;
  /** boxoffice only: run as a node of this cluster (REDIS_URL, CLUSTER_NAME, NODE_ID); single-node mode when absent. */
  /** `secret`: CLUSTER_SECRET, the same for every node of the cluster. */
  cluster?: { name: string; nodeId: string; secret: string };
}

export interface RunningServer {
  kind: ContenderKind;
  baseUrl: string;
  adminToken: string;
  pid: number;
  /** The cluster node id (NODE_ID), or null for a server that runs alone. */
  nodeId: string | null;
  /** The last lines the server printed (stdout and stderr). */
  logTail(): string[];
  /** How many lines the server printed in all (at LOG_LEVEL=warn: its warnings and errors). */
  logLineCount(): number;
  /** Non-null once the process has exited, describing how. */
  exitDescription(): string | null;
  /** Sends a signal to the server process (the memory scenario's SIGUSR2 garbage collection). */
  signal(signal: NodeJS.Signals): void;
  stop(): Promise<void>;
}

export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const entry = serverEntry(opts.kind);
  if (!existsSync(entry)) throw new Error(`${opts.kind}: ${entry} does not exist (run \`npm run build\`; contenders live in bench/contenders)`);
  const port = await freePort();
  assertNotInterrupted();
  const env: Record<string, string> = {
    PATH: process.env['PATH'] ?? '',
    HOME: process.env['HOME'] ?? '',
    DATABASE_URL: opts.databaseUrl,
    ADMIN_TOKEN: opts.adminToken,
    LOG_LEVEL: 'warn',
    ...opts.env,
  };
  const args =
    opts.kind === 'boxoffice'
      ? [entry]
      : [entry, '--kind', opts.kind, '--port', String(port)];
  if (opts.kind === 'boxoffice') Object.assign(env, { PORT: String(port), HOST: '127.0.0.1' });
  // boxoffice gets REDIS_URL only as a cluster node: REDIS_URL is what turns its cluster mode on, and a single node
  // owns every partition without it. The inter-node port is left to the node (NODE_PORT=0: a free one).
  else Object.assign(env, { REDIS_URL: opts.redisUrl, REDIS_KEY_PREFIX: opts.redisKeyPrefix });
  if (opts.cluster) {
    if (opts.kind !== 'boxoffice') throw new Error(`${opts.kind} has no cluster mode`);
    Object.assign(env, { REDIS_URL: opts.redisUrl, CLUSTER_NAME: opts.cluster.name, CLUSTER_SECRET: opts.cluster.secret, NODE_ID: opts.cluster.nodeId, NODE_HOST: '127.0.0.1', NODE_PORT: '0' });
  }

  const child = trackChild(spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] }));
  const log = keepTail(child);
  let exit: string | null = null;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      exit = signal ? `killed by ${signal}` : `exited with code ${code}`;
      resolve();
    }),
  );
  const baseUrl = `http://127.0.0.1:${port}`;
  const stop = () => stopChild(child, exited);
  try {
    const ready = opts.kind === 'boxoffice' ? pollReady(baseUrl) : log.waitFor(new RegExp(`^listening ${port}\\b`));
    await raceStart(ready, exited, () => exit);
  } catch (err) {
    await stop();
    const tail = log.lines().slice(-10).map((l) => `    ${l}`).join('\n');
    throw new Error(`${opts.kind} did not start: ${(err as Error).message}${tail ? `\n  last output:\n${tail}` : ''}`);
  }
  const signal = (sig: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(sig);
  };
  return { kind: opts.kind, baseUrl, adminToken: opts.adminToken, pid: child.pid ?? -1, nodeId: opts.cluster?.nodeId ?? null, logTail: log.lines, logLineCount: log.count, exitDescription: () => exit, signal, stop };
}

async function raceStart(ready: Promise<void>, exited: Promise<void>, exit: () => string | null): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`not ready within serverStartMsMax (${benchLimits.serverStartMsMax} ms)`)), benchLimits.serverStartMsMax);
  });
  const died = exited.then(() => {
    throw new Error(`the process ${exit() ?? 'exited'} before it was ready`);
  });
  try {
    await Promise.race([ready, timeout, died]);
  } finally {
    clearTimeout(timer);
  }
}

async function pollReady(baseUrl: string): Promise<void> {
  const deadline = Date.now() + benchLimits.serverStartMsMax;
  while (Date.now() < deadline) {
    const r = await requestJson('GET', `${baseUrl}/readyz`, { timeoutMs: 1_000 }).catch(() => null);
    if (r?.status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function stopChild(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const bound = new Promise<'late'>((resolve) => setTimeout(() => resolve('late'), benchLimits.serverStopMsMax).unref());
  if ((await Promise.race([exited.then(() => 'exited' as const), bound])) === 'late') {
    child.kill('SIGKILL');
    await exited;
  }
}

/** A port the OS says is free right now (the child binds it a moment later; a clash makes the start fail loudly). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function keepTail(child: ChildProcess) {
  const lines: string[] = [];
  let count = 0;
  const waiters: Array<{ pattern: RegExp; resolve: () => void }> = [];
  const onData = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (line.trim() === '') continue;
      count += 1;
      lines.push(line.slice(0, 500));
      if (lines.length > benchLimits.serverLogLinesKept) lines.shift();
      for (const w of [...waiters]) {
        if (w.pattern.test(line)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve();
        }
      }
    }
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  return {
    lines: () => [...lines],
    count: () => count,
    waitFor: (pattern: RegExp) => new Promise<void>((resolve) => waiters.push({ pattern, resolve })),
  };
}
