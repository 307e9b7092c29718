import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../../src/clock.js';
import { createEventMetrics } from '../../../src/events/event-metrics.js';
import { WebhookDispatcher } from '../../../src/events/webhook-dispatcher.js';
import type { DueDelivery, WebhookDeliveryStore } from '../../../src/persistence/webhook-delivery-store.js';

/**
 * A pass reads the due deliveries while a request of one of them ends and marks it delivered: that read may predate
 * the mark and list the delivery as still due. Seen on CI as an event posted twice in a quiet run. The store here is
 * scripted so the read is exactly that stale one.
 */
describe('the webhook dispatcher, a read of due deliveries that predates a mark', () => {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('does not post again a delivery whose request ended while the read ran', async () => {
    let secondReadStarted!: () => void;
    const secondRead = new Promise<void>((resolve) => (secondReadStarted = resolve));
    let marked!: () => void;
    const markedP = new Promise<void>((resolve) => (marked = resolve));
    let posts = 0;
    // The endpoint answers the first POST only once the next pass is reading (so that read predates the mark).
    const server: Server = createServer((req, res) => {
      posts++;
      req.resume();
      void secondRead.then(() => res.end('ok'));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    const port = (server.address() as { port: number }).port;
    const x: DueDelivery = {
      endpointId: 'whe_1', url: `http://127.0.0.1:${port}/hook`, secret: 'whsec_1', eventId: 'ev_1', orderId: 'ord_1',
      sequence: 1, attempts: 0, firstAttemptAt: null,
      event: { id: 'ev_1', type: 'order.confirmed', orderId: 'ord_1', sequence: 1, occurredAt: new Date(0).toISOString(), data: {} },
    };
    let reads = 0;
    let ended!: () => void;
    const done = new Promise<void>((resolve) => (ended = resolve));
    const store = {
      parkBlocked: async () => 0,
      due: async (): Promise<DueDelivery[]> => {
        reads++;
        if (reads === 1) return [x];
        if (reads === 2) {
          secondReadStarted();
          await markedP;
          // The request's own bookkeeping ends in the turns after its mark; this read answers after that.
          await new Promise((resolve) => setImmediate(resolve));
          await new Promise((resolve) => setImmediate(resolve));
          return [x];
        }
        ended();
        return [];
      },
      delivered: async () => {
        marked();
        return true;
      },
      failed: async () => 0,
    } as unknown as WebhookDeliveryStore;
    const d = new WebhookDispatcher({
      store, owned: () => [0], retryDelayMsBase: 20, retryMaxAgeMs: 60_000,
      metrics: createEventMetrics(new Registry()), clock: systemClock, log: pino({ level: 'silent' }), pollMs: 5,
    });
    d.start();
    cleanups.push(() => d.stop());
    await done;
    expect(posts).toBe(1);
  });
});
