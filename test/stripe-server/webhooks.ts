import { createHmac } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type Stripe from 'stripe';
import type { IdSource } from './ids.js';
import type { StripeServerLimits } from './limits.js';
import type { EventDraft } from './route.js';

/**
 * Webhook events as Stripe sends them: one event per POST, a JSON body, and a `Stripe-Signature` header
 * `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" keyed with the endpoint secret>`
 * (https://docs.stripe.com/webhooks#verify-manually), so `stripe.webhooks.constructEvent(rawBody, header, secret)`
 * accepts it.
 *
 * Every event is kept (`events()`); with a configured endpoint that is not on hold, each is delivered in order of
 * creation, one at a time, in the background: an API answer never waits for a delivery. A failed attempt (no
 * 2xx, a connection error, no answer within webhookTimeoutMs) is recorded and retried up to webhookAttemptsMax
 * attempts in all, then given up. `deliver(id)` sends any event once more on demand, on hold or not, so a test can
 * send duplicates and reorder events on purpose.
 *
 * The signature's timestamp is the wall clock even when the server runs on an injected clock: receivers check it
 * against their own clock (a 300 s tolerance in stripe-node). The event's `created` follows the injected clock.
 */
export interface WebhookConfig {
  url: string;
  /** The endpoint's signing secret, conventionally `whsec_…`. */
  secret: string;
  /** True: events are recorded but only sent by `deliverWebhook(id)`. Default false. */
  hold?: boolean;
}

export interface WebhookDelivery {
  eventId: string;
  type: string;
  /** 1 for the first automatic attempt; a manual `deliver` counts on from the event's earlier attempts. */
  attempt: number;
  manual: boolean;
  url: string;
  /** Wall-clock ms when the attempt started. */
  at: number;
  signature: string;
  /** The receiver's status, or null when no answer came. */
  status: number | null;
  ok: boolean;
  /** Why the attempt failed without a status: the connection error's message or 'timeout'. */
  error: string | null;
}

export function webhookSignatureHeader(payload: string, secret: string, timestampSec: number): string {
  const v1 = createHmac('sha256', secret).update(`${timestampSec}.${payload}`, 'utf8').digest('hex');
  return `t=${timestampSec},v1=${v1}`;
}

export interface EventRequest {
  /** The request id (`req_…`) of the API call that caused the event; null for the test helper's changes. */
  id: string | null;
  idempotencyKey: string | null;
  /** The Stripe-Version the call carried. */
  apiVersion: string | null;
}

interface OutboxDeps {
  now(): number;
  ids: IdSource;
  limits: StripeServerLimits;
  /** Waits between attempts; the server's sleep, which ends early when the server closes. */
  sleep(ms: number): Promise<void>;
}

export class WebhookOutbox {
  private config: WebhookConfig | null;
  private readonly recorded = new Map<string, { event: Stripe.Event; body: string; attempts: number }>();
  private readonly log: WebhookDelivery[] = [];
  private queue: Promise<void> = Promise.resolve();
  private readonly inFlight = new Set<http.ClientRequest>();
  private closed = false;

  constructor(
    private readonly deps: OutboxDeps,
    config: WebhookConfig | null,
  ) {
    this.config = config;
  }

  setConfig(config: WebhookConfig | null): void {
    this.config = config;
  }

  /** Turns the drafts of one API call into events (snapshots of the objects now) and queues their delivery. */
  record(drafts: readonly EventDraft[], request: EventRequest): void {
    for (const draft of drafts) {
      const event = {
        id: this.deps.ids.id('evt'),
        object: 'event',
        api_version: request.apiVersion,
        created: Math.floor(this.deps.now() / 1000),
        data: { object: structuredClone(draft.object) },
        livemode: false,
        pending_webhooks: 1,
        request: { id: request.id, idempotency_key: request.idempotencyKey },
        type: draft.type,
      } as Stripe.Event;
      this.recorded.set(event.id, { event, body: JSON.stringify(event, null, 2), attempts: 0 });
      this.forgetOldest();
      if (this.config !== null && this.config.hold !== true) this.enqueue(event.id);
    }
  }

  events(): Stripe.Event[] {
    return [...this.recorded.values()].map((r) => structuredClone(r.event));
  }

  deliveries(): WebhookDelivery[] {
    return this.log.map((d) => ({ ...d }));
  }

  /** One attempt now, whatever the hold says. Throws for an unknown event or without an endpoint (a test bug). */
  deliver(eventId: string): Promise<WebhookDelivery> {
    const config = this.config;
    if (config === null) throw new Error('deliverWebhook: no webhook endpoint is configured (setWebhook)');
    if (!this.recorded.has(eventId)) throw new Error(`deliverWebhook: no event ${eventId}`);
    return this.attempt(eventId, config, true);
  }

  /** Resolves once every automatic delivery queued so far has ended (delivered or given up). */
  idle(): Promise<void> {
    return this.queue;
  }

  close(): void {
    this.closed = true;
    for (const req of this.inFlight) req.destroy(new Error('Stripe test server closed'));
  }

  private enqueue(eventId: string): void {
    this.queue = this.queue.then(() => this.deliverWithRetries(eventId));
  }

  private async deliverWithRetries(eventId: string): Promise<void> {
    const { webhookAttemptsMax, webhookRetryDelayMs } = this.deps.limits;
    for (let attempt = 1; attempt <= webhookAttemptsMax; attempt += 1) {
      const config = this.config;
      // The endpoint may have gone, been put on hold, or the event forgotten while it waited in the queue.
      if (this.closed || config === null || config.hold === true || !this.recorded.has(eventId)) return;
      const delivery = await this.attempt(eventId, config, false);
      if (delivery.ok || attempt === webhookAttemptsMax) return;
      await this.deps.sleep(webhookRetryDelayMs * 2 ** (attempt - 1));
    }
  }

  private async attempt(eventId: string, config: WebhookConfig, manual: boolean): Promise<WebhookDelivery> {
    const entry = this.recorded.get(eventId);
    if (entry === undefined) throw new Error(`webhook: event ${eventId} was forgotten (limits.webhookEventsMax)`);
    entry.attempts += 1;
    const at = Date.now();
    const signature = webhookSignatureHeader(entry.body, config.secret, Math.floor(at / 1000));
    const answer = await this.post(config.url, entry.body, signature);
    const delivery: WebhookDelivery = {
      eventId,
      type: entry.event.type,
      attempt: entry.attempts,
      manual,
      url: config.url,
      at,
      signature,
      status: answer.status,
      ok: answer.status !== null && answer.status >= 200 && answer.status < 300,
      error: answer.error,
    };
    this.log.push(delivery);
    if (this.log.length > this.deps.limits.webhookDeliveriesMax) this.log.shift();
    return { ...delivery };
  }

  private post(url: string, body: string, signature: string): Promise<{ status: number | null; error: string | null }> {
    return new Promise((resolve) => {
      const client = url.startsWith('https:') ? https : http;
      let req: http.ClientRequest;
      try {
        req = client.request(url, {
          method: 'POST',
          agent: false,
          headers: {
            'Content-Type': 'application/json; charset=utf-8',
            'Content-Length': Buffer.byteLength(body),
            'Stripe-Signature': signature,
            'User-Agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
          },
        });
      } catch (err) {
        // An unusable URL (setWebhook took it as given): a failed attempt like any other.
        resolve({ status: null, error: err instanceof Error ? err.message : String(err) });
        return;
      }
      this.inFlight.add(req);
      const done = (r: { status: number | null; error: string | null }) => {
        this.inFlight.delete(req);
        resolve(r);
      };
      req.setTimeout(this.deps.limits.webhookTimeoutMs, () => req.destroy(new Error('timeout')));
      req.on('response', (res) => {
        res.resume();
        res.on('end', () => done({ status: res.statusCode ?? null, error: null }));
        res.on('error', (e) => done({ status: res.statusCode ?? null, error: e.message }));
      });
      req.on('error', (e) => done({ status: null, error: e.message }));
      req.end(body);
    });
  }

  private forgetOldest(): void {
    if (this.recorded.size <= this.deps.limits.webhookEventsMax) return;
    const oldest = this.recorded.keys().next().value;
    if (oldest !== undefined) this.recorded.delete(oldest);
  }
}
