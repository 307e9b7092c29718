import client from 'prom-client';

/** The provider calls measured (the PaymentProvider interface, snake_case). */
export const paymentCalls = ['authorize', 'capture', 'void', 'refund', 'lookup', 'retrieve', 'find_by_checkout', 'list_open'] as const;
export type PaymentCall = (typeof paymentCalls)[number];

/** What went wrong with a call: a bounded set (docs/metrics.md). */
export type PaymentErrorKind = 'declined' | 'timeout' | 'unavailable' | 'invalid' | 'other';

/** The error kind of a call's answer, or null when the answer is no error. */
export function paymentErrorOfResult(result: unknown): PaymentErrorKind | null {
  if (typeof result !== 'object' || result === null) return null;
  const r = result as { kind?: unknown; ok?: unknown; retryable?: unknown };
  // authorize and lookup: a PaymentOutcome.
  if (r.kind === 'declined') return 'declined';
  if (r.kind === 'error') return r.retryable === true ? 'unavailable' : 'invalid';
  // capture, void and refund: a SettleResult; refused and retryable means nothing was done this time.
  if (r.ok === false) return r.retryable === true ? 'unavailable' : 'invalid';
  return null;
}

/** The error kind of a call that threw: a timeout (the outcome is unknown) or anything else. */
export function paymentErrorOfThrown(err: unknown): PaymentErrorKind {
  return err instanceof Error && err.name === 'PaymentTimeoutError' ? 'timeout' : 'other';
}

const paymentBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * boxoffice_payment_seconds{call} and boxoffice_payment_errors_total{call,kind}. Payment calls are far from the
 * sold-out hot path (one per authorization), so they go through prom-client directly; each call's histogram child is
 * bound once.
 */
export function createPaymentMetrics(registry: client.Registry) {
  const seconds = new client.Histogram({
    name: 'boxoffice_payment_seconds',
    help: 'Payment provider calls, by call, in seconds (retries inside the adapter included).',
    labelNames: ['call'] as const,
    buckets: paymentBuckets,
    registers: [registry],
  });
  const errors = new client.Counter({
    name: 'boxoffice_payment_errors_total',
    help: 'Payment provider calls that failed, by call and kind (declined, timeout, unavailable, invalid, other).',
    labelNames: ['call', 'kind'] as const,
    registers: [registry],
  });
  const timers = new Map(paymentCalls.map((call) => [call, seconds.labels({ call })]));
  return {
    /** Starts timing a call; the returned function ends it with the call's result or thrown error. */
    start(call: PaymentCall): (outcome: { result: unknown } | { thrown: unknown }) => void {
      const end = timers.get(call)!.startTimer();
      return (outcome) => {
        end();
        const kind = 'thrown' in outcome ? paymentErrorOfThrown(outcome.thrown) : paymentErrorOfResult(outcome.result);
        if (kind !== null) errors.inc({ call, kind });
      };
    },
  };
}

export type PaymentMetrics = ReturnType<typeof createPaymentMetrics>;
