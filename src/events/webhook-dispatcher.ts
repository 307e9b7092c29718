import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import { eventLimits } from '../config/limits.js';
import type { DueDelivery, WebhookDeliveryStore } from '../persistence/webhook-delivery-store.js';
import type { EventMetrics } from './event-metrics.js';
import { PassLoop } from './pass-loop.js';
import { nextAttemptAtMs } from './retry-delay.js';
import { signWebhook } from './webhook-signature.js';

export interface WebhookDispatcherDeps {
  store: WebhookDeliveryStore;
  /** The partitions this node serves now: it sends their deliveries (an event's partition is its order's). */
  owned: () => number[];
  /** WEBHOOK_RETRY_DELAY_MS_BASE and WEBHOOK_RETRY_MAX_AGE_MS. */
  retryDelayMsBase: number;
  retryMaxAgeMs: number;
  metrics: EventMetrics;
  clock: Clock;
  log: Logger;
  /** In [0, 1): the retry jitter. */
  random?: () => number;
  pollMs?: number;
  requestTimeoutMs?: number;
  concurrencyMax?: number;
  perEndpointConcurrencyMax?: number;
}

/**
 * Sends the queued webhook deliveries of this node's partitions: one event per POST, its JSON as the body, signed
 * (`Boxoffice-Signature`). A 2xx delivers it; anything else, a timeout or a connection error is retried with
 * exponential backoff and jitter, until it has failed for WEBHOOK_RETRY_MAX_AGE_MS, then it is parked and counted.
 *
 * A slow or dead endpoint delays only itself: requests are bounded per endpoint (perEndpointConcurrencyMax) and in
 * all (concurrencyMax), the due query takes deliveries round-robin across endpoints, every request has a deadline,
 * and an endpoint that keeps failing backs off. Per endpoint an order's events go one at a time, in sequence order
 * (the store's due query), so a later one waits for the earlier one's 2xx.
 */
export class WebhookDispatcher {
  private readonly loop: PassLoop;
  private readonly inFlight = new Set<string>();
  private readonly inFlightByEndpoint = new Map<string, number>();
  private readonly requests = new Set<Promise<void>>();
  /**
   * Deliveries whose request ended while a pass was reading the due ones: that read may predate their mark and list
   * them as still due, and they are no longer in flight, so without this they would be sent a second time.
   */
  private endedDuringRead: Set<string> | null = null;
  /** Aborts the requests in flight when the node stops (their deliveries stay pending: the next pass sends them). */
  private readonly stopping = new AbortController();

  constructor(private readonly deps: WebhookDispatcherDeps) {
    this.loop = new PassLoop('webhook dispatch', () => this.pass(), (n) => Math.min(eventLimits.relayRetryDelayMsMin * 2 ** (n - 1), eventLimits.relayRetryDelayMsMax), deps.log);
  }

  start(): void {
    this.loop.start();
  }

  /** Look now (deliveries were queued, or a request ended). */
  nudge(): void {
    this.loop.nudge();
  }

  /** Stops looking for deliveries, aborts the requests in flight and waits for them to end (nothing is recorded). */
  async stop(): Promise<void> {
    await this.loop.stop();
    this.stopping.abort();
    await Promise.allSettled([...this.requests]);
  }

  /** One pass: starts every due delivery there is room for; resolves with the delay before the next pass. */
  async pass(): Promise<number> {
    const { store, clock } = this.deps;
    const pollMs = this.deps.pollMs ?? eventLimits.webhookPollMs;
    const concurrencyMax = this.deps.concurrencyMax ?? eventLimits.webhookConcurrencyMax;
    const perEndpointMax = this.deps.perEndpointConcurrencyMax ?? eventLimits.webhookPerEndpointConcurrencyMax;
    const owned = this.deps.owned();
    const parked = await store.parkBlocked(owned);
    if (parked > 0) this.deps.metrics.webhookParked.inc(parked);
    const room = concurrencyMax - this.inFlight.size;
    if (room <= 0) return pollMs;
    // In-flight deliveries are still pending and due: ask for enough to skip them.
    const ended = (this.endedDuringRead = new Set());
    const due = await store.due(owned, clock.now(), perEndpointMax, room + this.inFlight.size).finally(() => (this.endedDuringRead = null));
    for (const d of due) {
      const key = `${d.endpointId}/${d.eventId}`;
      if (ended.has(key)) continue; // the next pass reads it afresh
      const endpointBusy = this.inFlightByEndpoint.get(d.endpointId) ?? 0;
      if (this.inFlight.has(key) || endpointBusy >= perEndpointMax || this.inFlight.size >= concurrencyMax) continue;
      this.track(key, d.endpointId, this.attempt(d));
    }
    return pollMs;
  }

  private track(key: string, endpointId: string, request: Promise<void>): void {
    this.inFlight.add(key);
    this.inFlightByEndpoint.set(endpointId, (this.inFlightByEndpoint.get(endpointId) ?? 0) + 1);
    const done = request
      .catch((err: unknown) => this.deps.log.warn({ err, endpointId }, 'recording a webhook attempt failed; it is tried again'))
      .finally(() => {
        this.endedDuringRead?.add(key);
        this.inFlight.delete(key);
        const n = (this.inFlightByEndpoint.get(endpointId) ?? 1) - 1;
        if (n <= 0) this.inFlightByEndpoint.delete(endpointId);
        else this.inFlightByEndpoint.set(endpointId, n);
        this.requests.delete(done);
        this.loop.nudge();
      });
    this.requests.add(done);
  }

  /** One POST of one delivery, and its outcome recorded. */
  private async attempt(d: DueDelivery): Promise<void> {
    const { store, clock, metrics } = this.deps;
    const startedMs = clock.now();
    const signal = AbortSignal.any([this.stopping.signal, AbortSignal.timeout(this.deps.requestTimeoutMs ?? eventLimits.webhookRequestTimeoutMs)]);
    const error = await post(d, startedMs, signal);
    if (this.stopping.signal.aborted) return;
    if (error === null) {
      if (await store.delivered(d.endpointId, d.eventId, startedMs)) metrics.webhookAttempts.inc({ outcome: 'delivered' });
      return;
    }
    const retryAt = nextAttemptAtMs({
      attempt: d.attempts + 1,
      firstAttemptAtMs: d.firstAttemptAt?.getTime() ?? startedMs,
      nowMs: clock.now(),
      baseMs: this.deps.retryDelayMsBase,
      maxMs: eventLimits.webhookRetryDelayMsMax,
      maxAgeMs: this.deps.retryMaxAgeMs,
      random: (this.deps.random ?? Math.random)(),
    });
    const parked = await store.failed(d.endpointId, d.eventId, startedMs, retryAt, error.slice(0, eventLimits.webhookErrorLengthMax));
    metrics.webhookAttempts.inc({ outcome: retryAt === null ? 'parked' : 'failed' });
    if (parked > 0) {
      metrics.webhookParked.inc(parked);
      this.deps.log.warn({ endpointId: d.endpointId, eventId: d.eventId, orderId: d.orderId, attempts: d.attempts + 1, error }, 'webhook delivery parked');
    }
  }
}

/** POSTs the event; null on a 2xx, else what went wrong. Redirects are not followed (a 3xx is a failure). */
async function post(d: DueDelivery, nowMs: number, signal: AbortSignal): Promise<string | null> {
  const body = JSON.stringify(d.event);
  try {
    const res = await fetch(d.url, {
      method: 'POST',
      body,
      redirect: 'manual',
      signal,
      headers: {
        'content-type': 'application/json',
        'user-agent': 'boxoffice-webhooks',
        'boxoffice-signature': signWebhook(d.secret, body, Math.floor(nowMs / 1000)),
        'boxoffice-event-id': d.eventId,
      },
    });
    // The response body is not read: cancelling it frees the connection at once whatever its size.
    await res.body?.cancel().catch(() => undefined);
    return res.status >= 200 && res.status < 300 ? null : `HTTP ${res.status}`;
  } catch (err) {
    return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  }
}
