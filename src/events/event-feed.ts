import type { Logger } from 'pino';
import type { OrderEvent } from '../domain/order-events.js';

export type EventListener = (event: OrderEvent) => void;

/**
 * The in-process hook on the relay: every event this node's relay delivered (marked delivered in the outbox), in the
 * order it was delivered, which is sequence order per order. Only the node that relays an order's partition hears
 * its events, each once per delivery (a redelivery after a crash or a move is heard again, on the new relay): a
 * WebSocket fan-out publishes what it hears here cluster-wide and deduplicates by `id` where it must.
 *
 * A listener runs synchronously inside the relay's pass: it must not block (hand the event to a queue or a publish).
 * A listener that throws is logged and the others still hear the event.
 */
export class EventFeed {
  private readonly listeners = new Set<EventListener>();

  constructor(private readonly log?: Logger) {}

  /** Starts hearing delivered events; returns the function that stops it. */
  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(event: OrderEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (err) {
        this.log?.error({ err, eventId: event.id }, 'an event listener failed');
      }
    }
  }
}
