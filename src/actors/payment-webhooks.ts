import type { Logger } from 'pino';
import { nodeLimits } from '../config/limits.js';
import type { StoredOrder } from '../persistence/order-store.js';

/** A provider's event, verified: its id, type and the object it is about. */
export interface PaymentEvent {
  id: string;
  type: string;
  object: { id?: string; object?: string; metadata?: Record<string, string> | null; payment_intent?: string | null };
}

/** What an event led to (a metric label): `deferred` when another node's sweep settles the order instead. */
export type WebhookOutcome = 'handled' | 'deferred' | 'ignored' | 'unknown' | 'duplicate' | 'discrepancy' | 'invalid';

export interface PaymentWebhooksDeps {
  /** Verifies the signature over the exact bytes; throws when it does not hold. */
  verify: (rawBody: Buffer, signature: string) => PaymentEvent;
  events: { claim(eventId: string, type: string): Promise<boolean>; unclaim(eventId: string): Promise<void>; prune(olderThanMs: number, limit: number): Promise<number> };
  order: (orderId: string) => Promise<StoredOrder | null>;
  /** Resolves a pending order from the provider's current state (the sweeper's path). */
  resolvePending: (orderId: string) => Promise<'confirmed' | 'failed' | 'left' | 'busy'>;
  count: (outcome: WebhookOutcome) => void;
  log: Logger;
}

/** Event types that move a PaymentIntent and so may settle a pending order. */
const paymentIntentTypes = new Set([
  'payment_intent.amount_capturable_updated',
  'payment_intent.requires_action',
  'payment_intent.payment_failed',
  'payment_intent.canceled',
  'payment_intent.succeeded',
]);

/**
 * Provider webhooks are hints (DESIGN.md, "Money, exactly once"): verified by signature, deduplicated by event id,
 * and acted on only through the provider's state read back — a pending order is resolved exactly as the sweeper
 * resolves it, so a duplicate, a replay or an event delivered out of order changes nothing the current state would
 * not. An event about an order already settled is ignored, except a cancellation of a confirmed order's authorization
 * made outside boxoffice, which is logged and counted as a discrepancy for the operator.
 */
export class PaymentWebhooks {
  constructor(private readonly deps: PaymentWebhooksDeps) {}

  /** 'invalid' when the signature does not hold (nothing changes); otherwise what the event led to. */
  async receive(rawBody: Buffer, signature: string | undefined): Promise<{ ok: false; reason: string } | { ok: true; eventId: string; outcome: WebhookOutcome }> {
    let event: PaymentEvent;
    try {
      if (signature === undefined) throw new Error('no Stripe-Signature header');
      event = this.deps.verify(rawBody, signature);
    } catch (err) {
      this.deps.count('invalid');
      return { ok: false, reason: (err as Error).message };
    }
    if (!(await this.deps.events.claim(event.id, event.type))) return this.done(event, 'duplicate');
    try {
      return this.done(event, await this.handle(event));
    } catch (err) {
      // Handled again at the provider's next delivery (or by the sweeper meanwhile).
      await this.deps.events.unclaim(event.id).catch(() => undefined);
      throw err;
    }
  }

  /** Forgets event ids older than the provider's redelivery window (nodeLimits.webhookEventsKeepMs). */
  prune(): Promise<number> {
    return this.deps.events.prune(nodeLimits.webhookEventsKeepMs, nodeLimits.webhookEventsPrunePerRunMax);
  }

  private done(event: PaymentEvent, outcome: WebhookOutcome): { ok: true; eventId: string; outcome: WebhookOutcome } {
    this.deps.count(outcome);
    return { ok: true, eventId: event.id, outcome };
  }

  private async handle(event: PaymentEvent): Promise<WebhookOutcome> {
    if (event.type === 'charge.refunded') {
      this.deps.log.info({ eventId: event.id, paymentIntent: event.object.payment_intent }, 'a refund was reported by the provider');
      return 'ignored';
    }
    if (!paymentIntentTypes.has(event.type)) return 'ignored';
    const orderId = event.object.metadata?.['order_id'];
    const order = orderId ? await this.deps.order(orderId) : null;
    if (order === null) return 'unknown';
    if (order.status === 'pending') {
      return (await this.deps.resolvePending(order.orderId)) === 'busy' ? 'deferred' : 'handled';
    }
    if (event.type === 'payment_intent.canceled' && order.status === 'confirmed' && order.payment.authId === event.object.id) {
      this.deps.log.error({ orderId: order.orderId, authId: order.payment.authId, eventId: event.id }, 'the authorization of a confirmed order was canceled outside boxoffice');
      return 'discrepancy';
    }
    return 'ignored';
  }
}
