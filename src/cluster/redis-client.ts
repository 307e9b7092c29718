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
