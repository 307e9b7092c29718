import { randomBytes } from 'node:crypto';
import { benchLimits } from './bench-limits.js';
import { assertNotInterrupted, onInterrupt } from './child-processes.js';
import { dropRedisPrefix } from './databases.js';
import { requestJson } from './http.js';
import { startServer, type RunningServer } from './servers.js';

/**
 * A boxoffice cluster for the bench: `nodes` processes of `node dist/src/main.js` on one database, sharing the
 * bench's Redis under a CLUSTER_NAME of their own (`bo-bench-<random>`, so nothing carries over between runs and
 * nothing collides with a test cluster on the same Redis). Each node is started the way startServer starts a single
 * boxoffice (free HTTP port, LOG_LEVEL=warn, ready on /readyz 200); the cluster is ready once every node's
 * GET /api/admin/cluster shows every member owning partitions, none unowned and a coordinator — the test the cluster
 * integration tests use — with the same routes version on every node, unchanged for a moment (waitSettled).
 * stop() stops every node, then deletes the cluster's Redis keys (SCAN + UNLINK of `<name>:*`), also on Ctrl-C.
 */
export interface ClusterMember {
  nodeId: string;
  partitions: number;
}

export interface ClusterStatus {
  /** Partition count of the cluster. */
  partitions: number;
  coordinator: string | null;
  routesVersion: number;
  unowned: number;
  members: ClusterMember[];
}

export interface PartitionMove {
  partition: number;
  from: string;
  to: string;
  epoch: number;
  pauseMs: number;
}

export interface RunningCluster {
  /** CLUSTER_NAME: the nodes' Redis keys are `<name>:…`. */
  name: string;
  /** node-1 … node-N, in order. */
  nodes: RunningServer[];
  /** GET /api/admin/cluster through node `via` (default the first). */
  status(via?: number): Promise<ClusterStatus>;
  /** Partition → owning node id, from GET /api/admin/partitions (PostgreSQL's ownership rows). */
  owners(): Promise<Map<number, string>>;
  /** POST /api/admin/partitions/:p/move through the first node; throws with the answer unless it is 200. */
  move(partition: number, to: string): Promise<PartitionMove>;
  /** Partitions moved through move() so far: an ownership check after the run expects exactly these to differ. */
  readonly moved: ReadonlySet<number>;
  stop(): Promise<void>;
}

export interface ClusterOptions {
  nodes: number;
  databaseUrl: string;
  redisUrl: string;
  adminToken: string;
  /** Knobs and scenario settings, passed to every node. */
  env: Record<string, string>;
}

export async function startCluster(opts: ClusterOptions): Promise<RunningCluster> {
  if (!Number.isInteger(opts.nodes) || opts.nodes < 2 || opts.nodes > benchLimits.clusterNodesMax) {
    throw new Error(`startCluster: nodes must be 2…${benchLimits.clusterNodesMax}, got ${opts.nodes} (one node runs alone: startServer)`);
  }
  assertNotInterrupted();
  const name = `bo-bench-${randomBytes(6).toString('hex')}`;
  // The nodes authenticate each other with it (CLUSTER_SECRET); a fresh one per cluster.
  const secret = randomBytes(24).toString('base64url');
  const dropKeys = () => dropRedisPrefix(opts.redisUrl, `${name}:`).then(() => undefined);
  const forget = onInterrupt(dropKeys);
  const nodes: RunningServer[] = [];
  const stopNodes = () => Promise.allSettled(nodes.map((n) => n.stop()));
  const ids = Array.from({ length: opts.nodes }, (_, i) => `node-${i + 1}`);
  // In parallel, as test/support/cluster-harness.ts starts its nodes: the nodes serialise their migrations and
  // partition claims themselves, and the assignment settles once every node is a member.
  try {
    const started = await Promise.allSettled(
      ids.map((nodeId) => startServer({ kind: 'boxoffice', databaseUrl: opts.databaseUrl, redisUrl: opts.redisUrl, redisKeyPrefix: '', adminToken: opts.adminToken, env: opts.env, cluster: { name, nodeId, secret } })),
    );
    for (const s of started) if (s.status === 'fulfilled') nodes.push(s.value);
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
    await waitSettled(nodes, opts.adminToken);
  } catch (err) {
    await stopNodes();
    await dropKeys().catch(() => {});
    forget();
    throw new Error(`cluster ${name}: ${(err as Error).message}`);
  }

  const admin = (via: number, method: string, path: string, body?: unknown) =>
    requestJson(method, `${nodes[via]!.baseUrl}${path}`, { headers: { authorization: `Bearer ${opts.adminToken}` }, ...(body === undefined ? {} : { body }) });
  const moved = new Set<number>();
  let stopped = false;
  return {
    name,
    nodes,
    moved,
    status: (via = 0) => readStatus(nodes[via]!, opts.adminToken),
    async owners() {
      const r = await admin(0, 'GET', '/api/admin/partitions');
      if (r.status !== 200) throw new Error(`GET /api/admin/partitions: ${r.status} ${r.text.slice(0, 300)}`);
      return new Map((r.body.partitions as Array<{ partition: number; nodeId: string }>).map((p) => [p.partition, p.nodeId]));
    },
    async move(partition, to) {
      moved.add(partition);
      const r = await admin(0, 'POST', `/api/admin/partitions/${partition}/move`, { to });
      if (r.status !== 200) throw new Error(`POST /api/admin/partitions/${partition}/move {to: ${to}}: ${r.status} ${r.text.slice(0, 300)}`);
      return r.body as PartitionMove;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      const failed = (await stopNodes()).filter((s): s is PromiseRejectedResult => s.status === 'rejected');
      try {
        await dropKeys();
      } finally {
        forget();
      }
      if (failed.length > 0) throw new Error(`stopping ${failed.length} nodes failed: ${String(failed[0]!.reason)}`);
    },
  };
}

async function readStatus(node: RunningServer, adminToken: string): Promise<ClusterStatus> {
  const r = await requestJson('GET', `${node.baseUrl}/api/admin/cluster`, { headers: { authorization: `Bearer ${adminToken}` } });
  if (r.status !== 200) throw new Error(`GET /api/admin/cluster on ${node.nodeId}: ${r.status} ${r.text.slice(0, 300)}`);
  return r.body as ClusterStatus;
}

/** Whether `s` shows `n` members, each owning partitions, none unowned, and a coordinator. */
export const isSettled = (s: ClusterStatus, n: number): boolean =>
  s.members.length === n && s.unowned === 0 && s.coordinator !== null && s.members.every((m) => m.partitions > 0);

/**
 * Polls every node until each one's view is settled, they agree on the routing table's version, and nothing changed
 * for clusterSettleStableMs: the member list and ownership counts come from PostgreSQL, the routing table from Redis,
 * and a node's routes can trail its ownership rows by an update (seen: routes v1 → v2 a moment after the counts).
 */
async function waitSettled(nodes: RunningServer[], adminToken: string): Promise<void> {
  const deadline = Date.now() + benchLimits.clusterSettleMsMax;
  let last = 'no answer yet';
  let stable: { signature: string; sinceMs: number } | null = null;
  while (Date.now() < deadline) {
    assertNotInterrupted();
    const died = nodes.find((n) => n.exitDescription() !== null);
    if (died) throw new Error(`${died.nodeId} ${died.exitDescription()} while the cluster settled`);
    try {
      const views = await Promise.all(nodes.map((n) => readStatus(n, adminToken)));
      last = views.map((v, i) => `${nodes[i]!.nodeId}: ${describeStatus(v)}`).join('; ');
      const settled = views.every((v) => isSettled(v, nodes.length)) && new Set(views.map((v) => v.routesVersion)).size === 1;
      const sameAsBefore: boolean = settled && stable !== null && stable.signature === last;
      if (sameAsBefore && Date.now() - stable!.sinceMs >= benchLimits.clusterSettleStableMs) return;
      if (!sameAsBefore) stable = settled ? { signature: last, sinceMs: Date.now() } : null;
    } catch (err) {
      last = (err as Error).message;
      stable = null;
    }
    await new Promise((resolve) => setTimeout(resolve, benchLimits.clusterSettlePollMs));
  }
  throw new Error(`not settled within clusterSettleMsMax (${benchLimits.clusterSettleMsMax} ms); last seen: ${last}`);
}

export const describeStatus = (s: ClusterStatus): string =>
  `${s.members.map((m) => `${m.nodeId} ${m.partitions}`).join(', ')} of ${s.partitions} partitions; unowned ${s.unowned}; coordinator ${s.coordinator ?? 'none'}; routes v${s.routesVersion}`;
