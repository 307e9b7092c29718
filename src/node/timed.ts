import { SpanKind, type SpanContext } from '@opentelemetry/api';
import type { EventJournal } from '../actors/inventory-actor.js';
import type { Metrics } from '../metrics.js';
import type { PaymentCall } from '../metrics/payment-metrics.js';
import type { PaymentProvider } from '../payments/provider.js';
import { inSpan, traceExemplar, type Tracing } from '../telemetry/tracing.js';

/**
 * Wraps an async function so its duration lands in a histogram (seconds), with the active trace as exemplar when
 * tracing is on (docs/observability.md).
 */
export function timed<A extends unknown[], R>(h: Metrics['paymentSeconds'], fn: (...args: A) => Promise<R>, tracing?: Tracing): (...args: A) => Promise<R> {
  return (...args) => {
    const end = h.startTimer(undefined, traceExemplar(tracing));
    const p = fn(...args);
    p.then(() => end(), () => end());
    return p;
  };
}

/**
/**
 * A journal's appends timed to their commit. The exemplar is the trace of the span the append names (`link`), not the
 * active one: an inventory actor appends for many requests in one turn, under whichever context that turn began in.
 */
export function timedAppend(h: Metrics['journalCommitSeconds'], append: EventJournal['append']): EventJournal['append'] {
  return (partition, entity, event, link) => {
    const end = h.startTimer(undefined, sampledTrace(link));
    const p = append(partition, entity, event, link);
    p.then(() => end(), () => end());
    return p;
  };
}

function sampledTrace(link: SpanContext | undefined): { trace_id: string } | undefined {
  return link !== undefined && (link.traceFlags & 1) === 1 ? { trace_id: link.traceId } : undefined;
}

/**
 * The provider with every call measured (boxoffice_payment_seconds{call} and boxoffice_payment_errors_total{call,kind};
 * authorizations also in boxoffice_payment_authorize_seconds, kept as it was, with the trace as exemplar) and, with
 * tracing on, in a CLIENT span (`payment.<call>`); availability passes through.
 */
export function timedPayments(p: PaymentProvider, metrics: Metrics, tracing?: Tracing): PaymentProvider {
  const call =
    <A extends unknown[], R>(name: PaymentCall, fn: (...args: A) => Promise<R>) =>
    (...args: A): Promise<R> =>
      inSpan(tracing, `payment.${name}`, () => ({ kind: SpanKind.CLIENT, attributes: { 'boxoffice.payment.provider': p.name } }), () => {
        const end = metrics.payments.start(name);
        const promise = fn(...args);
        promise.then((result) => end({ result }), (thrown: unknown) => end({ thrown }));
        return promise;
      });
  return {
    name: p.name,
    authorize: call('authorize', timed(metrics.paymentSeconds, (req: Parameters<PaymentProvider['authorize']>[0]) => p.authorize(req), tracing)),
    capture: call('capture', (r: Parameters<PaymentProvider['capture']>[0]) => p.capture(r)),
    void: call('void', (r: Parameters<PaymentProvider['void']>[0]) => p.void(r)),
    refund: call('refund', (r: Parameters<PaymentProvider['refund']>[0]) => p.refund(r)),
    lookup: call('lookup', (r: Parameters<PaymentProvider['lookup']>[0]) => p.lookup(r)),
    retrieve: call('retrieve', (id: string) => p.retrieve(id)),
    findByCheckout: call('find_by_checkout', (id: string) => p.findByCheckout(id)),
    listOpen: call('list_open', (before: number, limit: number, cursor: string | null) => p.listOpen(before, limit, cursor)),
    ...(p.available ? { available: () => p.available!() } : {}),
    ...(p.retryAfterS ? { retryAfterS: () => p.retryAfterS!() } : {}),
  };
}
