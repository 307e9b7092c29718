import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import pino from 'pino';
import { Registry } from 'prom-client';
import { systemClock } from '../../../src/clock.js';
import type { OrderEvent } from '../../../src/domain/order-events.js';
import { EventFeed } from '../../../src/events/event-feed.js';
import { createEventMetrics, type EventMetrics } from '../../../src/events/event-metrics.js';
import type { EventSink } from '../../../src/events/event-sinks.js';
import { OutboxRelay } from '../../../src/events/outbox-relay.js';
import { claimPartitions } from '../../../src/persistence/journal.js';
import { OutboxRelayStore, type RelayFence } from '../../../src/persistence/outbox-relay-store.js';
import type { SqlClient } from '../../../src/persistence/sql.js';

export const quiet = pino({ level: 'silent' });

/** Claims every partition for `node` (an epoch bump, as an acquire does); answers the fences the relay marks under. */
export async function claimAll(sql: SqlClient, node: string, partitions: number): Promise<RelayFence[]> {
  const claims = await claimPartitions(sql, node, Array.from({ length: partitions }, (_, p) => p));
  return claims.map((c) => ({ partition: c.partition, epoch: c.epoch }));
}

/** A sink that keeps what it got, in order, and can be told to fail after `failAfter` more events. */
export class MemorySink implements EventSink {
  readonly name = 'none' as const;
  readonly got: OrderEvent[] = [];
  failAfter = Infinity;

  send(events: readonly OrderEvent[]): Promise<number> {
    const n = Math.max(0, Math.min(events.length, this.failAfter));
    this.failAfter -= n;
    this.got.push(...events.slice(0, n));
    if (n === 0 && events.length > 0) return Promise.reject(new Error('sink down'));
    return Promise.resolve(n);
  }
}

export function relayFor(o: { sql: SqlClient; node: string; fences: () => RelayFence[]; partitions: number; sink: EventSink; metrics?: EventMetrics; batchMax?: number }) {
  const feed = new EventFeed(quiet);
  const heard: OrderEvent[] = [];
  feed.subscribe((e) => heard.push(e));
  const metrics = o.metrics ?? createEventMetrics(new Registry());
  const relay = new OutboxRelay({
    store: new OutboxRelayStore(o.sql), nodeId: o.node, owned: o.fences, partitions: o.partitions, sink: o.sink, feed, metrics, clock: systemClock, log: quiet,
    ...(o.batchMax === undefined ? {} : { batchMax: o.batchMax }),
  });
  return { relay, feed, heard, metrics };
}

/** Passes until no outbox row is undelivered (bounded); a pass that fails (a failing sink) is simply run again. */
export async function drain(relay: OutboxRelay, sql: SqlClient, passesMax = 100): Promise<void> {
  for (let i = 0; i < passesMax; i++) {
    await relay.pass().catch(() => undefined);
    const [row] = await sql.query<{ n: number }>('SELECT count(*)::int AS n FROM outbox WHERE published_at IS NULL');
    if (row!.n === 0) return;
  }
  throw new Error(`relay not drained after ${passesMax} passes`);
}

/** Checks that, per order, the events seen run 1, 2, 3, … once duplicates (same id) are dropped. */
export function perOrderSequences(events: readonly OrderEvent[]): Map<string, number[]> {
  const seen = new Set<string>();
  const byOrder = new Map<string, number[]>();
  for (const e of events) {
    if (seen.has(e.id)) continue;
    seen.add(e.id);
    const list = byOrder.get(e.orderId) ?? [];
    list.push(e.sequence);
    byOrder.set(e.orderId, list);
  }
  return byOrder;
}

export interface Received {
  body: string;
  signature: string | undefined;
  event: OrderEvent;
  path: string;
}

/** A plain node:http receiver whose answer per request a test decides (status, or 'hang' to never answer). */
export async function startReceiver(answer: (r: Received, n: number) => number | 'hang' = () => 200): Promise<{ url: string; received: Received[]; accepted: Received[]; close(): Promise<void> }> {
  const received: Received[] = [];
  const accepted: Received[] = [];
  const hanging: ServerResponse[] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const r: Received = { body, signature: req.headers['boxoffice-signature'] as string | undefined, event: JSON.parse(body) as OrderEvent, path: req.url ?? '' };
      received.push(r);
      const status = answer(r, received.length);
      if (status === 'hang') {
        hanging.push(res);
        return;
      }
      if (status >= 200 && status < 300) accepted.push(r);
      res.writeHead(status).end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    accepted,
    async close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      server.close();
      await once(server, 'close').catch(() => undefined);
    },
  };
}

/** Polls `check` until it holds, at most `timeoutMs` (no fixed sleeps: the bound only limits a failing test). */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
