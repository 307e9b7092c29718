import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Redis } from 'ioredis';
import { createPgTestDatabase } from './databases.js';
import { ensureBuilt, repoRoot } from './ensure-built.js';
import { jsonOrText } from './http-body.js';

/**
 * A multi-process cluster for integration tests: N processes of the compiled node (dist/src/main.js) on a fresh
 * PostgreSQL database, sharing the test Redis under a random CLUSTER_NAME (so test files can run in parallel on one
 * Redis), each on ephemeral ports (PORT=0, NODE_PORT=0; the HTTP port is read from the node's `listening; recovering`
 * log line). `stop()` kills every node, drops the database and deletes the cluster's Redis keys; a process exit or
 * Ctrl-C of the test runner kills the nodes too. A SIGKILL of the runner itself cannot be caught: nothing can help then.
 *
 *   const c = await startCluster({ nodes: 3 });
 *   const status = await c.admin(0, 'GET', '/api/admin/cluster');
 *   await c.nodes[1]!.kill('SIGKILL');
 *   await c.nodes[1]!.restart();
 *   await c.stop();
 */
export const clusterHarnessLimits = {
  /** From spawn to the `listening; recovering` line. */
  listenMsMax: 30_000,
  /** From listening to /readyz 200 (recovery, joining the cluster). */
  readyMsMax: 60_000,
  readyPollMs: 50,
  /** stop() and restart() send SIGTERM, then SIGKILL to a node still running after this long. */
  stopGraceMsMax: 10_000,
  /** Output lines kept per node; older ones are dropped. */
  logLinesMax: 10_000,
  /** Bound of each admin() request. */
  requestMsMax: 30_000,
} as const;

export const clusterTestAdminToken = 'cluster-test-admin-token-0123456789';
const testRedisUrl = process.env['BO_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const mainJs = join(repoRoot, 'dist', 'src', 'main.js');
/** The node logs its HTTP port at info; a quieter LOG_LEVEL would hide it. */
const levelsThatLogThePort = new Set(['info', 'debug', 'trace']);

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface AdminAnswer {
  status: number;
  body: any;
  headers: Headers;
}

export interface ClusterNode {
  readonly id: string;
  /** HTTP port of the current process (a restart gets a new one). */
  readonly port: number;
  /** Inter-node port from the `joined the cluster` line; null until then, and in single-node mode. */
  readonly nodePort: number | null;
  readonly url: string;
  /** The current process. */
  readonly child: ChildProcess;
  /** stdout and stderr lines of every process of this node, oldest dropped past logLinesMax; restarts are marked. */
  readonly logs: string[];
  readonly running: boolean;
  /** Sends `signal` (default SIGKILL: a crash) and answers once the process exited. */
  kill(signal?: NodeJS.Signals): Promise<ExitInfo>;
  /** Stops the node if it runs (SIGTERM, SIGKILL past the grace), starts it again with the same id, waits for /readyz. */
  restart(): Promise<void>;
  /** The exit of the current process (immediately if it already exited). */
  waitForExit(): Promise<ExitInfo>;
  /** Answers the first line (already logged or to come) that matches, or throws after `timeoutMs`. */
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<string>;
  admin(method: string, path: string, body?: unknown): Promise<AdminAnswer>;
}

export interface TestCluster {
  /** CLUSTER_NAME: also the prefix of every Redis key of this cluster. */
  readonly name: string;
  readonly adminToken: string;
  readonly databaseUrl: string;
  /** null when started with `cluster: false`. */
  readonly redisUrl: string | null;
  readonly nodes: ClusterNode[];
  node(id: string): ClusterNode;
  url(i: number): string;
  /** An admin request (Bearer token, JSON body) to node `i`. */
  admin(i: number, method: string, path: string, body?: unknown): Promise<AdminAnswer>;
  /** Starts one more node (default id node-<n+1>), waits for /readyz, and adds it to `nodes`. */
  addNode(id?: string, env?: Record<string, string>): Promise<ClusterNode>;
  /** Kills every node, drops the database, deletes the cluster's Redis keys. Safe to call twice. */
  stop(): Promise<void>;
}

export interface StartClusterOptions {
  nodes: number;
  /** PARTITIONS of every node; default 64 (small: faster starts and moves). */
  partitions?: number;
  /** Extra environment of every node (after the harness's own, so it can override them: MEMBER_TTL_MS, …). */
  env?: Record<string, string>;
  /** false: no REDIS_URL, single-node mode (for tests of the harness and of single-node behaviour). Default true. */
  cluster?: boolean;
}

export async function startCluster(opts: StartClusterOptions): Promise<TestCluster> {
  if (!Number.isInteger(opts.nodes) || opts.nodes < 1 || opts.nodes > 16) throw new Error(`startCluster: nodes must be 1..16, got ${opts.nodes}`);
  const logLevel = opts.env?.['LOG_LEVEL'] ?? 'info';
  if (!levelsThatLogThePort.has(logLevel)) throw new Error(`startCluster: LOG_LEVEL=${logLevel} hides the 'listening' line the harness reads the port from; use info, debug or trace`);
  ensureBuilt(mainJs);
  installExitHandlers();
  const name = `bo-test-${randomBytes(6).toString('hex')}`;
  const db = await createPgTestDatabase();
  const redisUrl = opts.cluster === false ? null : testRedisUrl;
  const baseEnv: Record<string, string> = {
    PATH: process.env['PATH'] ?? '',
    HOST: '127.0.0.1',
    PORT: '0',
    NODE_HOST: '127.0.0.1',
    NODE_PORT: '0',
    DATABASE_URL: db.url,
    ...(redisUrl === null ? {} : { REDIS_URL: redisUrl, CLUSTER_SECRET: randomBytes(24).toString('base64url') }),
    CLUSTER_NAME: name,
    ADMIN_TOKEN: clusterTestAdminToken,
    PARTITIONS: String(opts.partitions ?? 64),
    LOG_LEVEL: logLevel,
    ...opts.env,
  };
  const nodes: ClusterNode[] = [];
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await Promise.all(nodes.map((n) => stopProcess(n)));
    const errors: unknown[] = [];
    await db.drop().catch((err: unknown) => errors.push(err));
    await deleteRedisKeys(name).catch((err: unknown) => errors.push(err));
    if (errors.length > 0) throw new AggregateError(errors, `cluster ${name}: cleanup failed`);
  };
  const addNode = async (id = `node-${nodes.length + 1}`, env: Record<string, string> = {}) => {
    if (stopped) throw new Error(`cluster ${name} is stopped`);
    if (nodes.some((n) => n.id === id)) throw new Error(`cluster ${name} already has ${id}`);
    const node = createNode(id, { ...baseEnv, ...env, NODE_ID: id });
    nodes.push(node);
    await node.restart();
    return node;
  };
  try {
    await Promise.all(Array.from({ length: opts.nodes }, (_, i) => addNode(`node-${i + 1}`)));
  } catch (err) {
    const logs = nodes.map((n) => `--- ${n.id}\n${n.logs.slice(-50).join('\n')}`).join('\n');
    await stop().catch(() => undefined);
    throw new Error(`startCluster: ${(err as Error).message}\n${logs}`);
  }
  // Nodes started in parallel finish in any order; keep node-1 … node-N in order.
  nodes.sort((a, b) => a.id.localeCompare(b.id, 'en', { numeric: true }));
  const at = (i: number) => {
    const n = nodes[i];
    if (n === undefined) throw new Error(`cluster ${name} has no node ${i} (it has ${nodes.length})`);
    return n;
  };
  return {
    name,
    adminToken: clusterTestAdminToken,
    databaseUrl: db.url,
    redisUrl,
    nodes,
    node(id) {
      const n = nodes.find((x) => x.id === id);
      if (n === undefined) throw new Error(`cluster ${name} has no ${id}`);
      return n;
    },
    url: (i) => at(i).url,
    admin: (i, method, path, body) => at(i).admin(method, path, body),
    addNode,
    stop,
  };
}

/** Every child of every cluster of this process, for the exit handlers. */
const liveChildren = new Set<ChildProcess>();
let exitHandlersInstalled = false;

function installExitHandlers(): void {
  if (exitHandlersInstalled) return;
  exitHandlersInstalled = true;
  const killAll = () => {
    for (const c of liveChildren) c.kill('SIGKILL');
  };
  process.on('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = () => {
      killAll();
      // Alone on this signal, this handler would keep the process alive: stand aside and let the signal end it.
      if (process.listenerCount(signal) === 1) {
        process.removeListener(signal, onSignal);
        process.kill(process.pid, signal);
      }
    };
    process.on(signal, onSignal);
  }
}

interface Process {
  child: ChildProcess;
  exited: Promise<ExitInfo>;
  exit: ExitInfo | null;
}

function createNode(id: string, env: Record<string, string>): ClusterNode {
  const logs: string[] = [];
  const waiters = new Set<{ pattern: RegExp; resolve(line: string): void }>();
  let current: Process | null = null;
  let port = 0;
  let nodePort: number | null = null;
  let boots = 0;

  const log = (line: string) => {
    logs.push(line);
    if (logs.length > clusterHarnessLimits.logLinesMax) logs.splice(0, logs.length - clusterHarnessLimits.logLinesMax);
    for (const w of waiters) if (w.pattern.test(line)) (waiters.delete(w), w.resolve(line));
  };

  const launch = async (): Promise<void> => {
    boots++;
    if (boots > 1) log(`--- ${id}: restart ${boots - 1} ---`);
    nodePort = null;
    const child = spawn(process.execPath, [mainJs], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
    liveChildren.add(child);
    const proc: Process = { child, exit: null, exited: null as unknown as Promise<ExitInfo> };
    proc.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        liveChildren.delete(child);
        proc.exit = { code, signal };
        resolve(proc.exit);
      }),
    );
    current = proc;
    const listening = new Promise<number>((resolve) => {
      for (const stream of [child.stdout!, child.stderr!]) {
        createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => {
          log(line);
          const entry = parseJson(line);
          if (entry?.['msg'] === 'listening; recovering' && typeof entry['port'] === 'number') resolve(entry['port']);
          if (nodePort === null && typeof entry?.['transport'] === 'string') nodePort = Number(/:(\d+)$/.exec(entry['transport'])?.[1] ?? NaN) || null;
        });
      }
    });
    port = await raceExit(proc, listening, clusterHarnessLimits.listenMsMax, `${id} to log 'listening; recovering'`);
    await raceExit(proc, pollReady(`http://127.0.0.1:${port}`), clusterHarnessLimits.readyMsMax, `${id} to answer /readyz 200`);
  };

  const node: ClusterNode = {
    id,
    get port() {
      return port;
    },
    get nodePort() {
      return nodePort;
    },
    get url() {
      return `http://127.0.0.1:${port}`;
    },
    get child() {
      if (current === null) throw new Error(`${id} was never started`);
      return current.child;
    },
    logs,
    get running() {
      return current !== null && current.exit === null;
    },
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (current === null) throw new Error(`${id} was never started`);
      if (current.exit === null) current.child.kill(signal);
      return current.exited;
    },
    async restart() {
      await stopProcess(node);
      await launch();
    },
    async waitForExit() {
      if (current === null) throw new Error(`${id} was never started`);
      return current.exited;
    },
    waitForLog(pattern, timeoutMs = clusterHarnessLimits.readyMsMax) {
      const seen = logs.find((l) => pattern.test(l));
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const waiter = { pattern, resolve: (line: string) => (clearTimeout(timer), resolve(line)) };
        const timer = setTimeout(() => (waiters.delete(waiter), reject(new Error(`${id}: no log line matched ${pattern} within ${timeoutMs} ms`))), timeoutMs);
        waiters.add(waiter);
      });
    },
    admin: (method, path, body) => adminRequest(`http://127.0.0.1:${port}`, method, path, body),
  };
  return node;
}

/** SIGTERM, then SIGKILL after the grace; answers when the node's process (if any) has exited. */
async function stopProcess(node: ClusterNode): Promise<void> {
  if (!node.running) return;
  const exited = node.waitForExit();
  node.child.kill('SIGTERM');
  const timer = setTimeout(() => node.child.kill('SIGKILL'), clusterHarnessLimits.stopGraceMsMax);
  await exited;
  clearTimeout(timer);
}

/** `work`, unless the process exits first (then its exit is the error) or `timeoutMs` passes. */
async function raceExit<T>(proc: Process, work: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs)));
  const exit = proc.exited.then((e): never => {
    throw new Error(`the node exited (code ${e.code}, signal ${e.signal}) while waiting for ${what}`);
  });
  try {
    return await Promise.race([work, timeout, exit]);
  } finally {
    clearTimeout(timer);
    exit.catch(() => undefined);
  }
}

async function pollReady(base: string): Promise<void> {
  for (;;) {
    try {
      const res = await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(2_000) });
      await res.text();
      if (res.status === 200) return;
    } catch {
      // Not accepting connections yet.
    }
    await new Promise((resolve) => setTimeout(resolve, clusterHarnessLimits.readyPollMs));
  }
}

async function adminRequest(base: string, method: string, path: string, body?: unknown): Promise<AdminAnswer> {
  const res = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${clusterTestAdminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(clusterHarnessLimits.requestMsMax),
  });
  return { status: res.status, body: await jsonOrText(res), headers: res.headers };
}

/** SCAN + DEL of every key under the cluster's name (the Redis server is shared by parallel test files). */
async function deleteRedisKeys(name: string): Promise<void> {
  const redis = new Redis(testRedisUrl, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 2_000, retryStrategy: () => null });
  redis.on('error', () => {}); // surfaces through the commands below
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${name}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

function parseJson(line: string): Record<string, unknown> | null {
  if (!line.startsWith('{')) return null;
  try {
    const v: unknown = JSON.parse(line);
    return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
