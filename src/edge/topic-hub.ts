import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Clock } from '../clock.js';
import { openClusterRedis, subscribeChannel, type ChannelSubscriber } from '../cluster/redis-client.js';
import { skuPattern, wsLimits } from '../config/limits.js';
import type { TopicSink } from '../http/ws/ws-server.js';

/**
 * Live updates for WebSocket subscribers (docs/websocket.md): `publish(topic, data)` reaches every socket
 * subscribed to `topic` on every node, as `{ topic, data }`. Publishers are the events relay (`order:<orderId>`),
 * the stock throttle (`stock:<sku>`, src/edge/stock-updates.ts) and the drops (`drop:<sku>`, and one ticket's own
 * updates through `publishTicket`).
 *
 * Alone, delivery is in-process. In a cluster (REDIS_URL) the frame is delivered to this node's sockets at once and
 * published on one Redis channel per cluster, `<CLUSTER_NAME>:ws-updates`, which every node's hub follows and
 * delivers to its own sockets (skipping its own messages). Every message is signed with CLUSTER_SECRET (HMAC-SHA256)
 * and one that does not verify is dropped: whoever can write to Redis cannot speak to our clients (DESIGN.md, "Trust
 * boundaries": an unauthenticated peer changes nothing). Redis pub/sub is at most once: a node cut from Redis
 * misses what is published meanwhile. Updates are hints for a live screen; the truth stays with the HTTP reads
 * (and the events stream), which is what a client reads again after it reconnects.
 */
export interface TopicHub {
  /** Delivers `{ topic, data }` to every subscriber of `topic`, wherever it is connected. Never throws. */
  publish(topic: string, data: unknown): void;
  /** Delivers `{ topic: "drop:<sku>", data }` to the subscribers of that drop that named `ticket`. Never throws. */
  publishTicket(sku: string, ticket: string, data: unknown): void;
  /** Where this node's sockets are (the WebSocket server); updates before this are delivered to no local socket. */
  attach(sink: TopicSink): void;
  close(): Promise<void>;
}

export interface TopicHubOptions {
  /** Null: this node is alone, delivery is in-process. */
  redisUrl: string | null;
  clusterName: string;
  nodeId: string;
  /** CLUSTER_SECRET: signs and verifies the messages on the channel (required with redisUrl). */
  secret: string | null;
  clock: Clock;
  log: Logger;
}

/** The message on the cluster's channel: origin node, topic, ticket (or null) and the frame as sent to sockets. */
const envelope = z.object({
  o: z.string().max(64),
  t: z.string().min(1).max(256),
  k: z.string().max(wsLimits.ticketLengthMax).nullable(),
  f: z.string().max(wsLimits.updateBytesMax),
  s: z.string().max(64),
});

export async function startTopicHub(opts: TopicHubOptions): Promise<TopicHub> {
  const hub = new Hub(opts);
  if (opts.redisUrl !== null) await hub.connect(opts.redisUrl);
  return hub;
}

class Hub implements TopicHub {
  private sink: TopicSink | null = null;
  private redis: Redis | null = null;
  private subscriber: ChannelSubscriber | null = null;
  private readonly channel: string;
  private lastErrorLogMs = -Infinity;

  constructor(private readonly opts: TopicHubOptions) {
    this.channel = `${opts.clusterName}:ws-updates`;
  }

  async connect(url: string): Promise<void> {
    if (this.opts.secret === null || this.opts.secret.length === 0) throw new Error('a clustered topic hub needs CLUSTER_SECRET');
    const onError = (err: Error) => this.logError(err, 'topic hub redis error');
    this.redis = openClusterRedis(url, onError);
    this.subscriber = subscribeChannel(this.redis, this.channel, { onMessage: (text) => this.heard(text), onError });
    // Redis away at start is not fatal: the subscriber subscribes again on every reconnect.
    await this.subscriber.subscribed.catch((err: Error) => onError(err));
  }

  attach(sink: TopicSink): void {
    this.sink = sink;
  }

  publish(topic: string, data: unknown): void {
    this.send(topic, null, data);
  }

  publishTicket(sku: string, ticket: string, data: unknown): void {
    if (!skuPattern.test(sku) || ticket.length === 0 || ticket.length > wsLimits.ticketLengthMax) {
      this.opts.log.warn({ sku: sku.slice(0, 80) }, 'a ticket update names no valid drop or ticket: not delivered');
      return;
    }
    this.send(`drop:${sku}`, ticket, data);
  }

  async close(): Promise<void> {
    this.subscriber?.close();
    this.redis?.disconnect();
    this.sink = null;
  }

  private send(topic: string, ticket: string | null, data: unknown): void {
    let frame: string;
    try {
      frame = JSON.stringify({ topic, data });
    } catch (err) {
      this.opts.log.error({ err, topic }, 'an update could not be serialized: not delivered');
      return;
    }
    if (frame.length > wsLimits.updateBytesMax || Buffer.byteLength(frame) > wsLimits.updateBytesMax) {
      this.opts.log.error({ topic, bytes: Buffer.byteLength(frame) }, 'an update is larger than wsLimits.updateBytesMax: not delivered');
      return;
    }
    this.deliverHere(topic, ticket, frame);
    const redis = this.redis;
    if (redis === null) return;
    const message = JSON.stringify({ o: this.opts.nodeId, t: topic, k: ticket, f: frame, s: this.sign(this.opts.nodeId, topic, ticket, frame) });
    redis.publish(this.channel, message).catch((err: Error) => this.logError(err, 'publishing an update to the cluster failed; other nodes miss it'));
  }

  /** A message on the cluster's channel: delivered here unless it came from here (delivered when published). */
  private heard(text: string): void {
    let parsed: z.infer<typeof envelope>;
    try {
      const r = envelope.safeParse(JSON.parse(text));
      if (!r.success) throw r.error;
      parsed = r.data;
    } catch {
      this.logError(new Error('malformed message'), 'a message on the updates channel is malformed: ignored');
      return;
    }
    if (!this.verified(parsed)) {
      this.logError(new Error('bad signature'), 'a message on the updates channel is not signed with CLUSTER_SECRET: ignored');
      return;
    }
    if (parsed.o === this.opts.nodeId) return;
    this.deliverHere(parsed.t, parsed.k, parsed.f);
  }

  private sign(origin: string, topic: string, ticket: string | null, frame: string): string {
    return createHmac('sha256', this.opts.secret ?? '').update(`${origin}\n${topic}\n${ticket ?? ''}\n${frame}`).digest('base64url');
  }

  private verified(m: z.infer<typeof envelope>): boolean {
    const expected = Buffer.from(this.sign(m.o, m.t, m.k, m.f));
    const given = Buffer.from(m.s);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  private deliverHere(topic: string, ticket: string | null, frame: string): void {
    try {
      this.sink?.deliver(topic, ticket, frame);
    } catch (err) {
      this.opts.log.error({ err, topic }, 'delivering an update to this node\'s sockets failed');
    }
  }

  private logError(err: Error, msg: string): void {
    const now = this.opts.clock.now();
    if (now - this.lastErrorLogMs < wsLimits.publishErrorLogIntervalMs) return;
    this.lastErrorLogMs = now;
    this.opts.log.warn({ err: err.message }, msg);
  }
}
