import { membershipLimits } from '../config/limits.js';
import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import { subscribeChannel, type ChannelSubscriber } from './redis-client.js';

/**
 * Cluster membership in Redis (DESIGN.md, "Routing is Redis"): each node keeps a key `<prefix>member:<nodeId>` alive
 * with a TTL heartbeat, and an index set `<prefix>members` lists the node ids that may be alive.
 *
 * How leaves are seen: by polling. Every pollIntervalMs a node reads the live members with one script (index set +
 * GET of every member key; ids whose key expired are removed from the index atomically). Polling, not keyspace
 * notifications, because those need `notify-keyspace-events` configured on the server, which managed Redis often
 * forbids, and because pub/sub drops messages during a reconnect while a poll cannot miss a state. A pub/sub
 * channel `<prefix>members:changed` only makes graceful joins and leaves visible at once (it triggers a poll).
 *
 * Detection bound: a node that dies is gone from every member list within ttlMs + pollIntervalMs (+ one Redis round
 * trip). A node that restarts under the same id within the TTL shows a new `startedAt`, which watchers report as a
 * leave followed by a join: its in-memory state is gone, so it must be treated as a new node.
 *
 * Redis down: heartbeats and polls fail (reported to onError) and the last known member list stays as it is; no
 * join or leave is reported until Redis answers again. Safety never depends on this list: ownership is fenced by
 * epochs in PostgreSQL.
 */

export interface MemberInfo {
  nodeId: string;
  /** The inter-node transport address this node advertises. */
  host: string;
  port: number;
  /** Wall-clock ms when the process started; tells a restarted node from the old one. */
  startedAt: number;
}


export interface MembershipOptions {
  redis: Redis;
  /** Prepended to every key and channel; lets clusters (and test files) share one Redis. */
  keyPrefix: string;
  /** This node; omit to watch without registering (a CLI, the coordinator of another process). */
  self?: MemberInfo;
  ttlMs?: number;
  /** How often the member list is read; default ttlMs / 4. */
  pollIntervalMs?: number;
  /** Failed heartbeats and polls (Redis down) and malformed member entries. Default: ignored. */
  onError?: (err: Error) => void;
}

export interface MembershipEvents {
  join: [member: MemberInfo];
  leave: [member: MemberInfo];
  /** After every poll that saw a join or a leave: the whole live list, sorted by node id. */
  change: [members: MemberInfo[]];
}

export const membershipKeys = (prefix: string) => ({
  index: `${prefix}members`,
  memberPrefix: `${prefix}member:`,
  member: (nodeId: string) => `${prefix}member:${nodeId}`,
  changed: `${prefix}members:changed`,
});

/** Reads the index, GETs every member key, and drops ids whose key expired, in one atomic step. */
const listScript = `
local ids = redis.call('SMEMBERS', KEYS[1])
local out = {}
for _, id in ipairs(ids) do
  local v = redis.call('GET', ARGV[1] .. id)
  if v then table.insert(out, v) else redis.call('SREM', KEYS[1], id) end
end
return out`;

/** The live members, sorted by node id, read directly from Redis. */
export async function listLiveMembers(redis: Redis, keyPrefix: string, onError: (err: Error) => void = () => {}): Promise<MemberInfo[]> {
  const keys = membershipKeys(keyPrefix);
  const raw = (await redis.eval(listScript, 1, keys.index, keys.memberPrefix)) as string[];
  const members: MemberInfo[] = [];
  for (const entry of raw) {
    const member = parseMember(entry);
    if (member === null) onError(new Error(`ignoring a malformed member entry: ${entry.slice(0, 200)}`));
    else members.push(member);
  }
  return members.sort((a, b) => (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0));
}

export class Membership extends EventEmitter<MembershipEvents> {
  private readonly keys: ReturnType<typeof membershipKeys>;
  private readonly ttlMs: number;
  private readonly pollIntervalMs: number;
  private readonly onError: (err: Error) => void;
  private known = new Map<string, MemberInfo>();
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private pollTimer: NodeJS.Timeout | null = null;
  private polling: Promise<void> | null = null;
  private pollAgain = false;
  private subscriber: ChannelSubscriber | null = null;
  private closed = false;

  private constructor(private readonly opts: MembershipOptions) {
    super();
    this.keys = membershipKeys(opts.keyPrefix);
    this.ttlMs = opts.ttlMs ?? membershipLimits.ttlMsDefault;
    if (!(Number.isInteger(this.ttlMs) && this.ttlMs >= membershipLimits.ttlMsMin && this.ttlMs <= membershipLimits.ttlMsMax)) {
      throw new RangeError(`ttlMs must be an integer in [${membershipLimits.ttlMsMin}, ${membershipLimits.ttlMsMax}], got ${this.ttlMs}`);
    }
    this.pollIntervalMs = opts.pollIntervalMs ?? Math.floor(this.ttlMs / 4);
    if (!(this.pollIntervalMs > 0 && this.pollIntervalMs <= this.ttlMs)) throw new RangeError(`pollIntervalMs must be in (0, ttlMs]`);
    if (opts.self !== undefined && !membershipLimits.nodeIdPattern.test(opts.self.nodeId)) {
      throw new RangeError(`node id ${JSON.stringify(opts.self.nodeId)} must match ${membershipLimits.nodeIdPattern}`);
    }
    this.onError = opts.onError ?? (() => {});
  }

  /**
   * Registers `self` (when given), subscribes to change notices and reads the member list once. Rejects when Redis
   * does not answer: a node must not start as a member it could not announce.
   */
  static async start(opts: MembershipOptions): Promise<Membership> {
    const membership = new Membership(opts);
    try {
      await membership.begin();
    } catch (err) {
      await membership.close({ deregister: false });
      throw err;
    }
    return membership;
  }

  /** The live members as of the last poll, sorted by node id. */
  members(): MemberInfo[] {
    return [...this.known.values()].sort((a, b) => (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0));
  }

  /** Polls now; resolves with the list once that poll (or one that started after this call) is done. */
  async refresh(): Promise<MemberInfo[]> {
    await this.poll();
    return this.members();
  }

  /**
   * Stops heartbeats and polls. With `deregister` (the default) the member key is deleted and a change notice
   * published, so the others see the leave at once instead of after the TTL. Idempotent.
   */
  async close(opts: { deregister?: boolean } = {}): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.heartbeatTimer !== null) clearTimeout(this.heartbeatTimer);
    if (this.pollTimer !== null) clearTimeout(this.pollTimer);
    this.subscriber?.close();
    this.subscriber = null;
    await this.polling?.catch(() => {});
    const self = this.opts.self;
    if (self === undefined || opts.deregister === false) return;
    try {
      await this.opts.redis.multi().del(this.keys.member(self.nodeId)).srem(this.keys.index, self.nodeId).publish(this.keys.changed, self.nodeId).exec();
    } catch (err) {
      this.onError(err as Error);
    }
  }

  private async begin(): Promise<void> {
    if (this.opts.self !== undefined) {
      await this.heartbeat();
      await this.opts.redis.publish(this.keys.changed, this.opts.self.nodeId);
      this.scheduleHeartbeat();
    }
    const refresh = () => void this.refresh().catch(() => {});
    const subscriber = subscribeChannel(this.opts.redis, this.keys.changed, { onMessage: refresh, onError: (err) => this.onError(err), onResubscribed: refresh });
    this.subscriber = subscriber;
    await subscriber.subscribed;
    await this.poll();
  }

  private async heartbeat(): Promise<void> {
    const self = this.opts.self!;
    // SADD on every beat, not only the first: a flushed or failed-over Redis gets the index back within ttl/3.
    const results = await this.opts.redis
      .multi()
      .set(this.keys.member(self.nodeId), JSON.stringify(self), 'PX', this.ttlMs)
      .sadd(this.keys.index, self.nodeId)
      .exec();
    const failed = results?.find(([err]) => err !== null)?.[0];
    if (failed) throw failed;
  }

  private scheduleHeartbeat(): void {
    if (this.closed) return;
    const intervalMs = Math.floor(this.ttlMs / membershipLimits.heartbeatsPerTtl);
    this.heartbeatTimer = setTimeout(() => {
      this.heartbeat().then(
        () => this.scheduleHeartbeat(),
        (err: Error) => {
          this.onError(err);
          this.scheduleHeartbeat();
        },
      );
    }, intervalMs);
    this.heartbeatTimer.unref();
  }

  /** One poll at a time; a request during a poll runs one more right after it. */
  private poll(): Promise<void> {
    if (this.polling !== null) {
      this.pollAgain = true;
      return this.polling;
    }
    if (this.pollTimer !== null) clearTimeout(this.pollTimer);
    this.pollTimer = null;
    this.polling = (async () => {
      do {
        this.pollAgain = false;
        try {
          this.apply(await listLiveMembers(this.opts.redis, this.opts.keyPrefix, this.onError));
        } catch (err) {
          this.onError(err as Error);
        }
      } while (this.pollAgain && !this.closed);
    })().finally(() => {
      this.polling = null;
      this.schedulePoll();
    });
    return this.polling;
  }

  private schedulePoll(): void {
    if (this.closed) return;
    this.pollTimer = setTimeout(() => void this.poll(), this.pollIntervalMs);
    this.pollTimer.unref();
  }

  /** Diffs the new list against the known one; a changed startedAt is a restart: a leave, then a join. */
  private apply(live: MemberInfo[]): void {
    if (this.closed) return;
    const next = new Map(live.map((m) => [m.nodeId, m]));
    const left: MemberInfo[] = [];
    const joined: MemberInfo[] = [];
    for (const [id, old] of this.known) {
      const now = next.get(id);
      if (now === undefined || now.startedAt !== old.startedAt) left.push(old);
    }
    for (const [id, now] of next) {
      const old = this.known.get(id);
      if (old === undefined || old.startedAt !== now.startedAt) joined.push(now);
    }
    this.known = next;
    for (const m of left) this.emit('leave', m);
    for (const m of joined) this.emit('join', m);
    if (left.length > 0 || joined.length > 0) this.emit('change', this.members());
  }
}

function parseMember(raw: string): MemberInfo | null {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    return null;
  }
  const m = v as Partial<MemberInfo> | null;
  if (m === null || typeof m !== 'object') return null;
  if (typeof m.nodeId !== 'string' || !membershipLimits.nodeIdPattern.test(m.nodeId)) return null;
  if (typeof m.host !== 'string' || m.host === '') return null;
  if (!(Number.isInteger(m.port) && m.port! > 0 && m.port! < 65_536)) return null;
  if (!Number.isFinite(m.startedAt)) return null;
  return { nodeId: m.nodeId, host: m.host, port: m.port!, startedAt: m.startedAt! };
}
