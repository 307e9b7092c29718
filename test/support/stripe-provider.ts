import { authorizeRequest, type AuthorizeTarget } from '../../src/actors/checkout-saga.js';
import type { Clock, TimerHandle } from '../../src/clock.js';
import type { AuthorizeRequest } from '../../src/payments/provider.js';
import { StripePaymentProvider } from '../../src/payments/stripe-provider.js';
import { startStripeTestServer, type StripeTestServer, type StripeTestServerOptions } from '../stripe-server/server.js';

/**
 * A clock the test moves by hand, shared by the adapter (retry backoff, circuit breaker) and the Stripe test server
 * (timestamps, search lag). A timer fires on the next event-loop turn and moves the clock to its deadline, so a
 * backoff costs no real time yet still counts as time passed; every delay asked for is recorded.
 */
export class StepClock implements Clock {
  readonly delaysMs: number[] = [];
  constructor(private nowMs = 1_700_000_000_000) {}

  now(): number {
    return this.nowMs;
  }

  setTimer(atMs: number, fn: () => void): TimerHandle {
    this.delaysMs.push(atMs - this.nowMs);
    const timer = setImmediate(() => {
      this.nowMs = Math.max(this.nowMs, atMs);
      fn();
    });
    return { cancel: () => clearImmediate(timer) };
  }

  advance(ms: number): void {
    this.nowMs += ms;
  }
}

export interface ProviderRig {
  server: StripeTestServer;
  provider: StripePaymentProvider;
  clock: StepClock;
  close(): Promise<void>;
}

/**
 * A Stripe test server and a StripePaymentProvider pointed at it, on one StepClock. The backoff's jitter is 0 by
 * default (`random`), so the delays recorded are exactly half of each cap.
 */
export async function startProviderRig(opts: { server?: Omit<StripeTestServerOptions, 'clock'>; timeoutMs?: number; random?: () => number } = {}): Promise<ProviderRig> {
  const clock = new StepClock();
  const server = await startStripeTestServer({ ...opts.server, clock });
  const provider = new StripePaymentProvider({
    apiKey: server.apiKey,
    apiBase: new URL(server.url),
    clock,
    random: opts.random ?? (() => 0),
    ...(opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs }),
  });
  return { server, provider, clock, close: () => server.close() };
}

let checkouts = 0;

/** A checkout's authorization target with fresh ids (co-<n>, ord-<n>, key-<n>): 15.00 EUR on pm_card_visa. */
export function checkoutTarget(overrides: Partial<AuthorizeTarget> = {}): AuthorizeTarget {
  checkouts += 1;
  return { checkoutId: `co-${checkouts}`, orderId: `ord-${checkouts}`, checkoutKey: `key-${checkouts}`, amountMinor: 1_500, currency: 'EUR', paymentMethod: 'pm_card_visa', ...overrides };
}

/** The request the checkout saga sends for a fresh checkout (its own builder, so keys and metadata are the saga's). */
export function authorizeFor(overrides: Partial<AuthorizeTarget> = {}): AuthorizeRequest {
  return authorizeRequest(checkoutTarget(overrides));
}

/** The rejection of `p`, which must reject. */
export async function thrownBy(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected the call to throw, and it did not');
}
