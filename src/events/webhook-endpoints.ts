import { randomBytes } from 'node:crypto';
import { eventLimits } from '../config/limits.js';
import type { OrderEventType } from '../domain/order-events.js';
import type { WebhookEndpoint, WebhookEndpointStore } from '../persistence/webhook-endpoint-store.js';

export type { WebhookEndpoint } from '../persistence/webhook-endpoint-store.js';

/** What `POST /api/admin/webhooks` answers: the endpoint and, this once, its signing secret. */
export interface CreatedWebhookEndpoint extends WebhookEndpoint {
  secret: string;
}

/** Webhook endpoints as the admin routes manage them. */
export interface WebhookEndpoints {
  create(url: string, events: OrderEventType[]): Promise<CreatedWebhookEndpoint | 'limit'>;
  list(): Promise<WebhookEndpoint[]>;
  get(id: string): Promise<WebhookEndpoint | null>;
  delete(id: string): Promise<WebhookEndpoint | null>;
}

/**
 * The default: endpoints in PostgreSQL, ids `whe_<random>`, secrets `whsec_<32 random bytes, base64url>`. The secret
 * is stored as given (the relay signs with it) and shown only in the creation's answer.
 */
export function webhookEndpoints(store: WebhookEndpointStore): WebhookEndpoints {
  return {
    async create(url, events) {
      const secret = `whsec_${randomBytes(32).toString('base64url')}`;
      const made = await store.create({ id: `whe_${randomBytes(12).toString('base64url')}`, url, events: [...new Set(events)], secret }, eventLimits.webhookEndpointsMax);
      return made === 'limit' ? 'limit' : { ...made, secret };
    },
    list: () => store.list(),
    get: (id) => store.get(id),
    delete: (id) => store.delete(id),
  };
}
