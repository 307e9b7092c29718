import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import { openClusterRedis } from '../cluster/redis-client.js';
import type { Config } from '../config/config.js';
import { eventLimits } from '../config/limits.js';
import { EventFeed } from '../events/event-feed.js';
import { createEventMetrics } from '../events/event-metrics.js';
import { LogSink, NoSink, RedisStreamSink, type EventSink } from '../events/event-sinks.js';
import { OutboxRelay } from '../events/outbox-relay.js';
import { WebhookDispatcher } from '../events/webhook-dispatcher.js';
import { webhookEndpoints, type WebhookEndpoints } from '../events/webhook-endpoints.js';
import type { Metrics } from '../metrics.js';
import { OutboxRelayStore, type RelayFence } from '../persistence/outbox-relay-store.js';
import type { SqlClient } from '../persistence/sql.js';
import { WebhookDeliveryStore } from '../persistence/webhook-delivery-store.js';
import { WebhookEndpointStore } from '../persistence/webhook-endpoint-store.js';
import type { NodeCore } from './node-core.js';

/** A node's events out (docs/events.md): the relay, the webhook dispatcher, the endpoints and the in-process feed. */
export interface NodeEvents {
  /** Every event this node's relay delivers (see EventFeed): the hook for the WebSocket fan-out. */
  feed: EventFeed;
  endpoints: WebhookEndpoints;
  relay: OutboxRelay;
  dispatcher: WebhookDispatcher;
  /** Starts relaying (once the node recovered: its partitions are served). */
  start(): void;
  /** Stops relaying and sending, waits for what is in flight, closes the stream's Redis connection. */
  stop(): Promise<void>;
}

/**
 * `topics`: WebSocket subscribers of `order:<orderId>` on every node hear each event this node relays (the hub fans
 * it out; docs/websocket.md), as `{ topic, data: event }`.
 */
export function createEvents(o: { config: Config; sql: SqlClient; core: NodeCore; partitions: number; metrics: Metrics; clock: Clock; log: Logger; topics?: { publish(topic: string, data: unknown): void } }): NodeEvents {
  const { config, sql, core, clock, topics } = o;
  const log = o.log.child({ component: 'events' });
  const metrics = createEventMetrics(o.metrics.registry);
  const feed = new EventFeed(log);
  if (topics !== undefined) feed.subscribe((event) => topics.publish(`order:${event.orderId}`, event));
  const owned = (): RelayFence[] =>
    core.host.servedPartitions().flatMap((p) => {
      const epoch = core.host.epochOf(p);
      return core.host.owns(p) && epoch !== undefined ? [{ partition: p, epoch }] : [];
    });
  const { sink, close } = openSink(config, log);
  const dispatcher = new WebhookDispatcher({
    store: new WebhookDeliveryStore(sql),
    owned: () => owned().map((f) => f.partition),
    retryDelayMsBase: config.webhookRetryDelayMsBase,
    retryMaxAgeMs: config.webhookRetryMaxAgeMs,
    metrics, clock, log,
  });
  const relay = new OutboxRelay({ store: new OutboxRelayStore(sql), nodeId: config.nodeId, owned, partitions: o.partitions, sink, feed, onMarked: () => dispatcher.nudge(), metrics, clock, log });
  return {
    feed, relay, dispatcher,
    endpoints: webhookEndpoints(new WebhookEndpointStore(sql)),
    start() {
      relay.start();
      dispatcher.start();
    },
    async stop() {
      await Promise.all([relay.stop(), dispatcher.stop()]);
      close();
    },
  };
}

/** EVENTS_SINK: the Redis stream `<CLUSTER_NAME>:events` (its own connection), the log, or nothing. */
function openSink(config: Config, log: Logger): { sink: EventSink; close: () => void } {
  if (config.eventsSink === 'redis' && config.redisUrl !== null) {
    const redis = openClusterRedis(config.redisUrl, (err) => log.debug({ err }, 'events stream: redis error'));
    return { sink: new RedisStreamSink(redis, `${config.clusterName}:events`, eventLimits.streamLengthMax), close: () => redis.disconnect() };
  }
  return { sink: config.eventsSink === 'none' ? new NoSink() : new LogSink(log), close: () => {} };
}
