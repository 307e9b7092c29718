import { errorResponse } from '../error-response.js';
import type { Handler } from '../request.js';
import type { NodeServices } from '../services.js';

/**
 * POST /api/webhooks/stripe: the provider's signed events. The signature is checked over the exact bytes received
 * (400 WEBHOOK_SIGNATURE_INVALID otherwise, nothing changes); every verified event is answered 200 once handled, a
 * duplicate too, so the provider stops redelivering it.
 */
export const postStripeWebhook = (s: NodeServices): Handler => async (req) => {
  if (s.webhooks === null) return errorResponse('WEBHOOK_SIGNATURE_INVALID', { reason: 'this node does not take Stripe webhooks (PAYMENT_PROVIDER is not stripe)' });
  const r = await s.webhooks.receive(req.rawBody ?? Buffer.alloc(0), req.headers['stripe-signature']);
  if (!r.ok) return errorResponse('WEBHOOK_SIGNATURE_INVALID', { reason: r.reason });
  return { status: 200, body: { received: true, eventId: r.eventId, outcome: r.outcome } };
};
