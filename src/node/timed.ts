import type { Metrics } from '../metrics.js';
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

/** The provider with its authorization calls timed; everything else passes through. */
export function timedPayments(p: PaymentProvider, metrics: Metrics): PaymentProvider {
  const authorize = timed(metrics.paymentSeconds, (req: Parameters<PaymentProvider['authorize']>[0]) => p.authorize(req));
  return {
    name: p.name,
    authorize,
    capture: (r) => p.capture(r),
    void: (r) => p.void(r),
    refund: (r) => p.refund(r),
    lookup: (r) => p.lookup(r),
    retrieve: (id) => p.retrieve(id),
    findByCheckout: (id) => p.findByCheckout(id),
    listOpen: (before, limit, cursor) => p.listOpen(before, limit, cursor),
    ...(p.available ? { available: () => p.available!() } : {}),
    ...(p.retryAfterS ? { retryAfterS: () => p.retryAfterS!() } : {}),
  };
}
