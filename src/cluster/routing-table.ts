import { routingLimits } from '../config/limits.js';
import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import { subscribeChannel, type ChannelSubscriber } from './redis-client.js';
import type { SqlClient } from '../persistence/sql.js';

/**
 * The partition → node routing table (DESIGN.md, "Routing is Redis"; issue 4, "Routing table").
 *
 * PostgreSQL owns ownership (`partition_owners`: partition, node, epoch); Redis holds a copy for routing, and every
 * node holds a copy of that copy in memory. In Redis:
 *
 *   <prefix>{routes}:table     hash: partition → "<epoch>:<nodeId>"
 *   <prefix>{routes}:version   counter, incremented by every update that changed something
 *   <prefix>routes:changed     pub/sub channel: {"v": version, "r": [partition, epoch, nodeId, …]} per update
 *
 * Epochs order everything. An update only replaces a route with a higher epoch (in the Redis script and in every
 * local cache), so a stale coordinator, a late message or a rebuild from an older read can never move a route
 * backwards, and applying the same update twice, or updates out of order, converges to the same table.
 *
 * Versions detect missed updates: pub/sub is at-most-once (messages published while a subscriber reconnects are
 * lost), so a message whose version is not the next one, a subscriber reconnect, or a periodic version check that
 * disagrees makes the cache reload the whole hash. A version key that is missing means Redis lost the table
 * (FLUSHDB, failover to an empty replica): a table opened with `sql` then rebuilds it from `partition_owners`.
 *
 * Redis down: `lookup` never touches Redis, so known routes keep working from memory and unknown partitions answer
 * null (the caller maps that to 503 with a code); reloads and publishes fail and are retried by the periodic check.
 * A route from the cache may be stale; that is safe, because the node it names checks its own ownership (epoch
 * fencing in PostgreSQL) before serving, so no write ever lands at the wrong owner.
 */

export interface Route {
  partition: number;
  nodeId: string;
  epoch: number;
}

/** What the request path needs: a route from memory, or null for "unknown here" (answer 503, retryable). */
export interface RouteLookup {
  lookup(partition: number): Route | null;
}


export const routingKeys = (prefix: string) => ({
  table: `${prefix}{routes}:table`,
  version: `${prefix}{routes}:version`,
  changed: `${prefix}routes:changed`,
});

/**
 * Applies routes whose epoch is higher than the stored one, bumps the version and publishes the applied routes, all
 * atomically (a script runs alone), so version order is publication order. Returns {version, applied}.
 */
const publishScript = `
local changed = {}
for i = 2, #ARGV, 3 do
  local p, e, n = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local cur = redis.call('HGET', KEYS[1], p)
  local newer = true
  if cur then
    local sep = string.find(cur, ':', 1, true)
    newer = tonumber(e) > tonumber(string.sub(cur, 1, sep - 1))
  end
  if newer then
    redis.call('HSET', KEYS[1], p, e .. ':' .. n)
    table.insert(changed, p)
    table.insert(changed, e)
    table.insert(changed, n)
  end
end
local v
if #changed > 0 then
  v = redis.call('INCR', KEYS[2])
  redis.call('PUBLISH', ARGV[1], cjson.encode({v = v, r = changed}))
else
  v = tonumber(redis.call('GET', KEYS[2]) or '0')
end
return {v, #changed / 3}`;

export interface PublishResult {
  /** The Redis version after the update. */
  version: number;
  /** Routes that were newer than Redis's and were written. */
  applied: number;
}

/** Writes routes to Redis (newer epochs only) and announces them. Used by the coordinator and by rebuilds. */
export async function publishRoutes(redis: Redis, keyPrefix: string, routes: readonly Route[]): Promise<PublishResult> {
  const keys = routingKeys(keyPrefix);
  const argv: string[] = [keys.changed];
  for (const r of routes) {
    assertRoute(r);
    argv.push(String(r.partition), String(r.epoch), r.nodeId);
  }
  const [version, applied] = (await redis.eval(publishScript, 2, keys.table, keys.version, ...argv)) as [number, number];
  return { version, applied };
}

/** Every row of `partition_owners` as a route: the authority that Redis caches. */
export async function readOwnerRoutes(sql: SqlClient): Promise<Route[]> {
  const rows = await sql.query<{ partition: number; node: string; epoch: number }>(
    'SELECT partition, node, epoch FROM partition_owners ORDER BY partition',
  );
  return rows.map((r) => ({ partition: r.partition, nodeId: r.node, epoch: r.epoch }));
}

/**
 * Rebuilds the Redis table from PostgreSQL's ownership rows (after a flush, a Redis failover, or by an operator).
 * Safe to run on several nodes at once and at any time: it only ever raises epochs to what PostgreSQL holds.
 */
export async function rebuildRoutesFromDatabase(sql: SqlClient, redis: Redis, keyPrefix: string): Promise<PublishResult> {
  return publishRoutes(redis, keyPrefix, await readOwnerRoutes(sql));
}

export interface RoutingTableOptions {
  redis: Redis;
  keyPrefix: string;
  /** With it, a table that finds the Redis copy missing rebuilds it, and a node started during a Redis outage routes
   * from `partition_owners` directly. */
  sql?: SqlClient;
  resyncIntervalMs?: number;
  /** Failed reloads (Redis down), malformed messages, failed rebuilds. Default: ignored. */
  onError?: (err: Error) => void;
}

export interface RoutingTableEvents {
  /** Routes the local cache took (new partitions or higher epochs), after they were applied. */
  change: [routes: Route[]];
  /** The Redis copy was missing and has been rebuilt from PostgreSQL. */
  rebuilt: [result: PublishResult];
}

export class RoutingTable extends EventEmitter<RoutingTableEvents> implements RouteLookup {
  private readonly routes = new Map<number, Route>();
  private readonly keys: ReturnType<typeof routingKeys>;
  private readonly onError: (err: Error) => void;
  private knownVersion = 0;
  private subscriber: ChannelSubscriber | null = null;
  private resyncTimer: NodeJS.Timeout | null = null;
  private reloading: Promise<void> | null = null;
  private reloadAgain = false;
  private closed = false;

  private constructor(private readonly opts: RoutingTableOptions) {
    super();
    this.keys = routingKeys(opts.keyPrefix);
    this.onError = opts.onError ?? (() => {});
    const interval = opts.resyncIntervalMs ?? routingLimits.resyncIntervalMsDefault;
    if (!(interval >= routingLimits.resyncIntervalMsMin)) throw new RangeError(`resyncIntervalMs must be >= ${routingLimits.resyncIntervalMsMin}`);
  }

  /**
   * Subscribes to updates, then loads the table. Never rejects because Redis is down: the table starts empty (or
   * from `partition_owners` when `sql` is given) and catches up when Redis answers. Give it a client from
   * openClusterRedis: with ioredis's defaults a command queues through 20 reconnect attempts instead of failing.
   */
  static async open(opts: RoutingTableOptions): Promise<RoutingTable> {
    const table = new RoutingTable(opts);
    await table.begin();
    return table;
  }

  lookup(partition: number): Route | null {
    return this.routes.get(partition) ?? null;
  }

  /** The Redis version this cache reflects (0 before the first load). */
  get version(): number {
    return this.knownVersion;
  }

  /** Every known route, by partition. */
  snapshot(): Route[] {
    return [...this.routes.values()].sort((a, b) => a.partition - b.partition);
  }

  /**
   * Takes routes into the local cache only (higher epochs win), e.g. the routes a node just claimed itself, before
   * Redis has them. Returns the routes that changed.
   */
  learn(routes: readonly Route[]): Route[] {
    const changed: Route[] = [];
    for (const r of routes) {
      assertRoute(r);
      const cur = this.routes.get(r.partition);
      if (cur !== undefined && cur.epoch >= r.epoch) continue;
      const route = { partition: r.partition, nodeId: r.nodeId, epoch: r.epoch };
      this.routes.set(r.partition, route);
      changed.push(route);
    }
    if (changed.length > 0) this.emit('change', changed);
    return changed;
  }

  /** Writes routes to Redis and announces them (see publishRoutes); the local cache takes them at once. */
  async publish(routes: readonly Route[]): Promise<PublishResult> {
    const result = await publishRoutes(this.opts.redis, this.opts.keyPrefix, routes);
    this.learn(routes);
    this.noteVersion(result.version);
    return result;
  }

  /** Reloads the whole table from Redis now (rebuilding it first when it is missing and `sql` was given). */
  refresh(): Promise<void> {
    if (this.reloading !== null) {
      this.reloadAgain = true;
      return this.reloading;
    }
    this.reloading = (async () => {
      do {
        this.reloadAgain = false;
        await this.reload();
      } while (this.reloadAgain && !this.closed);
    })().finally(() => (this.reloading = null));
    return this.reloading;
  }

  /** Stops the subscriber and the periodic check. The cache keeps answering lookups. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.resyncTimer !== null) clearTimeout(this.resyncTimer);
    this.resyncTimer = null;
    this.opts.redis.off('ready', this.onReconnect);
    this.subscriber?.close();
    this.subscriber = null;
    await this.reloading?.catch(() => {});
  }

  private readonly onReconnect = (): void => {
    if (!this.closed) this.refresh().catch((err: Error) => this.onError(err));
  };

  private async begin(): Promise<void> {
    // After a reconnect, messages published meanwhile are lost: reload to catch up once subscribed again.
    const subscriber = subscribeChannel(this.opts.redis, this.keys.changed, {
      onMessage: (text) => this.onMessage(text),
      onError: (err) => this.onError(err),
      onResubscribed: this.onReconnect,
    });
    this.subscriber = subscriber;
    // The command connection may come back after the subscriber; reloading then too avoids waiting for the resync.
    this.opts.redis.on('ready', this.onReconnect);
    try {
      await subscriber.subscribed;
      await this.refresh();
    } catch (err) {
      this.onError(err as Error);
      await this.seedFromDatabase();
    }
    this.scheduleResync();
  }

  private async reload(): Promise<void> {
    let table = await this.readRedis();
    if (table.version === null && this.opts.sql !== undefined) {
      const rebuilt = await rebuildRoutesFromDatabase(this.opts.sql, this.opts.redis, this.opts.keyPrefix);
      if (rebuilt.applied > 0) {
        this.emit('rebuilt', rebuilt);
        table = await this.readRedis();
      }
    }
    this.learn(parseTable(table.hash, this.onError));
    this.knownVersion = table.version === null ? 0 : Number(table.version);
  }

  /** The hash and the version from one MULTI, so they describe the same moment. */
  private async readRedis(): Promise<{ hash: Record<string, string>; version: string | null }> {
    const results = await this.opts.redis.multi().hgetall(this.keys.table).get(this.keys.version).exec();
    if (results === null) throw new Error('routing table reload was aborted');
    const [[hashErr, hash], [versionErr, version]] = results as [[Error | null, Record<string, string>], [Error | null, string | null]];
    if (hashErr !== null) throw hashErr;
    if (versionErr !== null) throw versionErr;
    return { hash, version };
  }

  /** Redis unreachable at start: route from PostgreSQL's ownership rows until Redis answers. */
  private async seedFromDatabase(): Promise<void> {
    if (this.opts.sql === undefined) return;
    try {
      this.learn(await readOwnerRoutes(this.opts.sql));
    } catch (err) {
      this.onError(err as Error);
    }
  }

  private onMessage(text: string): void {
    const update = parseUpdate(text);
    if (update === null) {
      this.onError(new Error(`ignoring a malformed routing update: ${text.slice(0, 200)}`));
      return;
    }
    this.learn(update.routes);
    this.noteVersion(update.version);
  }

  /** The next version is taken as is; a gap (missed messages) or a step back (Redis reset) triggers a reload. */
  private noteVersion(version: number): void {
    if (version === this.knownVersion + 1) this.knownVersion = version;
    else if (version !== this.knownVersion) void this.refresh().catch((err: Error) => this.onError(err));
  }

  private scheduleResync(): void {
    if (this.closed) return;
    const interval = this.opts.resyncIntervalMs ?? routingLimits.resyncIntervalMsDefault;
    this.resyncTimer = setTimeout(() => void this.resync().finally(() => this.scheduleResync()), interval);
    this.resyncTimer.unref();
  }

  private async resync(): Promise<void> {
    try {
      const version = await this.opts.redis.get(this.keys.version);
      const missing = version === null && (this.knownVersion > 0 || this.routes.size > 0);
      if (missing || (version !== null && Number(version) !== this.knownVersion)) await this.refresh();
    } catch (err) {
      this.onError(err as Error);
    }
  }
}

/** A route table for a node without Redis: it owns every partition it claimed (README: "without REDIS_URL"). */
export class InProcessRoutes implements RouteLookup {
  private readonly routes = new Map<number, Route>();

  set(routes: readonly Route[]): void {
    for (const r of routes) {
      assertRoute(r);
      this.routes.set(r.partition, { ...r });
    }
  }

  lookup(partition: number): Route | null {
    return this.routes.get(partition) ?? null;
  }
}

function assertRoute(r: Route): void {
  if (!(Number.isInteger(r.partition) && r.partition >= 0 && r.partition <= 0x7fffffff)) throw new Error(`bad route partition ${r.partition}`);
  if (!(Number.isSafeInteger(r.epoch) && r.epoch >= 1)) throw new Error(`bad route epoch ${r.epoch}`);
  if (typeof r.nodeId !== 'string' || r.nodeId === '') throw new Error('a route needs a node id');
}

function parseTable(hash: Record<string, string>, onError: (err: Error) => void): Route[] {
  const routes: Route[] = [];
  for (const [field, value] of Object.entries(hash)) {
    const sep = value.indexOf(':');
    const route = toRoute(field, value.slice(0, sep), value.slice(sep + 1));
    if (sep < 0 || route === null) onError(new Error(`ignoring a malformed route ${field} → ${value.slice(0, 200)}`));
    else routes.push(route);
  }
  return routes;
}

function parseUpdate(text: string): { version: number; routes: Route[] } | null {
  let msg: unknown;
  try {
    msg = JSON.parse(text);
  } catch {
    return null;
  }
  const { v, r } = (msg ?? {}) as { v?: unknown; r?: unknown };
  if (!(Number.isSafeInteger(v) && (v as number) >= 1) || !Array.isArray(r) || r.length % 3 !== 0) return null;
  const routes: Route[] = [];
  for (let i = 0; i < r.length; i += 3) {
    const route = toRoute(r[i], r[i + 1], r[i + 2]);
    if (route === null) return null;
    routes.push(route);
  }
  return { version: v as number, routes };
}

function toRoute(partition: unknown, epoch: unknown, nodeId: unknown): Route | null {
  const p = Number(partition);
  const e = Number(epoch);
  if (!(Number.isInteger(p) && p >= 0 && p <= 0x7fffffff)) return null;
  if (!(Number.isSafeInteger(e) && e >= 1)) return null;
  if (typeof nodeId !== 'string' || nodeId === '') return null;
  return { partition: p, nodeId, epoch: e };
}
