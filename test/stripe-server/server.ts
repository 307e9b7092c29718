import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type Stripe from 'stripe';
import { internalError } from './errors.js';
import { handleExchange, type ExchangeEnv } from './exchange.js';
import { FaultScript } from './faults.js';
import { createIdSource } from './ids.js';
import { IdempotencyStore } from './idempotency.js';
import { stripeServerLimits, type StripeServerLimits } from './limits.js';
import { createPaymentIntent } from './payment-intent-create.js';
import { authenticate, authenticatePaymentIntent, cancelPaymentIntent, capturePaymentIntent, confirmPaymentIntentRoute, retrievePaymentIntent } from './payment-intents.js';
import { createRefund, retrieveCharge, retrieveRefund } from './refunds.js';
import type { Route } from './route.js';
import { searchPaymentIntents } from './search.js';
import { StripeStore } from './store.js';
import { WebhookOutbox, type WebhookConfig, type WebhookDelivery } from './webhooks.js';
import { WireLog, type WireCall } from './wire-log.js';

export type { Fault, FaultHandle, FaultMatch, FaultScript, FaultSpec } from './faults.js';
export type { StripeServerLimits } from './limits.js';
export type { WebhookConfig, WebhookDelivery } from './webhooks.js';
export type { WireCall } from './wire-log.js';

/**
 * A Stripe-compatible HTTP server for tests and the bench, on plain node:http, that the real stripe SDK talks to:
 *
 *   const server = await startStripeTestServer();
 *   const stripe = new Stripe(server.apiKey, { ...server.sdkOptions(), maxNetworkRetries: 0, timeout: 2_000 });
 *
 * It implements PaymentIntents with Stripe's test cards, capture, cancel, refunds, search, idempotency keys,
 * scripted faults and signed webhooks; README.md in this folder says what it does not do.
 */
export interface StripeTestServerOptions {
  /** Port to listen on; default 0 (a free port, read it back from `port`). */
  port?: number;
  /** Default '127.0.0.1'. */
  host?: string;
  /** The secret key requests must carry (`Authorization: Bearer …`); default 'sk_test_boxoffice'. Else 401. */
  apiKey?: string;
  /** Added before every answer, refusals included; fixed or per request (the wire-log entry so far). Default 0. */
  latencyMs?: number | ((call: WireCall) => number);
  /** How long a new PaymentIntent stays invisible to search, like Stripe's index. Default 0. */
  searchLagMs?: number;
  /** Where events are POSTed; default none (events are still recorded). `setWebhook` changes it later. */
  webhook?: WebhookConfig | null;
  /** The clock for object timestamps, search lag and the wire log; default the system clock. */
  clock?: { now(): number };
  /** Source of ids and client secrets in [0, 1); default Math.random. A seeded one gives the same ids each run. */
  random?: () => number;
  /** Overrides of limits.ts entries. */
  limits?: Partial<StripeServerLimits>;
}

export interface StripeTestServer {
  readonly host: string;
  readonly port: number;
  /** `http://<host>:<port>` */
  readonly url: string;
  readonly apiKey: string;
  /** The options that point the SDK here: `new Stripe(server.apiKey, { ...server.sdkOptions(), … })`. */
  sdkOptions(): { host: string; port: number; protocol: 'http' };
  /** Every request received, in arrival order (at most limits.callsMax, oldest dropped first). */
  readonly calls: WireCall[];
  readonly faults: FaultScript;
  /** Snapshots (deep copies) of what the account holds, in creation order. */
  paymentIntents(): Stripe.PaymentIntent[];
  charges(): Stripe.Charge[];
  refunds(): Stripe.Refund[];
  /**
   * Completes 3-D Secure for a PaymentIntent in requires_action: 'succeed' → requires_capture (or succeeded with
   * automatic capture), 'fail' → requires_payment_method with last_payment_error. Throws for any other status.
   * Over HTTP: POST /test_helpers/boxoffice/payment_intents/:id/authenticate with outcome=succeed|fail.
   */
  authenticate(piId: string, outcome: 'succeed' | 'fail'): Stripe.PaymentIntent;
  setWebhook(config: WebhookConfig | null): void;
  /** Every event created so far (at most limits.webhookEventsMax), oldest first. */
  webhookEvents(): Stripe.Event[];
  /** Every delivery attempt, automatic and manual, oldest first. */
  webhookDeliveries(): WebhookDelivery[];
  /** Sends one event now (again, out of order, or while on hold) and returns the attempt. */
  deliverWebhook(eventId: string): Promise<WebhookDelivery>;
  /** Resolves when every automatic delivery queued so far has ended. */
  webhooksIdle(): Promise<void>;
  /** Stops listening, drops open connections and pending answers, ends held and delayed requests. */
  close(): Promise<void>;
}

const routes: readonly Route<unknown>[] = [
  createPaymentIntent,
  // Before retrieve: /v1/payment_intents/search would otherwise read as the id "search".
  searchPaymentIntents,
  retrievePaymentIntent,
  confirmPaymentIntentRoute,
  capturePaymentIntent,
  cancelPaymentIntent,
  createRefund,
  retrieveRefund,
  retrieveCharge,
  authenticatePaymentIntent,
];

export async function startStripeTestServer(opts: StripeTestServerOptions = {}): Promise<StripeTestServer> {
  const limits: StripeServerLimits = { ...stripeServerLimits, ...opts.limits };
  const clock = opts.clock ?? { now: () => Date.now() };
  const ids = createIdSource(opts.random ?? Math.random);
  const timers = new Timers();
  const store = new StripeStore();
  const faults = new FaultScript(limits.faultsMax);
  const log = new WireLog(limits.callsMax);
  const outbox = new WebhookOutbox({ now: () => clock.now(), ids, limits, sleep: (ms) => timers.sleep(ms) }, opts.webhook ?? null);
  const latency = opts.latencyMs ?? 0;
  const host = opts.host ?? '127.0.0.1';
  const apiKey = opts.apiKey ?? 'sk_test_boxoffice';

  const httpServer = http.createServer();
  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(opts.port ?? 0, host, () => resolve());
  });
  const port = (httpServer.address() as AddressInfo).port;
  const url = `http://${host}:${port}`;
  const env: ExchangeEnv = {
    apiKey,
    limits,
    now: () => clock.now(),
    ids,
    store,
    idempotency: new IdempotencyStore(limits.idempotencyEntriesMax),
    faults,
    log,
    outbox,
    routes,
    latencyMs: typeof latency === 'number' ? () => latency : latency,
    sleep: (ms) => timers.sleep(ms),
    baseUrl: url,
    searchLagMs: opts.searchLagMs ?? 0,
  };
  httpServer.on('request', (req, res) => {
    handleExchange(env, req, res).catch((err: unknown) => {
      // A bug, or a client that vanished mid-body: answer 500 if still possible, never leave the request hanging.
      if (!res.headersSent && !res.destroyed) res.writeHead(500, { 'Content-Type': 'application/json' }).end(JSON.stringify(internalError(err).body));
      else req.socket.destroy();
    });
  });

  return {
    host,
    port,
    url,
    apiKey,
    sdkOptions: () => ({ host, port, protocol: 'http' }),
    calls: log.calls,
    faults,
    paymentIntents: () => store.snapshot().paymentIntents,
    charges: () => store.snapshot().charges,
    refunds: () => store.snapshot().refunds,
    authenticate(piId, outcome) {
      const ctx = { store, ids, nowMs: clock.now(), limits, baseUrl: url, searchLagMs: env.searchLagMs };
      const result = authenticate(ctx, piId, outcome);
      if (result.response.status !== 200) throw new Error(`authenticate(${piId}): ${JSON.stringify(result.response.body)}`);
      outbox.record(result.events, { id: null, idempotencyKey: null, apiVersion: null });
      return result.response.body as Stripe.PaymentIntent;
    },
    setWebhook: (config) => outbox.setConfig(config),
    webhookEvents: () => outbox.events(),
    webhookDeliveries: () => outbox.deliveries(),
    deliverWebhook: (eventId) => outbox.deliver(eventId),
    webhooksIdle: () => outbox.idle(),
    async close() {
      const closed = new Promise<void>((resolve) => httpServer.close(() => resolve()));
      faults.releaseAll();
      timers.endAll();
      outbox.close();
      httpServer.closeAllConnections();
      await closed;
      await outbox.idle();
    },
  };
}

/**
 * Timers the server waits on (latency, delays, webhook retries). `endAll` ends every wait at once on close, and
 * any wait asked for after it ends at once too, so nothing outlives the server.
 */
class Timers {
  private readonly waiting = new Map<NodeJS.Timeout, () => void>();
  private ended = false;

  sleep(ms: number): Promise<void> {
    if (this.ended) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(timer);
        resolve();
      }, ms);
      this.waiting.set(timer, resolve);
    });
  }

  endAll(): void {
    this.ended = true;
    for (const [timer, resolve] of this.waiting) {
      clearTimeout(timer);
      resolve();
    }
    this.waiting.clear();
  }
}
