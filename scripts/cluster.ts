import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Redis } from 'ioredis';
import { Client } from 'pg';
import { clusterHelpText, clusterLimits, nodePlan, parseClusterArgs, UsageError, type ClusterArgs } from './cluster-args.js';
import { redactUrl } from '../bench/lib/databases.js';
import { nodePrefix, renderNodeLine } from './cluster-output.js';

/**
 * `npm run cluster -- --nodes N`: a boxoffice cluster on this machine for development (README "Running a cluster").
 * Checks PostgreSQL (creating the database if it is missing) and Redis, starts N processes of dist/src/main.js
 * sharing DATABASE_URL, REDIS_URL, CLUSTER_NAME and ADMIN_TOKEN, shows their output prefixed with [node-i], prints the
 * URLs and the admin token when every node answers /readyz, and forwards Ctrl-C and SIGTERM to the nodes.
 */
const repoRoot = join(__dirname, '..', '..');
const mainJs = join(repoRoot, 'dist', 'src', 'main.js');
const defaultDatabaseUrl = 'postgresql://postgres@127.0.0.1:5432/boxoffice';
const defaultRedisUrl = 'redis://127.0.0.1:6379';
/** Bound of each preflight check (connect and one statement). */
const preflightMsMax = 5_000;

interface Settings {
  databaseUrl: string;
  redisUrl: string;
  adminToken: string;
  adminTokenGenerated: boolean;
  clusterSecret: string;
  nodeHost: string;
  host: string;
}

interface ClusterNode {
  id: string;
  port: number;
  nodePort: number;
  child: ChildProcess;
  exited: boolean;
  ready: boolean;
}

const say = (line: string) => process.stdout.write(`[cluster] ${line}\n`);
const complain = (line: string) => process.stderr.write(`[cluster] ${line}\n`);

async function main(argv: string[]): Promise<number> {
  let args: ClusterArgs;
  try {
    args = parseClusterArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`cluster: ${err.message}\n\n${clusterHelpText()}\n`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(`${clusterHelpText()}\n`);
    return 0;
  }
  const env = process.env;
  const generated = env['ADMIN_TOKEN'] === undefined || env['ADMIN_TOKEN'] === '';
  const settings: Settings = {
    databaseUrl: env['DATABASE_URL'] || defaultDatabaseUrl,
    redisUrl: env['REDIS_URL'] || defaultRedisUrl,
    adminToken: generated ? randomBytes(24).toString('base64url') : env['ADMIN_TOKEN']!,
    // The nodes authenticate each other with it: CLUSTER_SECRET when set (32+ characters), else one for this run.
    clusterSecret: env['CLUSTER_SECRET'] || randomBytes(24).toString('base64url'),
    adminTokenGenerated: generated,
    nodeHost: env['NODE_HOST'] || '127.0.0.1',
    host: env['HOST'] || '127.0.0.1',
  };
  const plan = nodePlan(args);
  try {
    if (!existsSync(mainJs)) throw new Error(`${mainJs} is missing: run \`npm run build\` (npm run cluster builds first)`);
    await ensureDatabase(settings.databaseUrl);
    await pingRedis(settings.redisUrl);
    for (const { id, port, nodePort } of plan) {
      if (!(await portFree(port))) throw new Error(`HTTP port ${port} of ${id} is in use (another cluster running?); try --base-port`);
      if (!(await portFree(nodePort))) throw new Error(`inter-node port ${nodePort} of ${id} is in use; try --base-node-port`);
    }
  } catch (err) {
    complain(`cannot start: ${(err as Error).message}`);
    return 1;
  }
  say(`starting ${plan.length} node${plan.length === 1 ? '' : 's'} of cluster '${args.name}' on ${redactUrl(settings.databaseUrl)} and ${redactUrl(settings.redisUrl)}`);
  const nodes = plan.map((p) => startNode(p, args, settings, Math.max(...plan.map((q) => q.id.length))));
  return supervise(nodes, args, settings);
}

function startNode(p: { id: string; port: number; nodePort: number }, args: ClusterArgs, s: Settings, idWidthMax: number): ClusterNode {
  const child = spawn(process.execPath, [mainJs], {
    cwd: repoRoot,
    env: {
      ...process.env,
      NODE_ID: p.id,
      PORT: String(p.port),
      HOST: s.host,
      NODE_HOST: s.nodeHost,
      NODE_PORT: String(p.nodePort),
      DATABASE_URL: s.databaseUrl,
      REDIS_URL: s.redisUrl,
      CLUSTER_SECRET: s.clusterSecret,
      CLUSTER_NAME: args.name,
      ADMIN_TOKEN: s.adminToken,
      ...(args.partitions === null ? {} : { PARTITIONS: String(args.partitions) }),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const node: ClusterNode = { ...p, child, exited: false, ready: false };
  const prefix = nodePrefix(p.id, idWidthMax);
  for (const [stream, out] of [[child.stdout!, process.stdout], [child.stderr!, process.stderr]] as const) {
    createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => {
      for (const l of renderNodeLine(prefix, line, args.quiet)) out.write(`${l}\n`);
    });
  }
  return node;
}

/** Waits for readiness, prints the summary, reports deaths, and stops the nodes on a signal. Answers the exit code. */
function supervise(nodes: ClusterNode[], args: ClusterArgs, s: Settings): Promise<number> {
  return new Promise((resolve) => {
    let stopping: NodeJS.Signals | null = null;
    const live = () => nodes.filter((n) => !n.exited);
    process.on('exit', () => {
      // Last resort (only synchronous code runs here): no node outlives the script.
      for (const n of live()) n.child.kill('SIGKILL');
    });
    for (const n of nodes) {
      n.child.once('exit', (code, signal) => {
        n.exited = true;
        const how = signal === null ? `exit code ${code}` : `signal ${signal}`;
        if (stopping === null) {
          complain(`${n.id} exited unexpectedly (${how}); ${survivors(live())}`);
        } else {
          say(`${n.id} stopped (${how})`);
        }
        if (live().length === 0) {
          if (stopping !== null) say('every node stopped');
          resolve(stopping === null ? 1 : 0);
        }
      });
    }
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping !== null) {
        complain(`${signal} again: killing ${live().map((n) => n.id).join(', ')}`);
        for (const n of live()) n.child.kill('SIGKILL');
        return;
      }
      stopping = signal;
      say(`${signal}: stopping ${live().length} node(s); ${signal} again kills them`);
      // A terminal's Ctrl-C reaches the nodes too (same process group); a repeat is harmless, as main.ts stops once.
      for (const n of live()) n.child.kill(signal);
      setTimeout(() => {
        for (const n of live()) {
          complain(`${n.id} still running after ${clusterLimits.stopGraceMsMax} ms: SIGKILL`);
          n.child.kill('SIGKILL');
        }
      }, clusterLimits.stopGraceMsMax).unref();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    void waitForReady(nodes, () => stopping !== null).then((ms) => {
      if (stopping === null && live().length > 0) printSummary(nodes, args, s, ms);
    });
  });
}

function survivors(live: readonly ClusterNode[]): string {
  if (live.length === 0) return 'no node is left';
  return `${live.map((n) => n.id).join(', ')} ${live.length === 1 ? 'keeps' : 'keep'} running`;
}

/** Polls every live node's /readyz until all answer 200, all are gone, or the bound passes. Answers the elapsed ms. */
async function waitForReady(nodes: ClusterNode[], stopped: () => boolean): Promise<number> {
  const started = performance.now();
  while (performance.now() - started < clusterLimits.readyWaitMsMax && !stopped()) {
    await Promise.all(
      nodes.filter((n) => !n.exited && !n.ready).map(async (n) => {
        try {
          const res = await fetch(`http://127.0.0.1:${n.port}/readyz`, { signal: AbortSignal.timeout(clusterLimits.readyPollMs * 4) });
          await res.text();
          n.ready = res.status === 200;
        } catch {
          // Not listening yet.
        }
      }),
    );
    if (nodes.every((n) => n.exited || n.ready)) break;
    await new Promise((resolve) => setTimeout(resolve, clusterLimits.readyPollMs));
  }
  return performance.now() - started;
}

function printSummary(nodes: ClusterNode[], args: ClusterArgs, s: Settings, elapsedMs: number): void {
  const up = nodes.filter((n) => !n.exited && n.ready);
  const down = nodes.filter((n) => !up.includes(n));
  const host = s.host === '0.0.0.0' || s.host === '::' ? '127.0.0.1' : s.host;
  const width = Math.max(...nodes.map((n) => n.id.length));
  const first = up[0] ?? nodes[0]!;
  const lines = [
    '',
    `${up.length} of ${nodes.length} nodes of cluster '${args.name}' ready after ${(elapsedMs / 1000).toFixed(1)} s`,
    ...nodes.map((n) => `  ${n.id.padEnd(width)}  http://${host}:${n.port}  inter-node ${s.nodeHost}:${n.nodePort}  ${n.exited ? 'EXITED' : n.ready ? 'ready' : `NOT READY after ${clusterLimits.readyWaitMsMax / 1000} s`}`),
    `  database     ${redactUrl(s.databaseUrl)}`,
    `  redis        ${redactUrl(s.redisUrl)}`,
    s.adminTokenGenerated ? `  admin token  ${s.adminToken}  (generated for this run; set ADMIN_TOKEN to choose one)` : '  admin token  from ADMIN_TOKEN',
    '',
    'try:',
    `  ${s.adminTokenGenerated ? `ADMIN_TOKEN=${s.adminToken} ` : ''}npx boxoffice --url http://${host}:${first.port} status`,
    'Ctrl-C stops every node.',
    '',
  ];
  // A block of its own, unprefixed, so the URLs and the token are easy to copy; stderr when a node is not up.
  (down.length > 0 ? process.stderr : process.stdout).write(`${lines.join('\n')}\n`);
}

/** Creates the database of `databaseUrl` when it does not exist, through the server's `postgres` database. */
async function ensureDatabase(databaseUrl: string): Promise<void> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (name === '') throw new Error(`DATABASE_URL ${redactUrl(databaseUrl)} names no database`);
  url.pathname = '/postgres';
  const admin = new Client({ connectionString: url.toString(), connectionTimeoutMillis: preflightMsMax, statement_timeout: preflightMsMax });
  try {
    await admin.connect();
    const found = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rows.length === 0) {
      await admin.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
      say(`created database ${name}`);
    }
  } catch (err) {
    throw new Error(`PostgreSQL at ${redactUrl(url.toString())} does not answer or refused (${(err as Error).message}); set DATABASE_URL`);
  } finally {
    await admin.end().catch(() => undefined);
  }
}

async function pingRedis(redisUrl: string): Promise<void> {
  const redis = new Redis(redisUrl, { lazyConnect: true, connectTimeout: preflightMsMax, maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on('error', () => {}); // the failure surfaces through connect()/ping() below
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    throw new Error(`Redis at ${redactUrl(redisUrl)} does not answer (${(err as Error).message}); set REDIS_URL`);
  } finally {
    redis.disconnect();
  }
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    complain(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
