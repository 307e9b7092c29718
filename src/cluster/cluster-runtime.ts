import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { CartService } from '../actors/cart-service.js';
import type { Catalog } from '../actors/catalog.js';
import type { InventoryRegistry } from '../actors/inventory-registry.js';
import { MoveError, type PartitionHost } from '../actors/partition-host.js';
import type { Config } from '../config/config.js';
import type { InventoryCommand, InventoryReply, InventoryView } from '../domain/inventory.js';
import type { PromoUsage, Promotion } from '../domain/promotions.js';
import type { PromoLedger, PromoUses } from '../actors/promo-ledger.js';
import { errorResponse } from '../http/error-response.js';
import type { HttpRequest, HttpResponse } from '../http/request.js';
import type { Router } from '../http/router.js';
import type { SqlClient } from '../persistence/sql.js';
import { AdminError, Coordinator, loadOverrides, type AdminOp } from './coordinator.js';
import { readCoordinator } from './coordinator-lease.js';
import { settledWithin } from './deadline.js';
import { Membership, type MemberInfo } from './membership.js';
import { cartPartition, isCheckoutEntity, partitionOf, promoPartition, skuPartition } from '../domain/entities.js';
import { openClusterRedis } from './redis-client.js';
import { readOwnerRoutes, RoutingTable, type Route } from './routing-table.js';
import { PeerPool, startTransportServer, TransportError, type TransportServer } from './transport.js';

/**
 * A node's part in the cluster (issue 4): it registers in Redis (membership), keeps the routing table cached,
 * answers its peers over TCP, and decides for every request whether this node serves it or its owner does.
 *
 * Requests are placed by entity: a SKU, a cart, a checkout's idempotency key and an order each hash to a partition.
 * A request whose partition is served here runs here; otherwise it is forwarded whole to the owner named by the
 * routing table (the owner checks again; at most `forwardHopsMax` hops). A partition in motion, or without a known
 * owner, makes the request wait (bounded) for the move to end or the route to change; past the bound it gets
 * 503 PARTITION_UNAVAILABLE, which clients retry (checkouts with the same Idempotency-Key, so never twice).
 *
 * A checkout's saga reserves SKUs wherever they live: inventory commands to a SKU served elsewhere go to its owner
 * as `inv` messages (every inventory command is idempotent by hold or order id, so a retry after an unknown
 * outcome is safe).
 */
export const clusterLimits = {
  /** Longest a request waits for a partition in motion or an unknown route. */
  routeWaitMs: 5_000,
  /** Requests waiting for routes at once; more get 503 at once. */
  routeWaitersMax: 10_000,
  /** A forwarded HTTP request (a checkout may wait for the payment provider). */
  forwardTimeoutMs: 30_000,
  /** Inventory commands to another node, retries included. */
  inventoryTimeoutMs: 10_000,
  forwardHopsMax: 2,
  /** A release gives up when the partition's checkouts have not finished within this. */
  releaseIdleMsMax: 10_000,
  /** Admin operations forwarded to the coordinator (a drain moves many partitions). */
  adminRpcTimeoutMs: 60_000,
  broadcastTimeoutMs: 5_000,
  /** How often a node tells its peers which of its SKUs are sold out (they answer "sold out" from that). */
  soldOutGossipMs: 100,
  /** A peer forgets a sold-out mark it has not heard again for this long (the owner died or stopped telling). */
  soldOutMarkTtlMs: 500,
  /** SKUs per sold-out message, and marks kept per node. */
  soldOutSkusPerMessageMax: 10_000,
  soldOutMarksMax: 100_000,
} as const;

/** Names the hops a forwarded request has taken (set by the receiving node, read by placement). */
export const hopsHeader = 'x-boxoffice-hops';

type PeerMsg =
  | { t: 'http'; m: string; p: string; q: string; h: Record<string, string>; b: unknown }
  | { t: 'inv'; sku: string; cmd: InventoryCommand }
  | { t: 'cart.checkedOut'; cartId: string }
  | { t: 'promo'; op: 'usage'; code: string; customerKey: string }
  | { t: 'promo'; op: 'reserve'; promo: Promotion; customerKey: string }
  | { t: 'promo'; op: 'release' | 'force'; code: string; customerKey: string }
  | { t: 'catalog'; skus: string[] }
  | { t: 'soldout'; skus: string[] }
  | { t: 'acquire'; partitions: number[] }
  | { t: 'release'; partitions: number[] }
  | { t: 'admin'; op: AdminOp };

export interface ClusterDeps {
  config: Config;
  sql: SqlClient;
  partitions: number;
  host: PartitionHost;
  inventory: InventoryRegistry;
  catalog: Catalog;
  carts: CartService;
  /** The ledger of the promotions whose partition this node owns. */
  promos: PromoLedger;
  log: Logger;
}

/** Usage of promotions owned elsewhere, as last read from their owner (for pricing; the reserve is on the owner). */
const remoteUsageEntriesMax = 10_000;

interface RouteWaiter {
  epoch: number;
  resolve: (changed: boolean) => void;
}

export class ClusterRuntime {
  readonly nodeId: string;
  private router: Router | null = null;
  private readonly waiters = new Map<number, RouteWaiter[]>();
  private waiterCount = 0;
  private closed = false;
  /** SKUs owned elsewhere that their owner last said were sold out: sku → { from, until }. */
  private readonly soldOutMarks = new Map<string, { from: string; until: number; view: InventoryView }>();
  private readonly soldOutFrom = new Map<string, Set<string>>();
  private gossipTimer: NodeJS.Timeout | null = null;
  private gossiping = false;
  private lastGossipEmpty = true;

  private constructor(
    private readonly deps: ClusterDeps,
    private readonly redis: Redis,
    private readonly routing: RoutingTable,
    private readonly server: TransportServer,
    private readonly membership: Membership,
    private readonly pool: PeerPool,
    readonly coordinator: Coordinator,
  ) {
    this.nodeId = deps.config.nodeId;
  }

  /**
   * Joins the cluster: routing table, transport server, then the partitions this node owned before a restart
   * (PostgreSQL still names it: it takes them back with an epoch bump), then membership and the coordinator lease.
   */
  static async start(deps: ClusterDeps): Promise<ClusterRuntime> {
    const { config, log } = deps;
    const prefix = `${config.clusterName}:`;
    let lastRedisError = 0;
    const onRedisError = (err: Error) => {
      const now = Date.now();
      if (now - lastRedisError > 5_000) log.warn({ err: err.message }, 'redis error (routing keeps serving known routes)');
      lastRedisError = now;
    };
    const redis = openClusterRedis(config.redisUrl!, onRedisError);
    const routing = await RoutingTable.open({ redis, keyPrefix: prefix, sql: deps.sql, onError: onRedisError });
    let self: ClusterRuntime | null = null;
    // Peers may call as soon as this node is a member; their requests wait (within their timeout) for the start.
    let started!: (runtime: ClusterRuntime) => void;
    const ready = new Promise<ClusterRuntime>((r) => (started = r));
    const server = await startTransportServer({
      host: config.nodeHost,
      port: config.nodePort,
      handler: (msg, from) => ready.then((runtime) => runtime.handle(msg as PeerMsg, from)),
      onConnectionError: (err, from) => log.warn({ err: err.message, from }, 'transport connection error'),
    });
    const pool = new PeerPool(config.nodeId);
    let coordinator: Coordinator | null = null;
    const mine = (await readOwnerRoutes(deps.sql)).filter((r) => r.nodeId === config.nodeId).map((r) => r.partition);
    if (mine.length > 0) {
      const claims = await deps.host.acquire(mine);
      await publishOrLearn(routing, claims.map((c) => ({ partition: c.partition, nodeId: config.nodeId, epoch: c.epoch })), log);
    }
    const membership = await Membership.start({
      redis,
      keyPrefix: prefix,
      self: { nodeId: config.nodeId, host: config.nodeHost, port: server.port, startedAt: Date.now() },
      ttlMs: config.memberTtlMs,
      pollIntervalMs: Math.max(50, Math.floor(config.memberTtlMs / 6)),
      onError: (err) => {
        onRedisError(err);
        coordinator?.noteMembershipError();
      },
    });
    const setPeers = (members: MemberInfo[]) => pool.setPeers(new Map(members.map((m) => [m.nodeId, { host: m.host, port: m.port }])));
    setPeers(membership.members());
    const leader = new Coordinator({
      sql: deps.sql,
      databaseUrl: config.databaseUrl!,
      nodeId: config.nodeId,
      partitions: deps.partitions,
      memberTtlMs: config.memberTtlMs,
      members: () => membership.members(),
      rpc: (node, msg, timeoutMs) => (node === config.nodeId ? self!.handle(msg as PeerMsg, node) : pool.request(node, msg, timeoutMs)),
      publish: (routes) => publishOrLearn(routing, routes, log),
      log,
    });
    coordinator = leader;
    self = new ClusterRuntime(deps, redis, routing, server, membership, pool, leader);
    const runtime = self;
    membership.on('change', (members) => {
      setPeers(members);
      leader.kick();
    });
    routing.on('change', (routes) => runtime.onRoutes(routes));
    started(runtime);
    runtime.startGossip();
    leader.start();
    log.info({ node: config.nodeId, transport: `${config.nodeHost}:${server.port}`, cluster: config.clusterName, partitions: mine.length }, 'joined the cluster');
    return runtime;
  }

  /**
   * What this node knows of a SKU served elsewhere: sold out (its owner said so within the last gossip round, with
   * no write in flight there), or null (unknown: ask the owner). Lets a checkout for a sold-out SKU be answered from
   * memory on any node, without a hop to the SKU's owner and without writing anything. A restock or an expired hold
   * is seen by peers within one gossip interval (100 ms); until then they may still answer "sold out".
   */
  remoteView(sku: string): InventoryView | null {
    const mark = this.soldOutMarks.get(sku);
    return mark === undefined || mark.until < Date.now() ? null : mark.view;
  }

  private startGossip(): void {
    this.gossipTimer = setInterval(() => this.gossip(), clusterLimits.soldOutGossipMs);
    this.gossipTimer.unref();
  }

  /** Sends the sold-out SKUs of this node to every peer (the complete list each time; skipped while one is in flight). */
  private gossip(): void {
    if (this.gossiping || this.closed) return;
    const skus = this.deps.inventory.soldOutActive(clusterLimits.soldOutSkusPerMessageMax);
    if (skus.length === 0 && this.lastGossipEmpty) return;
    this.lastGossipEmpty = skus.length === 0;
    this.gossiping = true;
    const msg: PeerMsg = { t: 'soldout', skus };
    void Promise.allSettled(this.pool.peerIds().map((peer) => this.pool.request(peer, msg, clusterLimits.broadcastTimeoutMs))).finally(() => (this.gossiping = false));
  }

  /** A peer's complete list of its sold-out SKUs: marks it no longer lists are removed at once. */
  private onSoldOut(from: string, skus: string[]): void {
    const until = Date.now() + clusterLimits.soldOutMarkTtlMs;
    const now = new Set(skus);
    for (const sku of this.soldOutFrom.get(from) ?? []) {
      if (!now.has(sku) && this.soldOutMarks.get(sku)?.from === from) this.soldOutMarks.delete(sku);
    }
    this.soldOutFrom.set(from, now);
    for (const sku of skus) {
      const view = this.soldOutMarks.get(sku)?.view ?? { sku: sku as InventoryView['sku'], onHand: 0, available: 0, held: 0, sold: 0, pendingWrites: 0 };
      this.soldOutMarks.delete(sku);
      this.soldOutMarks.set(sku, { from, until, view });
    }
    while (this.soldOutMarks.size > clusterLimits.soldOutMarksMax) this.soldOutMarks.delete(this.soldOutMarks.keys().next().value!);
  }

  /** Wires the HTTP router: forwarded requests run through it. */
  serve(router: Router): void {
    this.router = router;
  }

  /**
   * Placement of a request for `entity`: null when this node serves it now (the fast path, synchronous), else
   * the owner's response, or null once a move brought the partition here.
   */
  place(entity: string, req: HttpRequest): Promise<HttpResponse | null> | null {
    const p = partitionOf(entity, this.deps.partitions);
    const checkout = isCheckoutEntity(entity);
    if (checkout ? this.deps.host.servesCheckouts(p) : this.deps.host.owns(p)) return null;
    return this.viaOwner(p, req, checkout);
  }

  /** Inventory of `sku`, wherever it is served. */
  inventoryOf(sku: string): { ask(cmd: InventoryCommand): Promise<InventoryReply> } {
    return { ask: (cmd) => this.askInventory(sku, cmd) };
  }

  /**
   * Promotion usage on the node owning each promotion's partition, so total and per-customer limits hold across
   * nodes. A reserve whose outcome is unknown is retried (at worst one use too many is counted: a refusal, never an
   * overrun); a release is sent once (a lost release also errs toward refusing).
   */
  readonly promoUses: PromoUses = (() => {
    const remote = new Map<string, PromoUsage>();
    const partition = (code: string) => promoPartition(code, this.deps.partitions);
    const send = (code: string, msg: PeerMsg, idempotent: boolean) =>
      this.onOwner(partition(code), msg, async () => this.handle(msg, this.nodeId).then((r) => (r as { r: unknown }).r), clusterLimits.inventoryTimeoutMs, idempotent);
    const fireAndLog = (p: Promise<unknown>, what: string) => void p.catch((err: unknown) => this.deps.log.warn({ err: (err as Error).message }, `promotion ${what} not delivered`));
    return {
      prepare: async (code, customerKey) => {
        if (this.deps.host.owns(partition(code))) return this.deps.promos.prepare(code, customerKey);
        const usage = (await send(code, { t: 'promo', op: 'usage', code, customerKey }, true)) as PromoUsage;
        remote.delete(`${code}\u0000${customerKey}`);
        remote.set(`${code}\u0000${customerKey}`, usage);
        if (remote.size > remoteUsageEntriesMax) remote.delete(remote.keys().next().value!);
      },
      usage: (code, customerKey) =>
        this.deps.host.owns(partition(code)) ? this.deps.promos.usage(code, customerKey) : (remote.get(`${code}\u0000${customerKey}`) ?? { total: 0, byCustomer: 0 }),
      reserve: async (promo, customerKey) => (await send(promo.code, { t: 'promo', op: 'reserve', promo, customerKey }, true)) as boolean,
      forceReserve: (code, customerKey) => fireAndLog(send(code, { t: 'promo', op: 'force', code, customerKey }, true), 'use'),
      release: (code, customerKey) => fireAndLog(send(code, { t: 'promo', op: 'release', code, customerKey }, false), 'release'),
    };
  })();

  /** After an order: the cart is marked on its owner (which serializes the cart's changes). */
  async markCartCheckedOut(cartId: string): Promise<void> {
    const p = cartPartition(cartId, this.deps.partitions);
    await this.onOwner(p, { t: 'cart.checkedOut', cartId }, () => this.deps.carts.markCheckedOut(cartId), clusterLimits.inventoryTimeoutMs);
  }

  /** Tells every live peer that these products changed (they read them again). Waits, bounded. */
  async broadcastProducts(skus: string[]): Promise<void> {
    const peers = this.pool.peerIds();
    await Promise.all(
      peers.map((peer) =>
        this.pool.request(peer, { t: 'catalog', skus } satisfies PeerMsg, clusterLimits.broadcastTimeoutMs).catch((err: unknown) =>
          this.deps.log.warn({ err: (err as Error).message, peer, skus: skus.length }, 'product change not delivered; the peer reads it at its next start'),
        ),
      ),
    );
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
      reply = (await this.pool.request(holder.nodeId, { t: 'admin', op } satisfies PeerMsg, clusterLimits.adminRpcTimeoutMs)) as typeof reply;
    } catch (err) {
      throw new AdminError('COORDINATOR_UNAVAILABLE', { coordinator: holder.nodeId, reason: (err as Error).message });
    }
    if (reply.error) throw new AdminError(reply.error.code as AdminError['code'], reply.error.details);
    return reply.ok;
  }

  /** `boxoffice status`: members, their partitions, the coordinator. */
  async status(): Promise<unknown> {
    const [owners, overrides, holder] = await Promise.all([readOwnerRoutes(this.deps.sql), loadOverrides(this.deps.sql), readCoordinator(this.deps.sql)]);
    const members = this.membership.members();
    const live = new Set(members.map((m) => m.nodeId));
    const count = new Map<string, number>();
    for (const r of owners) count.set(r.nodeId, (count.get(r.nodeId) ?? 0) + 1);
    const isolated = new Map<string, number[]>();
    for (const [p, n] of overrides.isolations) isolated.set(n, [...(isolated.get(n) ?? []), p]);
    return {
      nodeId: this.nodeId,
      mode: 'cluster',
      partitions: this.deps.partitions,
      coordinator: holder?.nodeId ?? null,
      routesVersion: this.routing.version,
      unowned: this.deps.partitions - owners.filter((r) => live.has(r.nodeId)).length,
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
  async partitionList(node: string | null): Promise<unknown> {
    const [owners, overrides] = await Promise.all([readOwnerRoutes(this.deps.sql), loadOverrides(this.deps.sql)]);
    return {
      partitions: owners
        .filter((r) => node === null || r.nodeId === node)
        .map((r) => ({ partition: r.partition, nodeId: r.nodeId, epoch: r.epoch, pinned: overrides.pins.has(r.partition), isolated: overrides.isolations.has(r.partition) })),
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.gossipTimer !== null) clearInterval(this.gossipTimer);
    for (const list of this.waiters.values()) for (const w of list) w.resolve(false);
    this.waiters.clear();
    await this.coordinator.stop();
    await this.membership.close();
    await this.server.close();
    await this.pool.close();
    await this.routing.close();
    this.redis.disconnect();
  }

  private async viaOwner(p: number, req: HttpRequest, checkout: boolean): Promise<HttpResponse | null> {
    const hops = Number(req.headers[hopsHeader] ?? '0') || 0;
    const deadline = Date.now() + clusterLimits.routeWaitMs;
    for (;;) {
      const moving = this.deps.host.motion(p, checkout);
      if (moving !== undefined) {
        if (!(await settledWithin(moving, deadline - Date.now()))) return unavailable(p, 'the partition is still moving');
        continue;
      }
      if (checkout ? this.deps.host.servesCheckouts(p) : this.deps.host.owns(p)) return null;
      const route = this.routing.lookup(p);
      if (route !== null && route.nodeId !== this.nodeId) {
        if (hops >= clusterLimits.forwardHopsMax) return unavailable(p, 'the routes disagree; retry');
        try {
          return await this.forward(route.nodeId, req, hops + 1);
        } catch (err) {
          const delivered = !(err instanceof TransportError && err.outcome === 'not-delivered');
          if (delivered) return unavailable(p, 'the owner did not answer in time; the outcome is unknown', { owner: route.nodeId });
        }
      }
      if (!(await this.routeChange(p, route?.epoch ?? 0, deadline))) return unavailable(p, 'no reachable owner');
    }
  }

  private async forward(node: string, req: HttpRequest, hops: number): Promise<HttpResponse> {
    const h: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (k !== 'content-length' && k !== 'transfer-encoding' && k !== 'connection' && k !== 'host') h[k] = v;
    h[hopsHeader] = String(hops);
    const msg: PeerMsg = { t: 'http', m: req.method, p: req.path, q: req.query.toString(), h, b: req.body };
    const r = (await this.pool.request(node, msg, clusterLimits.forwardTimeoutMs)) as { s: number; b?: unknown; h?: Record<string, string> };
    const res: HttpResponse = { status: r.s };
    if (r.b !== undefined) res.body = r.b;
    if (r.h !== undefined) res.headers = r.h;
    return res;
  }

  private async askInventory(sku: string, cmd: InventoryCommand): Promise<InventoryReply> {
    const p = skuPartition(sku, this.deps.partitions);
    // A local reply that failed because the partition just left (a fenced write, a stopped actor) is retried on the
    // new owner, like a remote `moved`.
    return this.onOwner(p, { t: 'inv', sku, cmd }, () => this.deps.inventory.get(sku).ask(cmd), clusterLimits.inventoryTimeoutMs, true, (r) => !r.ok && !this.deps.host.owns(p));
  }

  /**
   * Runs `local` when this node serves `p`, else sends `msg` to the owner; retries through moves and failovers
   * until `timeoutMs`. Only for idempotent messages: a retry may repeat one whose outcome was unknown. Rejects
   * when no owner could be reached (the caller's saga runs again later).
   */
  private async onOwner<T>(p: number, msg: PeerMsg, local: () => Promise<T>, timeoutMs: number, idempotent = true, movedAway: (r: T) => boolean = () => false): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const moving = this.deps.host.motion(p);
      if (moving !== undefined) await settledWithin(moving, Math.max(0, deadline - Date.now()));
      else if (this.deps.host.owns(p)) {
        const r = await local();
        if (!movedAway(r) || Date.now() >= deadline) return r;
      } else {
        const route = this.routing.lookup(p);
        if (route !== null && route.nodeId !== this.nodeId) {
          try {
            const reply = (await this.pool.request(route.nodeId, msg, Math.max(1, deadline - Date.now()))) as { moved?: boolean; r?: T };
            if (!reply.moved) return reply.r as T;
          } catch (err) {
            if (!(err instanceof TransportError)) throw err;
            if (!idempotent && err.outcome !== 'not-delivered') throw err;
          }
        }
        // A stale or missing route: wait for a newer one, or a short while when the owner did not answer.
        const waitUntil = Math.min(deadline, Date.now() + 250);
        await this.routeChange(p, route?.epoch ?? 0, waitUntil);
      }
      if (Date.now() >= deadline) throw new Error(`partition ${p}: no reachable owner within ${timeoutMs} ms`);
    }
  }

  /** Resolves true when the route of `p` gets an epoch above `epoch` (or the partition arrives here). */
  private routeChange(p: number, epoch: number, deadline: number): Promise<boolean> {
    const current = this.routing.lookup(p);
    if ((current !== null && current.epoch > epoch) || this.deps.host.owns(p)) return Promise.resolve(true);
    const waitMs = deadline - Date.now();
    if (waitMs <= 0 || this.closed || this.waiterCount >= clusterLimits.routeWaitersMax) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const list = this.waiters.get(p) ?? [];
      this.waiters.set(p, list);
      this.waiterCount++;
      const waiter: RouteWaiter = {
        epoch,
        resolve: (changed) => {
          clearTimeout(timer);
          const i = list.indexOf(waiter);
          if (i >= 0) {
            list.splice(i, 1);
            this.waiterCount--;
          }
          if (list.length === 0 && this.waiters.get(p) === list) this.waiters.delete(p);
          resolve(changed);
        },
      };
      const timer = setTimeout(() => waiter.resolve(false), waitMs);
      list.push(waiter);
    });
  }

  private onRoutes(routes: Route[]): void {
    const stale: number[] = [];
    for (const r of routes) {
      const mine = this.deps.host.epochOf(r.partition);
      if (r.nodeId !== this.nodeId && mine !== undefined && mine < r.epoch) stale.push(r.partition);
      for (const w of [...(this.waiters.get(r.partition) ?? [])]) if (r.epoch > w.epoch) w.resolve(true);
    }
    if (stale.length > 0) this.deps.host.drop(stale, 'a newer owner was announced');
  }

  private async handle(msg: PeerMsg, from: string): Promise<unknown> {
    switch (msg.t) {
      case 'http':
        return this.serveForwarded(msg, from);
      case 'inv': {
        const p = skuPartition(msg.sku, this.deps.partitions);
        if (!(await this.servable(p))) return { moved: true };
        const r = await this.deps.inventory.get(msg.sku).ask(msg.cmd);
        return !r.ok && !this.deps.host.owns(p) ? { moved: true } : { r };
      }
      case 'cart.checkedOut': {
        const p = cartPartition(msg.cartId, this.deps.partitions);
        if (!(await this.servable(p))) return { moved: true };
        await this.deps.carts.markCheckedOut(msg.cartId);
        return { r: null };
      }
      case 'promo': {
        if (!(await this.servable(promoPartition(msg.op === 'reserve' ? msg.promo.code : msg.code, this.deps.partitions)))) return { moved: true };
        const ledger = this.deps.promos;
        switch (msg.op) {
          case 'usage':
            await ledger.prepare(msg.code, msg.customerKey);
            return { r: ledger.usage(msg.code, msg.customerKey) };
          case 'reserve':
            return { r: await ledger.reserve(msg.promo, msg.customerKey) };
          case 'force':
            ledger.forceReserve(msg.code, msg.customerKey);
            return { r: null };
          case 'release':
            ledger.release(msg.code, msg.customerKey);
            return { r: null };
        }
        break;
      }
      case 'soldout':
        this.onSoldOut(from, msg.skus);
        return { ok: true };
      case 'catalog':
        await this.deps.catalog.reload(msg.skus);
        return { ok: true };
      case 'acquire': {
        const claims = await this.deps.host.acquire(msg.partitions);
        const routes = claims.map((c) => ({ partition: c.partition, nodeId: this.nodeId, epoch: c.epoch }));
        await publishOrLearn(this.routing, routes, this.deps.log);
        for (const c of claims) for (const w of [...(this.waiters.get(c.partition) ?? [])]) w.resolve(true);
        return { claims: routes };
      }
      case 'release':
        try {
          return { released: await this.deps.host.release(msg.partitions, clusterLimits.releaseIdleMsMax) };
        } catch (err) {
          if (err instanceof MoveError) return { error: { code: 'MOVE_FAILED', details: { partitions: err.partitions, reason: err.message } } };
          throw err;
        }
      case 'admin':
        if (!this.coordinator.isLeader()) return { error: { code: 'COORDINATOR_UNAVAILABLE', details: { reason: `${this.nodeId} does not hold the lease` } } };
        try {
          return { ok: await this.coordinator.run(msg.op) };
        } catch (err) {
          if (err instanceof AdminError) return { error: { code: err.code, details: err.details } };
          throw err;
        }
      default:
        throw Object.assign(new Error(`unknown message from ${from}`), { code: 'UNKNOWN_MESSAGE' });
    }
  }

  /** Waits (bounded) while `p` is in motion here; true when this node serves it. */
  private async servable(p: number): Promise<boolean> {
    const moving = this.deps.host.motion(p);
    if (moving !== undefined) await settledWithin(moving, clusterLimits.routeWaitMs);
    return this.deps.host.owns(p);
  }

  private async serveForwarded(msg: Extract<PeerMsg, { t: 'http' }>, from: string): Promise<{ s: number; b?: unknown; h?: Record<string, string> }> {
    const match = this.router?.match(msg.m, msg.p);
    if (match === undefined || !('handler' in match)) return { s: 404, b: errorResponse('ROUTE_NOT_FOUND').body };
    const req: HttpRequest = { method: msg.m, path: msg.p, params: match.params, query: new URLSearchParams(msg.q), headers: msg.h, body: msg.b, rawBodyBytes: 0, remoteAddress: `peer:${from}` };
    let res: HttpResponse;
    try {
      res = await match.handler(req);
    } catch (err) {
      this.deps.log.error({ err, path: msg.p }, 'forwarded request failed');
      res = errorResponse('INTERNAL');
    }
    return { s: res.status, ...(res.body !== undefined ? { b: res.body } : {}), ...(res.headers ? { h: res.headers } : {}) };
  }
}

/** Routes go to Redis (and the local cache); with Redis down, only to the local cache (the coordinator republishes). */
async function publishOrLearn(routing: RoutingTable, routes: Route[], log: Logger): Promise<void> {
  if (routes.length === 0) return;
  try {
    await routing.publish(routes);
  } catch (err) {
    routing.learn(routes);
    log.warn({ err: (err as Error).message, routes: routes.length }, 'routes not published (redis down); the coordinator publishes them again');
  }
}

function unavailable(partition: number, reason: string, extra: Record<string, unknown> = {}): HttpResponse {
  return errorResponse('PARTITION_UNAVAILABLE', { partition, reason, ...extra }, { 'retry-after': '1' });
}
