import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { MoveError, type PartitionHost } from '../actors/partition-host.js';
import { AdminError, type AdminOp, type NodeStatus, type PartitionRow } from '../actors/topology.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config/config.js';
import { clusterLimits } from '../config/limits.js';
import { partitionOf } from '../domain/entities.js';
import type { SqlClient } from '../persistence/sql.js';
import type { ZodType } from 'zod';
import type { ClusterLink, PeerHandler, PeerMessage } from './cluster-link.js';
import type { AcquireReason } from '../metrics/business-counters.js';
import { acquireMessage, acquireReasonOf, adminMessage, partitionsMessage, servedMessage } from './peer-schemas.js';
import { Coordinator, loadOverrides } from './coordinator.js';
import { readCoordinator } from './coordinator-lease.js';
import { Membership, type MemberInfo } from './membership.js';
import { openClusterRedis } from './redis-client.js';
import { RouteWaiters } from './route-waiters.js';
import { readOwnerRoutes, RoutingTable, type Route } from './routing-table.js';
import { PeerPool, startTransportServer, type TransportServer } from './transport.js';

type AcquireMessage = PeerMessage & { t: 'acquire'; partitions: number[]; reason?: string };
type ReleaseMessage = PeerMessage & { t: 'release'; partitions: number[] };
type AdminMessage = PeerMessage & { t: 'admin'; op: AdminOp };

export interface ClusterRuntimeDeps {
  config: Config;
  sql: SqlClient;
  partitions: number;
  host: PartitionHost;
  clock: Clock;
  log: Logger;
  /** Counts a connection refused by the handshake (boxoffice_cluster_auth_failures_total). */
  countAuthFailure?: () => void;
}

/** What `start` connects: Redis, the routing table cached from it, and the transport server peers call. */
interface Joined {
  redis: Redis;
  routing: RoutingTable;
  server: TransportServer;
}

/**
 * A node's part in the cluster (issue 4): it registers in Redis (membership), keeps the routing table cached,
 * answers its peers over TCP, takes part in the coordinator's lease, and is the `ClusterLink` the rest of the node
 * uses: which partitions this node serves, where the others are, waiting for moves and routes, and messages to
 * peers. Peer messages are dispatched from a table keyed by message type; the owner proxies, the sold-out gossip and
 * the edge's forwarding register their own types. Nothing here knows HTTP.
 */
export class ClusterRuntime implements ClusterLink {
  readonly nodeId: string;
  readonly partitions: number;
  readonly clock: Clock;
  readonly coordinator: Coordinator;
  private readonly pool: PeerPool;
  private readonly waiters: RouteWaiters;
  private readonly handlers = new Map<string, { schema: ZodType; handler: PeerHandler<PeerMessage> }>();
  private joined: Joined | null = null;
  private membership: Membership | null = null;
  private closed = false;
  /** Peers may call as soon as this node is a member; their messages wait (within their timeout) for the start. */
  private readonly ready: Promise<void>;
  private markReady!: () => void;

  constructor(private readonly deps: ClusterRuntimeDeps) {
    this.nodeId = deps.config.nodeId;
    this.partitions = deps.partitions;
    this.clock = deps.clock;
    this.pool = new PeerPool(this.nodeId, { secret: deps.config.clusterSecret! });
    this.waiters = new RouteWaiters(deps.clock);
    this.ready = new Promise<void>((resolve) => (this.markReady = resolve));
    this.coordinator = new Coordinator({
      sql: deps.sql,
      databaseUrl: deps.config.databaseUrl!,
      nodeId: this.nodeId,
      partitions: deps.partitions,
      memberTtlMs: deps.config.memberTtlMs,
      members: () => this.membership?.members() ?? [],
      rpc: (node, msg, timeoutMs) => (node === this.nodeId ? this.dispatch(msg as PeerMessage, node) : this.pool.request(node, msg, timeoutMs)),
      publish: (routes) => this.publish(routes),
      log: deps.log,
      clock: deps.clock,
    });
    this.onPeerMessage<AcquireMessage>('acquire', acquireMessage, (msg) => this.onAcquire(msg.partitions, acquireReasonOf(msg.reason)));
    this.onPeerMessage<ReleaseMessage>('release', partitionsMessage('release'), (msg) => this.onRelease(msg.partitions));
    this.onPeerMessage<AdminMessage>('admin', adminMessage, (msg) => this.onAdmin(msg.op));
    this.onPeerMessage<PeerMessage>('served', servedMessage, async () => ({ partitions: deps.host.heldPartitions() }));
  }

  /**
   * Joins the cluster: routing table, transport server, then the partitions this node owned before a restart
   * (PostgreSQL still names it: it takes them back with an epoch bump), then membership and the coordinator lease.
   */
  async start(): Promise<void> {
    const { config, log } = this.deps;
    const prefix = `${config.clusterName}:`;
    const onRedisError = this.redisErrorLogger();
    const redis = openClusterRedis(config.redisUrl!, onRedisError);
    const routing = await RoutingTable.open({ redis, keyPrefix: prefix, sql: this.deps.sql, onError: onRedisError });
    const server = await startTransportServer({
      selfId: this.nodeId,
      secret: config.clusterSecret!,
      host: config.nodeHost,
      port: config.nodePort,
      handler: (msg, from) => this.ready.then(() => this.dispatch(msg as PeerMessage, from)),
      onConnectionError: (err, from) => log.warn({ err: err.message, from }, 'transport connection error'),
      onAuthFailure: (reason, remote) => {
        log.warn({ reason, remote }, 'a connection to the node port failed authentication; closed, nothing executed');
        this.deps.countAuthFailure?.();
      },
    });
    this.joined = { redis, routing, server };
    const mine = (await readOwnerRoutes(this.deps.sql)).filter((r) => r.nodeId === this.nodeId).map((r) => r.partition);
    if (mine.length > 0) await this.onAcquire(mine, 'start');
    const membership = await Membership.start({
      redis,
      keyPrefix: prefix,
      // Peers connect where this node says: NODE_ADVERTISE_PORT when something forwards it to the port listened on.
      self: { nodeId: this.nodeId, host: config.nodeHost, port: config.nodeAdvertisePort || server.port, startedAt: this.clock.now() },
      ttlMs: config.memberTtlMs,
      pollIntervalMs: Math.max(50, Math.floor(config.memberTtlMs / 6)),
      onError: (err) => {
        onRedisError(err);
        this.coordinator.noteMembershipError();
      },
    });
    const setPeers = (members: MemberInfo[]) => this.pool.setPeers(new Map(members.map((m) => [m.nodeId, { host: m.host, port: m.port }])));
    this.membership = membership;
    setPeers(membership.members());
    membership.on('change', (members) => {
      setPeers(members);
      this.coordinator.kick();
    });
    routing.on('change', (routes) => this.onRoutes(routes));
    this.markReady();
    this.coordinator.start();
    log.info({ node: this.nodeId, transport: `${config.nodeHost}:${server.port}`, cluster: config.clusterName, partitions: mine.length }, 'joined the cluster');
  }

  partitionOf(entity: string): number {
    return partitionOf(entity, this.partitions);
  }

  serves(partition: number, checkouts = false): boolean {
    return checkouts ? this.deps.host.servesCheckouts(partition) : this.deps.host.owns(partition);
  }

  motion(partition: number, checkouts = false): Promise<void> | undefined {
    return this.deps.host.motion(partition, checkouts);
  }

  ownerOf(partition: number): Route | null {
    return this.joined?.routing.lookup(partition) ?? null;
  }

  routeChange(partition: number, epoch: number, deadlineMs: number): Promise<boolean> {
    const current = this.ownerOf(partition);
    if ((current !== null && current.epoch > epoch) || this.deps.host.owns(partition)) return Promise.resolve(true);
    if (this.closed) return Promise.resolve(false);
    return this.waiters.wait(partition, epoch, deadlineMs);
  }

  request(node: string, message: PeerMessage, timeoutMs: number): Promise<unknown> {
    return this.pool.request(node, message, timeoutMs);
  }

  peerIds(): string[] {
    return this.pool.peerIds();
  }

  onPeerMessage<M extends PeerMessage>(type: M['t'], schema: ZodType, handler: PeerHandler<M>): void {
    if (this.handlers.has(type)) throw new Error(`a handler for peer messages of type ${type} exists already`);
    this.handlers.set(type, { schema, handler: handler as PeerHandler<PeerMessage> });
  }

  isCoordinator(): boolean {
    return this.coordinator.isLeader();
  }

  /** Runs an admin operation on the coordinator (here or on the node holding the lease). */
  async admin(op: AdminOp): Promise<unknown> {
    if (this.coordinator.isLeader()) return this.coordinator.run(op);
    const holder = await readCoordinator(this.deps.sql);
    if (holder === null || holder.nodeId === this.nodeId) throw new AdminError('COORDINATOR_UNAVAILABLE');
    let reply: { ok?: unknown; error?: { code: string; details?: Record<string, unknown> } };
    try {
      reply = (await this.pool.request(holder.nodeId, { t: 'admin', op } satisfies AdminMessage, clusterLimits.adminRpcTimeoutMs)) as typeof reply;
    } catch (err) {
      throw new AdminError('COORDINATOR_UNAVAILABLE', { coordinator: holder.nodeId, reason: (err as Error).message });
    }
    if (reply.error) throw new AdminError(reply.error.code as AdminError['code'], reply.error.details);
    return reply.ok;
  }

  /** `boxoffice status`: members, their partitions, the coordinator. */
  async status(): Promise<NodeStatus> {
    const [owners, overrides, holder] = await Promise.all([readOwnerRoutes(this.deps.sql), loadOverrides(this.deps.sql), readCoordinator(this.deps.sql)]);
    const members = this.membership?.members() ?? [];
    const live = new Set(members.map((m) => m.nodeId));
    const count = new Map<string, number>();
    for (const r of owners) count.set(r.nodeId, (count.get(r.nodeId) ?? 0) + 1);
    const isolated = new Map<string, number[]>();
    for (const [p, n] of overrides.isolations) isolated.set(n, [...(isolated.get(n) ?? []), p]);
    return {
      nodeId: this.nodeId,
      mode: 'cluster',
      partitions: this.partitions,
      coordinator: holder?.nodeId ?? null,
      routesVersion: this.joined?.routing.version ?? 0,
      unowned: this.partitions - owners.filter((r) => live.has(r.nodeId)).length,
      members: members.map((m) => ({
        nodeId: m.nodeId,
        host: m.host,
        port: m.port,
        startedAt: m.startedAt,
        partitions: count.get(m.nodeId) ?? 0,
        drained: overrides.drained.has(m.nodeId),
        isolated: (isolated.get(m.nodeId) ?? []).sort((a, b) => a - b),
      })),
    };
  }

  /** `boxoffice partitions list`: PostgreSQL's ownership rows with the operator's overrides. */
  async partitionList(node: string | null): Promise<{ partitions: PartitionRow[] }> {
    const [owners, overrides] = await Promise.all([readOwnerRoutes(this.deps.sql), loadOverrides(this.deps.sql)]);
    return {
      partitions: owners
        .filter((r) => node === null || r.nodeId === node)
        .map((r) => ({ partition: r.partition, nodeId: r.nodeId, epoch: r.epoch, pinned: overrides.pins.has(r.partition), isolated: overrides.isolations.has(r.partition) })),
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.waiters.close();
    await this.coordinator.stop();
    await this.membership?.close();
    await this.joined?.server.close();
    await this.pool.close();
    await this.joined?.routing.close();
    this.joined?.redis.disconnect();
  }

  /** Runs a message's handler once its shape is checked; an unknown type or a malformed message runs nothing. */
  private async dispatch(msg: PeerMessage, from: string): Promise<unknown> {
    const type = typeof msg === 'object' && msg !== null && typeof msg.t === 'string' ? msg.t : null;
    const entry = type === null ? undefined : this.handlers.get(type);
    if (entry === undefined) throw Object.assign(new Error(`unknown message from ${from}`), { code: 'UNKNOWN_MESSAGE' });
    const checked = entry.schema.safeParse(msg);
    if (!checked.success) {
      this.deps.log.warn({ from, type, issues: checked.error.issues.slice(0, 5) }, 'a malformed peer message was refused');
      throw Object.assign(new Error(`malformed ${type} message from ${from}`), { code: 'MALFORMED_MESSAGE' });
    }
    return entry.handler(checked.data as PeerMessage, from);
  }

  private async onAcquire(partitions: number[], reason: AcquireReason): Promise<{ claims: Route[] }> {
    const claims = await this.deps.host.acquire(partitions, reason);
    const routes = claims.map((c) => ({ partition: c.partition, nodeId: this.nodeId, epoch: c.epoch }));
    await this.publish(routes);
    for (const c of claims) this.waiters.announce(c.partition, Infinity);
    return { claims: routes };
  }

  private async onRelease(partitions: number[]): Promise<unknown> {
    try {
      return { released: await this.deps.host.release(partitions, clusterLimits.releaseIdleMsMax) };
    } catch (err) {
      if (err instanceof MoveError) return { error: { code: 'MOVE_FAILED', details: { partitions: err.partitions, reason: err.message } } };
      throw err;
    }
  }

  private async onAdmin(op: AdminOp): Promise<unknown> {
    if (!this.coordinator.isLeader()) return { error: { code: 'COORDINATOR_UNAVAILABLE', details: { reason: `${this.nodeId} does not hold the lease` } } };
    try {
      return { ok: await this.coordinator.run(op) };
    } catch (err) {
      if (err instanceof AdminError) return { error: { code: err.code, details: err.details } };
      throw err;
    }
  }

  private onRoutes(routes: Route[]): void {
    const stale: number[] = [];
    for (const r of routes) {
      const mine = this.deps.host.epochOf(r.partition);
      if (r.nodeId !== this.nodeId && mine !== undefined && mine < r.epoch) stale.push(r.partition);
      this.waiters.announce(r.partition, r.epoch);
    }
    if (stale.length > 0) this.deps.host.drop(stale, 'a newer owner was announced');
  }

  /** Routes go to Redis (and the local cache); with Redis down, only to the local cache (the coordinator republishes). */
  private async publish(routes: Route[]): Promise<void> {
    if (routes.length === 0 || this.joined === null) return;
    try {
      await this.joined.routing.publish(routes);
    } catch (err) {
      this.joined.routing.learn(routes);
      this.deps.log.warn({ err: (err as Error).message, routes: routes.length }, 'routes not published (redis down); the coordinator publishes them again');
    }
  }

  /** Logs Redis errors at most once per interval: routing keeps serving known routes meanwhile. */
  private redisErrorLogger(): (err: Error) => void {
    let lastMs = 0;
    return (err) => {
      const now = this.clock.now();
      if (now - lastMs > clusterLimits.redisErrorLogIntervalMs) this.deps.log.warn({ err: err.message }, 'redis error (routing keeps serving known routes)');
      lastMs = now;
    };
  }
}
