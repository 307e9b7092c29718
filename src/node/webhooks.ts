import type { Logger } from 'pino';
import Stripe from 'stripe';
import { PaymentWebhooks, type PaymentEvent } from '../actors/payment-webhooks.js';
import type { PendingSweeper } from '../actors/pending-sweeper.js';
import type { Config } from '../config/config.js';
import type { Metrics } from '../metrics.js';
import { WebhookEventStore } from '../persistence/webhook-event-store.js';
import type { NodeCore } from './node-core.js';
import type { SqlClient } from '../persistence/sql.js';

/** Stripe's webhooks when PAYMENT_PROVIDER=stripe: verified with the SDK and the endpoint's signing secret. */
export function createWebhooks(o: { config: Config; sql: SqlClient; core: NodeCore; sweeper: PendingSweeper; metrics: Metrics; log: Logger }): PaymentWebhooks | null {
  const { config, sql, core, sweeper, metrics, log } = o;
  if (config.stripe === null) return null;
  const { apiKey, webhookSecret } = config.stripe;
  // Verification needs no request to Stripe: a client of its own keeps it apart from the adapter's breaker.
  const stripe = new Stripe(apiKey, { telemetry: false });
  return new PaymentWebhooks({
    verify: (rawBody, signature) => {
      const event = stripe.webhooks.constructEvent(rawBody, signature, webhookSecret);
      return { id: event.id, type: event.type, object: event.data.object as PaymentEvent['object'] };
    },
    events: new WebhookEventStore(sql),
    order: (orderId) => core.orderStore.get(orderId),
    resolvePending: (orderId) => sweeper.resolveOrder(orderId),
    count: (outcome) => metrics.webhookEvents.inc({ outcome }),
    log,
  });
}
