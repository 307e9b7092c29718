import type { SpanOptions } from '@opentelemetry/api';
import type { CheckoutPlan } from '../domain/checkout.js';

/**
 * Attributes of a checkout's spans. Order, checkout and correlation ids and SKUs are fine on spans (never as metric
 * labels); idempotency keys, customer ids, addresses and payment methods never go on either.
 */
export function checkoutSpan(plan: CheckoutPlan, resumed: boolean): SpanOptions {
  return { attributes: { ...planAttributes(plan), 'boxoffice.checkout.skus': plan.lines.map((l) => l.sku), 'boxoffice.checkout.resumed': resumed } };
}

export function orderSpan(plan: CheckoutPlan, status: string): SpanOptions {
  return { attributes: { ...planAttributes(plan), 'boxoffice.order.status': status } };
}

function planAttributes(plan: CheckoutPlan): Record<string, string> {
  const attributes: Record<string, string> = { 'boxoffice.checkout.id': plan.checkoutId, 'boxoffice.order.id': plan.orderId };
  if (plan.correlationId !== undefined) attributes['boxoffice.correlation_id'] = plan.correlationId;
  return attributes;
}
