import { describe, expect, it } from 'vitest';
import pino from 'pino';
import { EventFeed } from '../../../src/events/event-feed.js';
import type { OrderEvent } from '../../../src/domain/order-events.js';

const event = (sequence: number): OrderEvent => ({ id: `e${sequence}`, type: 'order.confirmed', orderId: 'ord_1', sequence, occurredAt: '2030-01-01T00:00:00.000Z', data: {} });

describe('the event feed', () => {
  it('tells every listener every event in order, until it unsubscribes', () => {
    const feed = new EventFeed(pino({ level: 'silent' }));
    const a: number[] = [];
    const b: number[] = [];
    const stopA = feed.subscribe((e) => a.push(e.sequence));
    feed.subscribe((e) => b.push(e.sequence));
    feed.emit(event(1));
    stopA();
    feed.emit(event(2));
    expect(a).toEqual([1]);
    expect(b).toEqual([1, 2]);
  });

  it('keeps telling the other listeners when one throws', () => {
    const feed = new EventFeed(pino({ level: 'silent' }));
    const heard: number[] = [];
    feed.subscribe(() => {
      throw new Error('listener bug');
    });
    feed.subscribe((e) => heard.push(e.sequence));
    expect(() => feed.emit(event(1))).not.toThrow();
    expect(heard).toEqual([1]);
  });
});
