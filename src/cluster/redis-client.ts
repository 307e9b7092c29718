import { redisClientLimits } from '../config/limits.js';
import { Redis } from 'ioredis';

/**
 * The Redis connection settings of the cluster's routing and membership. Redis is a cache of routing
 * (DESIGN.md), so a Redis outage must make commands fail fast instead of queueing without bound:
 *
 * - maxRetriesPerRequest 1: a command issued while disconnected fails after the first failed reconnect attempt.
 * - commandTimeout: a command that does not complete in time rejects (a hung connection looks like a down Redis).
 * - reconnect forever with capped backoff: Redis coming back is picked up without a restart.
 *
 * Membership and routing keep working from their local state while commands fail; see their modules.
 */

export function openClusterRedis(url: string, onError: (err: Error) => void = () => {}): Redis {
  const redis = new Redis(url, {
    maxRetriesPerRequest: 1,
    commandTimeout: redisClientLimits.commandTimeoutMs,
    connectTimeout: redisClientLimits.connectTimeoutMs,
    retryStrategy: (times) => Math.min(times * redisClientLimits.reconnectDelayMsStep, redisClientLimits.reconnectDelayMsMax),
  });
  // Without a listener ioredis logs every connection error to stderr; the caller decides what to log.
  redis.on('error', onError);
  return redis;
}

export interface ChannelSubscriber {
  /** The pub/sub connection (duplicated from the command connection). */
  readonly connection: Redis;
  /** Settles with the first SUBSCRIBE; resolves, quietly, if `close` came first. */
  readonly subscribed: Promise<void>;
  /** Disconnects; nothing is reported after it. Idempotent. */
  close(): void;
}

export interface ChannelHandlers {
  onMessage(text: string): void;
  onError(err: Error): void;
  /** After every SUBSCRIBE that a reconnect needed: messages published meanwhile were lost, so catch up. */
  onResubscribed?(): void;
}

/**
 * A connection subscribed to one channel, for good. ioredis's own resubscribe after a reconnect sends SUBSCRIBE and
 * drops its promise: a disconnect before the reply (a node closing while Redis comes back) rejects it unhandled, and
 * an unhandled rejection ends a Node process. So ours is off, and every `ready` subscribes again here, its failure
 * reported to `onError` (the first `ready` repeats the first SUBSCRIBE, which Redis takes as a no-op).
 */
export function subscribeChannel(redis: Redis, channel: string, handlers: ChannelHandlers): ChannelSubscriber {
  const connection = redis.duplicate({ autoResubscribe: false });
  let closed = false;
  const report = (err: Error) => {
    if (!closed) handlers.onError(err);
  };
  connection.on('error', report);
  connection.on('message', (_channel: string, text: string) => {
    if (!closed) handlers.onMessage(text);
  });
  connection.on('ready', () => {
    if (closed) return;
    connection.subscribe(channel).then(() => {
      if (!closed) handlers.onResubscribed?.();
    }, report);
  });
  return {
    connection,
    subscribed: connection.subscribe(channel).then(
      () => undefined,
      (err: Error) => {
        if (!closed) throw err;
      },
    ),
    close() {
      closed = true;
      connection.disconnect();
    },
  };
}
