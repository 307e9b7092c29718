import type { Logger } from 'pino';
import type { Redis } from 'ioredis';
import type { OrderEvent } from '../domain/order-events.js';

/**
 * Where the relay sends events besides the webhooks (EVENTS_SINK). `send` delivers events in the order given and
 * resolves with how many of the first ones were delivered (all of them, or the prefix before the first failure), so
 * the relay marks exactly those and an order's later event never counts as delivered before its earlier one.
 */
export interface EventSink {
  readonly name: 'redis' | 'log' | 'none';
  send(events: readonly OrderEvent[]): Promise<number>;
}

/**
 * Redis Streams: `XADD <CLUSTER_NAME>:events MAXLEN ~ <streamLengthMax> * event <json>`, one entry per event, one
 * pipeline per relay pass. Consumers read with XREAD/XREADGROUP and deduplicate by the event's `id` (a redelivery
 * after a crash or a move appends the same event again).
 */
export class RedisStreamSink implements EventSink {
  readonly name = 'redis';

  constructor(
    private readonly redis: Redis,
    readonly streamKey: string,
    private readonly streamLengthMax: number,
  ) {}

  async send(events: readonly OrderEvent[]): Promise<number> {
    if (events.length === 0) return 0;
    const pipeline = this.redis.pipeline();
    for (const e of events) pipeline.xadd(this.streamKey, 'MAXLEN', '~', this.streamLengthMax, '*', 'event', JSON.stringify(e));
    const results = (await pipeline.exec()) ?? [];
    let sent = 0;
    while (sent < events.length && results[sent] !== undefined && results[sent]![0] === null) sent++;
    if (sent === 0 && events.length > 0) throw results[0]?.[0] ?? new Error('XADD pipeline returned no results');
    return sent;
  }
}

/** One structured log line per event (msg "event"), for a single node without Redis or a log shipper. */
export class LogSink implements EventSink {
  readonly name = 'log';

  constructor(private readonly log: Logger) {}

  send(events: readonly OrderEvent[]): Promise<number> {
    for (const event of events) this.log.info({ event }, 'event');
    return Promise.resolve(events.length);
  }
}

/** EVENTS_SINK=none: webhooks (and the in-process feed) only. */
export class NoSink implements EventSink {
  readonly name = 'none';

  send(events: readonly OrderEvent[]): Promise<number> {
    return Promise.resolve(events.length);
  }
}
