import type { Metrics } from '../metrics.js';
import type { PaymentCall } from '../metrics/payment-metrics.js';
import type { PaymentProvider } from '../payments/provider.js';

/** Wraps an async function so its duration lands in a histogram (seconds). */
export function timed<A extends unknown[], R>(h: Metrics['paymentSeconds'], fn: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  return (...args) => {
    const end = h.startTimer();
    const p = fn(...args);
    p.then(() => end(), () => end());
    return p;
  };
}

/**
 * The provider with every call measured: boxoffice_payment_seconds{call} and boxoffice_payment_errors_total{call,kind}
 * for each, and authorizations also in boxoffice_payment_authorize_seconds (kept as it was).
 */
export function timedPayments(p: PaymentProvider, metrics: Metrics): PaymentProvider {
  const measured = <A extends unknown[], R>(call: PaymentCall, fn: (...args: A) => Promise<R>) => (...args: A): Promise<R> => {
    const end = metrics.payments.start(call);
    const promise = fn(...args);
    promise.then((result) => end({ result }), (thrown: unknown) => end({ thrown }));
    return promise;
  };
  const authorize = timed(metrics.paymentSeconds, measured('authorize', (req: Parameters<PaymentProvider['authorize']>[0]) => p.authorize(req)));
  return {
    name: p.name,
    authorize,
    capture: measured('capture', (r) => p.capture(r)),
    void: measured('void', (r) => p.void(r)),
    refund: measured('refund', (r) => p.refund(r)),
    lookup: measured('lookup', (r) => p.lookup(r)),
    retrieve: measured('retrieve', (id) => p.retrieve(id)),
    findByCheckout: measured('find_by_checkout', (id) => p.findByCheckout(id)),
    listOpen: measured('list_open', (before, limit, cursor) => p.listOpen(before, limit, cursor)),
    ...(p.available ? { available: () => p.available!() } : {}),
    ...(p.retryAfterS ? { retryAfterS: () => p.retryAfterS!() } : {}),
  };
}
